"""Benchmark (a): GET /predictions/{symbol}/latest under wrk, beside a bare FastAPI endpoint.

Two uvicorn processes on loopback ports, measured one after the other in the same run
with the same wrk settings (64 connections by default):

* ``gateway``: ``python -m gateway serve``, answering from a real Redis;
* ``bare``: a FastAPI app whose one endpoint returns a constant (no I/O) - the ceiling
  of FastAPI + uvicorn on this machine.

Prints requests per second, p50 and p99 latency and server CPU per request of both, and
the ratios (gateway / bare; target for req/s: at least 0.7). Rounds alternate the servers
so that drift in the machine's load affects all; the medians are compared. A third row
shows the gateway with its in-memory copy of the latest prediction turned off
(``GATEWAY_LATEST_CACHE_TTL_S=0``: a Redis GET per request), for comparison.

    uv run python bench/bench_gateway.py                # 2 rounds of 10 s each
    uv run python bench/bench_gateway.py --duration 20 --rounds 3

Needs ``wrk`` (apt-get install -y wrk). Redis: REDIS_URL if set, otherwise a throwaway
``redis-server`` started on a free loopback port for the run.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import redis
from fastapi import FastAPI

from tickcast.contracts import Prediction
from tickcast.redis_keys import RedisKeys

TARGET_RATIO = 0.7
SYMBOL = "BTCUSDT"

# The baseline: FastAPI's cheapest useful answer, a constant JSON document of the same size class.
bare_app = FastAPI()
CONSTANT = {"symbol": SYMBOL, "predicted_price": 42_000.0, "direction": "up"}


@bare_app.get("/constant")
async def constant() -> dict[str, object]:
    return CONSTANT


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    server_cpu_us: float = math.nan  # server process CPU time per request


def process_cpu_s(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answers(url: str, timeout_s: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return httpx.get(url, timeout=2.0)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing answers at {url} after {timeout_s}s") from None
            time.sleep(0.1)


@contextmanager
def redis_url() -> Iterator[str]:
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    server = shutil.which("redis-server")
    if not server:
        raise SystemExit("set REDIS_URL or install redis-server (apt-get install -y redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            client = redis.Redis(port=port)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


@contextmanager
def serving(command: list[str], env: dict[str, str], probe_url: str) -> Iterator[int]:
    """Run a server until the block ends; yields its pid."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        try:
            wait_until_answers(probe_url)
        except SystemExit:
            process.terminate()
            raise SystemExit(
                f"{' '.join(command)} did not start:\n{process.communicate(timeout=10)[1]}"
            ) from None
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def run_wrk(url: str, connections: int, threads: int, duration_s: int, server_pid: int) -> WrkResult:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency", url]
    cpu_before = process_cpu_s(server_pid)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu_used = process_cpu_s(server_pid) - cpu_before
    result = parse_wrk(output)
    return replace(result, server_cpu_us=cpu_used / max(result.requests, 1) * 1e6)


def parse_wrk(output: str) -> WrkResult:
    def latency_ms(percentile: str) -> float:
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if not match:
            raise ValueError(f"no {percentile}% latency in wrk output:\n{output}")
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if not rate or not total:
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(group) for group in socket_errors.groups())
    return WrkResult(float(rate.group(1)), latency_ms("50"), latency_ms("99"), int(total.group(1)), errors)


def seed_prediction(url: str, keys: RedisKeys) -> Prediction:
    now_ms = int(time.time() * 1000) // 60_000 * 60_000
    prediction = Prediction(
        symbol=SYMBOL,
        model_name="tickcast-1m-h5",
        model_version="3",
        horizon=5,
        as_of_ms=now_ms,
        target_time_ms=now_ms + 300_000,
        predicted_return=0.0012,
        predicted_price=42_050.5,
        direction="up",
        emitted_ms=now_ms + 60_000,
    )
    client = redis.Redis.from_url(url)
    client.set(keys.latest_prediction(SYMBOL), prediction.model_dump_json())
    client.sadd(keys.symbols(), SYMBOL)
    client.close()
    return prediction


