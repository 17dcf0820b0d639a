"""Running Tickcast services as real subprocesses (``python -m <service> ...``) and watching them.

Used by the end-to-end and fault tests: each service gets the test's environment (topic and
Redis key prefixes set by the fixtures) plus its own state folders under the test's tmp_path,
so nothing is shared with other tests or with a stack started by ``make up``.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from support.registries import mlflow_registry_settings
from tickcast.contracts import Contract, Trade
from tickcast.kafka import CheckedProducer
from tickcast.settings import KafkaSettings

from support.kafka import consume

ROOT = Path(__file__).resolve().parents[2]
MINUTE_MS = 60_000
HOUR_MS = 3_600_000


def free_port() -> int:
    """A free loopback port: from ``TEST_PORT_RANGE`` (``low-high``) when set, else any the system gives."""
    if spec := os.environ.get("TEST_PORT_RANGE"):
        low, high = (int(part) for part in spec.split("-"))
        for port in random.sample(range(low, high + 1), min(200, high - low + 1)):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise RuntimeError(f"no free port in TEST_PORT_RANGE={spec}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceProcess:
    """One ``python -m <module> <args>`` process, its output in ``<log_dir>/<name>.log``."""

    def __init__(self, name: str, module: str, args: Sequence[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.command = [sys.executable, "-m", module, *args]
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> ServiceProcess:
        assert self.process is None or self.process.poll() is not None, f"{self.name} already running"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n----- start #{self.starts + 1}: {' '.join(self.command[1:])}\n".encode())
            log.flush()
            self.process = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT)
        self.starts += 1
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def assert_alive(self) -> None:
        assert self.alive(), f"{self.name} exited with {self.returncode}:\n{self.log_tail()}"

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or committed on the way out."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def wait(self, timeout: float) -> int:
        """Wait for a command that ends by itself; its exit code."""
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout}s:\n{self.log_tail()}") from None

    def rss_bytes(self) -> int:
        """Resident set size of the process now, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS for {self.name}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:]) or "<no output>"


@contextmanager
def stopped_at_exit(*services: ServiceProcess) -> Iterator[tuple[ServiceProcess, ...]]:
    """Stop (SIGTERM, then SIGKILL) every service when the block ends, whatever happened."""
    try:
        yield services
    finally:
        for service in reversed(services):
            service.stop()


def wait_until(condition: Callable[[], Any], timeout: float, what: str,
               watch: Iterable[ServiceProcess] = (), poll: float = 0.5) -> Any:
    """Poll ``condition`` until it returns something truthy; fail early if a watched service died."""
    watched = list(watch)
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        for service in watched:
            if service.process is not None and not service.alive():
                raise AssertionError(f"{service.name} exited ({service.returncode}) while waiting for {what}:\n"
                                     f"{service.log_tail()}")
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {s.name}:\n{s.log_tail(25)}" for s in watched)
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")
        time.sleep(poll)


class Stack:
    """Environment and process factory of one test's pipeline (state under ``workdir``)."""

    def __init__(self, workdir: Path, namespace: str, **env: str) -> None:
        self.workdir = workdir
        self.namespace = namespace
        self.log_dir = workdir / "logs"
        mlflow = workdir / "mlflow"
        mlflow.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "console",
            # candle builder
            "CANDLE_STATE_DIR": str(workdir / "candle-state"),
            "CANDLE_COMMIT_INTERVAL_S": "0.5",
            # feature pipeline
            "FEAST_REPO_PATH": str(workdir / "feast"),
            "FEAST_PROJECT": namespace.strip("-").replace("-", "_"),
            "FAUST_DATA_DIR": str(workdir / "faust"),
            "COMMIT_INTERVAL_S": "0.5",
            "SESSION_TIMEOUT_S": "6",
            # training and the registry inference reads
            "TICKCAST_HOME": str(workdir / "home"),
            "MLFLOW_TRACKING_URI": mlflow_registry_settings(mlflow).tracking_uri(),
            "MLFLOW_ARTIFACT_ROOT": mlflow_registry_settings(mlflow).artifact_root(),
            "TRAINING_OUTPUT_DIR": str(workdir / "training"),
            # inference
            "INFERENCE_GROUP_ID": f"{namespace}inference",
            "INFERENCE_TRANSACTIONAL_ID": f"{namespace}inference-0",
            "INFERENCE_CHAMPION_POLL_SECONDS": "1",
            "INFERENCE_SESSION_TIMEOUT_MS": "6000",
            **env,
        }
        # A shared METRICS_PORT would make every service bind the same port.
        self.env.pop("METRICS_PORT", None)

    def service(self, name: str, module: str, *args: str, **env: str) -> ServiceProcess:
        return ServiceProcess(name, module, args, {**self.env, **env}, self.log_dir)

    def candle_builder(self, **env: str) -> ServiceProcess:
        return self.service("candle-builder", "candle_builder", "run", **env)

    def feature_pipeline(self, **env: str) -> ServiceProcess:
        return self.service("feature-pipeline", "feature_pipeline", "stream", **env)

    def inference(self, **env: str) -> ServiceProcess:
        return self.service("inference", "inference", "run", **env)

    def gateway(self, port: int, **env: str) -> ServiceProcess:
        return self.service("gateway", "gateway", "serve", GATEWAY_HOST="127.0.0.1", GATEWAY_PORT=str(port), **env)

    def run(self, name: str, module: str, *args: str, timeout: float = 300.0, **env: str) -> str:
        """Run a command that ends by itself; fail with its output unless it exits 0. Returns its output."""
        command = self.service(name, module, *args, **env).start()
        code = command.wait(timeout)
        assert code == 0, f"{name} exited with {code}:\n{command.log_tail()}"
        return command.log_text()


