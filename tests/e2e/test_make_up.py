"""`make up` the way a user runs it, and survives its user: crashes, restarts and clean slates.

One real `make up` (infra/stack.sh: its own broker, Redis, a first model, every service under
`python -m tickcast stack`), on ports of its own and its own TICKCAST_HOME, from a fresh broker:

1. cold start to the first prediction served by the gateway: the services start at once, while the
   first model and forecaster set train beside them (the stack's one-shot `models`); until the gate
   promotes a model the persistence baseline is served, labelled as such; then the model and the
   forecasts arrive without a restart. The console stays readable: one line per stage of the first
   training, no line per batch;
2. `kill -9` of each service process in turn (the feature pipeline's parent and its faust worker
   too): it is restarted, and every other process keeps its pid;
3. `make down` (which must end `make up` with exit code 0, no `make: *** ... Error`) then `make up`:
   the same model, symbols, candles and predictions are served again, and new trades flow within
   seconds of the trade producer's start;
4. Redis stopped and started: what the gateway serves comes back;
5. the topics read back with read_committed: no candle or prediction twice, no minute missing;
6. `make clean && make up`: a clean start, no trade refused (trades.dlq empty, no late trade) once
   the day of history has been through the candle builder.

Every timing is printed, none asserted (run with -s to see them).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.kafka import consume
from support.services import end_offsets, http_json
from tickcast.contracts import Candle, Prediction
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

ROOT = Path(__file__).resolve().parents[2]
SYMBOL = "BTCUSDT"
MINUTE_MS = 60_000
# Ports of this test's stack, apart from a user's stack (8000, 9092, ...) and from the test broker.
PORTS = {
    "KAFKA_PORT": 28092, "KAFKA_CONTROLLER_PORT": 28093, "REDIS_PORT": 28379, "GATEWAY_PORT": 28800,
    "PRODUCER_METRICS_PORT": 28101, "CANDLES_METRICS_PORT": 28102, "FEATURES_METRICS_PORT": 28103,
    "INFERENCE_METRICS_PORT": 28104, "STACK_METRICS_PORT": 28105,
}
COLD_START_TIMEOUT_S = 480
STEP_TIMEOUT_S = 120
BASELINE = "persistence-baseline"  # the model name of what inference serves until a champion exists
SERVICES = ("producer", "candles", "features", "inference", "gateway")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(shutil.which("java") is None or shutil.which("redis-server") is None,
                       reason="make up needs Java (Kafka) and redis-server: run `make install`"),
]

timings: list[tuple[str, float]] = []


def timed(what: str, seconds: float) -> None:
    timings.append((what, seconds))
    print(f"[timing] {what}: {seconds:.1f} s", flush=True)


class UserStack:
    """`make up` in a subprocess, as a user's terminal runs it, plus what a user can look at."""

    def __init__(self, home: Path, log_dir: Path) -> None:
        self.home = home
        self.log_dir = log_dir
        self.env = {
            **{name: value for name, value in os.environ.items()
               if not name.startswith(("KAFKA_", "REDIS_", "GATEWAY_", "STACK_", "RESTART_"))},
            **{name: str(port) for name, port in PORTS.items()},
            "TICKCAST_HOME": str(home),
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{PORTS['KAFKA_PORT']}",
            "REDIS_URL": f"redis://127.0.0.1:{PORTS['REDIS_PORT']}/0",
            # A quick first model (the test is about the stack), on enough history that the gate promotes
            # it honestly (DM p about 0.003 over persistence): the test follows it into service.
            "SYNTHETIC_CANDLES": "20000",
            # The forecasters need a day of warm-up rows before their first fit row.
            "SYNTHETIC_FORECAST_CANDLES": "6000",
            "TRAINING_EPOCHS": "5",
            "TRAINING_MODELS": "mlp",
        }
        self.kafka = KafkaSettings(bootstrap_servers=self.env["KAFKA_BOOTSTRAP_SERVERS"], topic_prefix="")
        self.topics = TopicNames(self.kafka)
        self.gateway = f"http://127.0.0.1:{PORTS['GATEWAY_PORT']}"
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.log_path = log_dir / "make-up-0.log"

    # --- make ------------------------------------------------------------------------------

    def up(self) -> float:
        """Starts `make up`; returns the wall-clock time it was started."""
        self.runs += 1
        self.log_path = self.log_dir / f"make-up-{self.runs}.log"
        log = self.log_path.open("wb")
        started = time.monotonic()
        self.process = subprocess.Popen(["make", "up"], cwd=ROOT, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        return started

    def make(self, target: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["make", target], cwd=ROOT, env=self.env, capture_output=True, text=True,
                                timeout=timeout)
        assert result.returncode == 0, f"make {target} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def down(self) -> None:
        """`make down`; `make up` must then end by itself, with exit code 0."""
        self.make("down")
        assert self.process is not None
        code = self.process.wait(timeout=60)
        output = self.output()
        assert code == 0, f"make up ended with {code} after make down:\n{output[-3000:]}"
        assert "make: ***" not in output and "Error 143" not in output, output[-3000:]
        assert "every service stopped" in output

    def redis(self, action: str) -> None:
        subprocess.run(["bash", "infra/redis/redis.sh", action], cwd=ROOT, env=self.env, check=True,
                       capture_output=True, timeout=60)

    def kill_everything(self) -> None:
        """At the end, whatever happened: stop the stack, the broker and Redis."""
        if self.process is not None and self.process.poll() is None:
            subprocess.run(["make", "down"], cwd=ROOT, env=self.env, capture_output=True, timeout=180)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        subprocess.run(["bash", "infra/stack.sh", "down"], cwd=ROOT, env=self.env, capture_output=True,
                       timeout=180)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    # --- what runs -------------------------------------------------------------------------

    def services(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads((self.home / "stack" / "services.json").read_text())["services"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return {}

    def pids(self) -> dict[str, int]:
        """Every process of the stack by name: the five services and the faust worker."""
        pids = {name: s["pid"] for name, s in self.services().items() if s["state"] == "running" and s["pid"]}
        if "features" in pids and (children := child_pids(pids["features"])):
            pids["features worker"] = children[0]
        return pids

    def all_running(self) -> dict[str, int] | None:
        pids = self.pids()
        names = {"producer", "candles", "features", "inference", "gateway", "features worker"}
        return pids if names <= set(pids) and all(alive(pid) for pid in pids.values()) else None

    # --- what it serves --------------------------------------------------------------------

    def get(self, path: str) -> tuple[int, Any]:
        return http_json(self.gateway + path)

    def latest_prediction(self) -> dict[str, Any] | None:
        status, body = self.get(f"/predictions/{SYMBOL}/latest")
        return body if status == 200 else None

    def trades_end(self) -> int:
        return sum(end_offsets(self.kafka, self.topics(Topic.TRADES)).values())


def child_pids(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return []


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def wait_for(condition: Callable[[], Any], timeout: float, what: str, stack: UserStack) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        if stack.process is not None and stack.process.poll() is not None:
            raise AssertionError(f"make up ended ({stack.process.returncode}) waiting for {what}:\n"
                                 f"{stack.output()[-4000:]}")
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}:\n{stack.output()[-4000:]}")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[UserStack]:
    user = UserStack(tmp_path / "home", tmp_path)
    try:
        yield user
    finally:
        user.kill_everything()
        print("\n[timing] summary:\n" + "\n".join(f"  {what:60} {seconds:7.1f} s" for what, seconds in timings))


def served_state(stack: UserStack) -> dict[str, Any]:
    _, models = stack.get("/models")
    champion = (models or {}).get("champion") if isinstance(models, dict) else None
    _, symbols = stack.get("/symbols")
    _, candles = stack.get(f"/candles/{SYMBOL}?limit=500")
    prediction = stack.latest_prediction()
    return {
        "champion": champion and (champion["name"], champion["version"]),
        "symbols": sorted((symbols or {}).get("symbols", [])) if isinstance(symbols, dict) else symbols,
        "candles": len(candles) if isinstance(candles, list) else 0,
        "first_candle": candles[0]["open_time_ms"] if isinstance(candles, list) and candles else None,
        "prediction_model": prediction and (prediction.get("model_name"), prediction.get("model_version")),
    }


def same_service_back(before: dict[str, Any], stack: UserStack) -> dict[str, Any] | None:
    """What the gateway serves once it is what it served before (candles may have grown)."""
    now = served_state(stack)
    if (now["champion"] == before["champion"] and now["symbols"] == before["symbols"]
            and now["prediction_model"] == before["prediction_model"]
            and now["candles"] >= before["candles"] and now["first_candle"] is not None
            and (before["first_candle"] is None or now["first_candle"] <= before["first_candle"] + 10 * MINUTE_MS)):
        return now
    return None


def caught_up(stack: UserStack) -> bool:
    status, candles = stack.get(f"/candles/{SYMBOL}?limit=1")
    return status == 200 and bool(candles) and candles[-1]["open_time_ms"] > (time.time() - 180) * 1000


def check_topics(stack: UserStack, predictions: bool = True) -> None:
    """Per symbol: no candle or prediction twice, no minute missing between the first and the last."""
    candles = [Candle.parse(r.value) for r in consume(stack.kafka, stack.topics(Topic.CANDLES), timeout=60)]
    series = [("candles", [(c.symbol, c.interval, c.open_time_ms) for c in candles])]
    if predictions:
        read = consume(stack.kafka, stack.topics(Topic.PREDICTIONS), timeout=60)
        series.append(("predictions", [(p.symbol, p.interval, p.horizon, p.as_of_ms)
                                       for p in (Prediction.parse(r.value) for r in read)]))
    for name, keys in series:
        assert keys, f"no {name} on the topic"
        twice = [key for key, count in Counter(keys).items() if count > 1]
        assert not twice, f"{len(twice)} {name} twice, e.g. {twice[:3]}"
        by_series: dict[tuple, list[int]] = {}
        for *series, time_ms in keys:
            by_series.setdefault(tuple(series), []).append(time_ms)
        for series, times in by_series.items():
            times.sort()
            missing = [t for a, b in zip(times, times[1:]) for t in range(a + MINUTE_MS, b, MINUTE_MS)]
            assert not missing, f"{name} {series}: {len(missing)} minute(s) missing, e.g. {missing[:3]}"
        print(f"[topics] {name}: {len(keys)} read back with read_committed, none twice, no minute missing "
              f"({', '.join(f'{s}: {len(t)}' for s, t in by_series.items())})", flush=True)


def services_started_beside_the_training(stack: UserStack) -> dict[str, dict[str, Any]] | None:
    """What the stack started, once it has started every line of the Procfile (none is 'starting')."""
    services = stack.services()
    names = {*SERVICES, "models"}
    started = names <= set(services) and all(services[name]["state"] != "starting" for name in names)
    return services if started else None


def served_by(prediction: dict[str, Any]) -> str:
    return f"{prediction.get('model_name')} {prediction.get('model_version')}"


def check_console(output: str) -> None:
    """One line per stage: the first training says its verdict in a line, no service logs each batch."""
    models = [line for line in output.splitlines() if " models " in line[:20]]
    print("[console] the first training:\n  " + "\n  ".join(models), flush=True)
    assert any("first model (synthetic history): gate: v1" in line for line in models), models
    assert any("first forecaster set (SYNTHETIC history):" in line and "registered as v1" in line
               for line in models), models
    assert len(models) <= 6, f"the first training wrote {len(models)} lines"
    assert "fit tickcast_mlp" not in output, "the training's epochs reached the console"
    for per_batch in ("batch processed", "vectors stored"):
        assert per_batch not in output, f"a line per batch ({per_batch!r}) on the console"
    assert "candles processed" in output  # the feature pipeline's periodic progress line


def test_make_up_survives_crashes_restarts_and_clean_slates(stack: UserStack):
    # 1. Cold start, fresh broker and home: the services start at once, the first model trains beside them.
    started = stack.up()
    services = wait_for(lambda: services_started_beside_the_training(stack), COLD_START_TIMEOUT_S,
                        "the services started", stack)
    timed("cold start (make up): the services started", time.monotonic() - started)
    # Nothing waits for the first model: every service runs while it is still training.
    assert services["models"]["state"] == "running", services
    assert all(services[name]["state"] == "running" for name in SERVICES), services
    first = wait_for(stack.latest_prediction, COLD_START_TIMEOUT_S, "the first prediction", stack)
    timed("cold start (make up) to the first prediction", time.monotonic() - started)
    assert first["symbol"] == SYMBOL
    print(f"[cold start] first prediction served by {served_by(first)}", flush=True)
    if first["model_name"] == BASELINE:
        # No champion yet: the baseline is served, and says so.
        assert first["model_version"] == "baseline"
    # The first model lands while the services run: inference swaps it in, no restart.
    champion_prediction = wait_for(
        lambda: (p := stack.latest_prediction()) and p["model_name"] != BASELINE and p,
        COLD_START_TIMEOUT_S, "a prediction of the first model (trained beside the services)", stack)
    timed("cold start (make up) to the first model's prediction", time.monotonic() - started)
    wait_for(lambda: served_state(stack)["champion"] == (champion_prediction["model_name"],
                                                         champion_prediction["model_version"]),
             STEP_TIMEOUT_S, f"/models naming {served_by(champion_prediction)} as the served model", stack)
    # The first forecaster set, trained after it, brings ranges, volatility and P(up).
    with_ranges = wait_for(lambda: (p := stack.latest_prediction()) and p.get("forecasts") and p,
                           COLD_START_TIMEOUT_S, "a prediction carrying the first forecaster set's ranges", stack)
    timed("cold start (make up) to the first forecasts", time.monotonic() - started)
    print(f"[forecasts] horizons {[f['horizon'] for f in with_ranges['forecasts']]}", flush=True)
    wait_for(lambda: stack.services().get("models", {}).get("state") == "finished", STEP_TIMEOUT_S,
             "the first training finished (exit 0, not restarted)", stack)
    # On the topic, in order: the baseline (if any) until the model landed, never after it.
    served = [Prediction.parse(r.value) for r in consume(stack.kafka, stack.topics(Topic.PREDICTIONS), timeout=30)]
    names = [p.model_name for p in sorted(served, key=lambda p: p.as_of_ms)]
    first_model_at = next(i for i, name in enumerate(names) if name != BASELINE)
    assert BASELINE not in names[first_model_at:], "the baseline served again after the first model landed"
    print(f"[cold start] {first_model_at} prediction(s) of the baseline before the first model's", flush=True)
    check_console(stack.output())
    wait_for(stack.all_running, STEP_TIMEOUT_S, "every process running", stack)

    # 2. kill -9 of each process in turn: restarted alone, the others keep running.
    for victim in ("producer", "candles", "features", "features worker", "inference", "gateway"):
        before = wait_for(stack.all_running, STEP_TIMEOUT_S, "every process running", stack)
        os.kill(before[victim], signal.SIGKILL)
        killed_at = time.monotonic()

        def replaced(victim: str = victim, before: dict[str, int] = before) -> dict[str, int] | None:
            now = stack.all_running()
            return now if now and now[victim] != before[victim] else None

        after = wait_for(replaced, STEP_TIMEOUT_S, f"{victim} restarted", stack)
        timed(f"kill -9 {victim}: running again (new pid)", time.monotonic() - killed_at)
        # The feature pipeline's worker dies with its parent, by design; nothing else may stop.
        untouched = set(before) - {victim} - ({"features worker"} if victim == "features" else set())
        assert {n: after[n] for n in untouched} == {n: before[n] for n in untouched}, f"after kill -9 {victim}"
        if victim == "gateway":
            wait_for(stack.latest_prediction, STEP_TIMEOUT_S, "the gateway answering again", stack)
            timed("kill -9 gateway: serving again", time.monotonic() - killed_at)
    assert "died (killed by SIGKILL)" in stack.output()
    last_as_of = stack.latest_prediction()["as_of_ms"]
    flowing_since = time.monotonic()
    wait_for(lambda: (p := stack.latest_prediction()) and p["as_of_ms"] > last_as_of, 180,
             "a new prediction after the kills", stack)
    timed("after the kills: next new prediction", time.monotonic() - flowing_since)

    # 3. make down, make up: the same service, and the feed resumes at once.
    before = served_state(stack)
    print(f"[state] served before make down: {before}", flush=True)
    stack.down()
    started = stack.up()
    producer_up = wait_for(lambda: stack.services().get("producer", {}).get("state") == "running",
                           COLD_START_TIMEOUT_S, "the trade producer started", stack)
    assert producer_up
    producer_started = time.monotonic()
    trades_at_start = stack.trades_end()
    wait_for(lambda: stack.trades_end() > trades_at_start, 60, "new trades after make up", stack)
    timed("make up again: new trades on the topic after the producer started", time.monotonic() - producer_started)
    timed("make up again: new trades on the topic after make up", time.monotonic() - started)
    back = wait_for(lambda: same_service_back(before, stack), STEP_TIMEOUT_S,
                    f"the same model, symbols, candles and predictions served again (before: {before}, "
                    f"now: {served_state(stack)})", stack)
    timed("make up again: the same model, history and predictions served", time.monotonic() - started)
    print(f"[state] served after make up: {back}", flush=True)

    # 4. Redis stopped and started: the served state comes back.
    before = served_state(stack)
    stack.redis("stop")
    stack.redis("start")
    redis_back = time.monotonic()
    wait_for(lambda: same_service_back(before, stack), STEP_TIMEOUT_S,
             f"the served state after a Redis restart (before: {before}, now: {served_state(stack)})", stack)
    timed("Redis restart: served state back", time.monotonic() - redis_back)

    # 5. What the topics hold after all of it.
    wait_for(stack.latest_prediction, STEP_TIMEOUT_S, "predictions", stack)
    check_topics(stack)

    # 6. make clean, make up: a clean start that refuses no trade.
    stack.down()
    stack.make("clean")
    assert not (stack.home / "kafka").exists(), "make clean left the broker's data"
    started = stack.up()
    # Every trade of the day of history has been through the candle builder once candles reach the present.
    wait_for(lambda: caught_up(stack), COLD_START_TIMEOUT_S, "candles up to the present after make clean", stack)
    timed("make clean && make up: candles up to the present", time.monotonic() - started)
    dead = consume(stack.kafka, stack.topics.dlq(Topic.TRADES), timeout=5, idle=1)
    assert dead == [], f"{len(dead)} trades refused after make clean, e.g. {dead[0].value[:500]!r}"
    refused = [line for line in stack.output().splitlines() if "trade refused" in line or "LateTrade" in line]
    assert not refused, f"{len(refused)} trades refused after make clean, e.g. {refused[:3]}"
    check_topics(stack, predictions=False)