def clean_up(url: str, keys: RedisKeys) -> None:
    client = redis.Redis.from_url(url)
    client.delete(keys.latest_prediction(SYMBOL), keys.symbols())
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating bare/gateway rounds; medians compared"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of unmeasured load before each server's first round"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    here = Path(__file__).resolve().parent
    keys = RedisKeys(f"bench-{uuid.uuid4().hex[:8]}:")
    with redis_url() as url:
        expected = seed_prediction(url, keys)
        env = {
            **os.environ,
            "REDIS_URL": url,
            "REDIS_KEY_PREFIX": keys.prefix,
            "LOG_LEVEL": "WARNING",
            "GATEWAY_API_KEYS": "",
        }
        servers = [
            Server("bare", "bare FastAPI constant", bare_command(here), "/constant", {}),
            Server("gateway", "GET /predictions/{symbol}/latest", gateway_command(), LATEST_PATH, {}),
            # The same endpoint reading Redis on every request, to show what the in-memory copy buys.
            Server(
                "uncached",
                "  the same, GATEWAY_LATEST_CACHE_TTL_S=0",
                gateway_command(),
                LATEST_PATH,
                {"GATEWAY_LATEST_CACHE_TTL_S": "0"},
            ),
        ]
        try:
            results = measure(servers, env, expected, args)
        finally:
            clean_up(url, keys)
    report(servers, results, args.connections)


LATEST_PATH = f"/predictions/{SYMBOL}/latest"


@dataclass(frozen=True)
class Server:
    name: str
    label: str
    command: list[str]  # the port is appended
    path: str
    env: dict[str, str]


def gateway_command() -> list[str]:
    return [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port"]


def bare_command(here: Path) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "bench_gateway:bare_app", "--app-dir", str(here),
        "--host", "127.0.0.1", "--no-access-log", "--log-level", "warning", "--port",
    ]  # fmt: skip


def measure(
    servers: list[Server], env: dict[str, str], expected: Prediction, args: argparse.Namespace
) -> dict[str, list[WrkResult]]:
    results: dict[str, list[WrkResult]] = {server.name: [] for server in servers}
    with ExitStack() as running:
        targets: dict[str, tuple[str, int]] = {}
        for server in servers:
            port = free_port()
            url = f"http://127.0.0.1:{port}{server.path}"
            pid = running.enter_context(serving([*server.command, str(port)], {**env, **server.env}, url))
            if server.path == LATEST_PATH:
                answer = httpx.get(url)
                # Measure real answers only: a 404 or 503 would be faster and meaningless.
                assert answer.status_code == 200 and Prediction.parse(answer.content) == expected, answer.text
            targets[server.name] = (url, pid)
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} round(s), "
            f"{os.cpu_count()} CPU(s), loopback only",
            flush=True,
        )
        for url, pid in targets.values():
            run_wrk(url, args.connections, args.threads, args.warmup, pid)
        for round_number in range(1, args.rounds + 1):
            for name, (url, pid) in targets.items():
                result = run_wrk(url, args.connections, args.threads, args.duration, pid)
                results[name].append(result)
                print(
                    f"  round {round_number} {name:8} {result.requests_per_s:10,.0f} req/s  "
                    f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                    f"server CPU {result.server_cpu_us:6.1f} us/req  errors {result.errors}",
                    flush=True,
                )
    return results


def report(servers: list[Server], results: dict[str, list[WrkResult]], connections: int) -> None:
    def median(name: str, field: str) -> float:
        return statistics.median(getattr(result, field) for result in results[name])

    print()
    header = f"{'endpoint (' + str(connections) + ' connections)':42}"
    print(f"{header} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11} {'errors':>7}  vs bare")
    for server in servers:
        name = server.name
        errors = sum(result.errors for result in results[name])
        # Ratios to bare: req/s and p99 divided by bare's; CPU inverted so that 1.0 = as cheap as bare.
        ratios = (
            ""
            if name == "bare"
            else f"  req/s x{median(name, 'requests_per_s') / median('bare', 'requests_per_s'):.2f}, "
            f"p99 x{median(name, 'p99_ms') / median('bare', 'p99_ms'):.2f}, "
            f"CPU {median('bare', 'server_cpu_us') / median(name, 'server_cpu_us'):.2f}"
        )
        print(
            f"{server.label:42} {median(name, 'requests_per_s'):9,.0f} {median(name, 'p50_ms'):8.2f} "
            f"{median(name, 'p99_ms'):8.2f} {median(name, 'server_cpu_us'):11.1f} {errors:7d}{ratios}"
        )
    ratio = median("gateway", "requests_per_s") / median("bare", "requests_per_s")
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"GET /predictions/{{symbol}}/latest at {ratio:.2f} x bare req/s {verdict} the target of "
        f"{TARGET_RATIO} (load average {os.getloadavg()[0]:.1f} at the end)"
    )


if __name__ == "__main__":
    main()