# ------------------------------------------------------------------ data ----


def hour_floor(ms: int) -> int:
    return ms - ms % HOUR_MS


def history_trades(symbols: Sequence[str], start_ms: int, minutes: int, seed: int = 11,
                   start_prices: dict[str, float] | None = None, per_minute: tuple[int, int] = (2, 5)) -> list[Trade]:
    """Sparse labelled synthetic trades: every symbol trades in every minute, in time order across symbols.

    Each record is an aggregate trade (a run of exchange trades, as Binance's aggTrades), so its ids
    live apart from the plain trade ids of ``python -m trade_producer synthetic``, which can carry on
    after this history without its ids being taken for duplicates. Minute returns follow an AR(1),
    the kind of signal the models can learn.
    """
    rng = random.Random(seed)
    prices = dict(start_prices or {})
    trades: list[tuple[int, int, Trade]] = []
    for index, symbol in enumerate(symbols):
        price = prices.get(symbol, 100.0 * (index + 1))
        last_return = 0.0
        agg_id = 0
        first_id = 1
        for minute in range(minutes):
            last_return = 0.3 * last_return + rng.gauss(0.0, 0.0012)
            offsets = sorted(rng.sample(range(0, 59_000, 250), rng.randint(*per_minute)))
            for position, offset in enumerate(offsets):
                step = last_return / len(offsets) + rng.gauss(0.0, 0.0002)
                price = round(price * math.exp(step), 2)
                quantity = round(rng.uniform(0.001, 0.5), 5)
                runs = rng.randint(1, 12)
                agg_id += 1
                trade = Trade(
                    symbol=symbol, trade_id=agg_id, price=price, quantity=quantity,
                    quote_quantity=round(price * quantity, 8),
                    timestamp_ms=start_ms + minute * MINUTE_MS + offset,
                    is_buyer_maker=rng.random() < 0.5, source="synthetic",
                    first_trade_id=first_id, last_trade_id=first_id + runs - 1,
                )
                first_id += runs
                trades.append((trade.timestamp_ms, position, trade))
    trades.sort(key=lambda item: (item[0], item[2].symbol))
    return [trade for _, _, trade in trades]


def produce(settings: KafkaSettings, topic: str, messages: Iterable[Contract]) -> int:
    """Contract messages keyed by symbol, in order; waits for every delivery report."""
    producer = CheckedProducer(settings)
    count = 0
    for message in messages:
        producer.send(topic, message)
        count += 1
    producer.flush(60)
    return count


def read_all(settings: KafkaSettings, topic: str, model: type[Contract], expected: int | None = None,
             timeout: float = 60.0, idle: float = 2.0) -> list[Any]:
    records = consume(settings, topic, expected=expected, timeout=timeout, idle=idle)
    parsed = [model.parse(record.value) for record in records]
    for record, message in zip(records, parsed, strict=True):
        if hasattr(message, "symbol"):
            assert record.key == message.key, f"{topic}: a message not keyed by its symbol"
    return parsed


def _retrying(read: Callable[[], Any], attempts: int = 20) -> Any:
    """Metadata reads fail for a moment after topics are created or a broker restarts: retry them."""
    for attempt in range(attempts):
        try:
            return read()
        except KafkaException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def end_offsets(settings: KafkaSettings, topic: str) -> dict[int, int]:
    """High watermark of every partition of ``topic``."""
    consumer = Consumer({**settings.client_config(), "group.id": f"probe-{uuid.uuid4().hex}"})
    try:
        partitions = _retrying(lambda: consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        return {p: _retrying(lambda p=p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1])
                for p in partitions}
    finally:
        consumer.close()


def committed_offsets(settings: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition (0 where it has none)."""
    consumer = Consumer({**settings.client_config(), "group.id": group, "enable.auto.commit": False})
    try:
        partitions = _retrying(lambda: consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        committed = _retrying(lambda: consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10))
        return {tp.partition: max(tp.offset, 0) for tp in committed}
    finally:
        consumer.close()


def consumer_lag(settings: KafkaSettings, group: str, topic: str) -> int:
    """Messages on ``topic`` the group has not committed yet (transaction markers count too)."""
    ends = end_offsets(settings, topic)
    committed = committed_offsets(settings, group, topic)
    return sum(max(0, end - committed.get(partition, 0)) for partition, end in ends.items())


def http_json(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    """GET ``url``: (status, decoded JSON body); connection errors give status 0."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"null")
        except ValueError:
            return error.code, body.decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, None


def http_text(url: str, timeout: float = 5.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels`` in a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
