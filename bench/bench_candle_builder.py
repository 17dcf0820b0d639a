"""Candle builder throughput and close latency against the real broker.

Usage (from the repository root; the broker is ``KAFKA_BOOTSTRAP_SERVERS``, else the test
broker on 127.0.0.1:19092 that the test suite starts):

    uv run python bench/bench_candle_builder.py [--trades 600000] [--cpu 1] [--keep-topics]

1. Throughput: the same topic of trades is read by a bare confluent-kafka consumer
   that only reads and parses each message into a ``Trade``, then by the candle
   builder service (``python -m candle_builder run``, exactly-once) for each
   interval set. Both are pinned to one CPU core. The service's rate runs from its
   first processed trade until every offset is committed (its candles published).
2. Close latency: live trades (exchange time = now) for many symbols, some of them
   falling silent, into a service building 1s candles; a ``read_committed``
   consumer records when each candle arrives. The delay is measured from the
   window's end plus grace to the candle being readable.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.services import (
    ServiceProcess,
    committed_offsets,
    free_port,
    http_text,
    metric_value,
    produce,
    stopped_at_exit,
)
from tickcast.contracts import Candle, Trade
from tickcast.kafka import CheckedProducer, ensure_topics
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
TARGET_RATE = 50_000
TARGET_RATIO = 0.25
TARGET_P99_S = 1.0
LIVE_PREFIX = "bench-live-"


@dataclass(frozen=True)
class Rate:
    name: str
    messages: int
    seconds: float
    cpu_seconds: float  # CPU time the reader's process used meanwhile (all its threads)

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    @property
    def per_cpu_second(self) -> float:
        """What one core fully given to the reader sustains: robust to other load on the machine."""
        return self.messages / self.cpu_seconds


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def settings_for(bootstrap: str, prefix: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=3)


def synthetic_trades(count: int, symbols: int, event_hours: float, seed: int = 1) -> Iterator[Trade]:
    rng = random.Random(seed)
    names = [f"SYM{index:03d}USDT" for index in range(symbols)]
    prices = dict.fromkeys(names, 100.0)
    step = event_hours * 3_600_000 / count
    for index in range(count):
        symbol = names[rng.randrange(symbols)]
        prices[symbol] = round(max(1.0, prices[symbol] * (1 + rng.gauss(0, 0.0004))), 2)
        quantity = rng.randint(1, 10**7) / 10**8
        yield Trade(
            symbol=symbol,
            trade_id=index + 1,
            price=prices[symbol],
            quantity=quantity,
            quote_quantity=prices[symbol] * quantity,
            timestamp_ms=START_MS + int(index * step),
            is_buyer_maker=rng.random() < 0.5,
            source="synthetic",
        )


def pin_to(cpu: int) -> None:
    os.sched_setaffinity(0, {cpu})


def bare_consumer_rate(settings: KafkaSettings, expected: int, cpu: int) -> Rate:
    """Read and parse every trade with a plain consumer on one core (in this process)."""
    previous = os.sched_getaffinity(0)
    pin_to(cpu)
    try:
        consumer = Consumer(
            {
                **settings.client_config(),
                "group.id": f"bench-bare-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        consumer.subscribe([TopicNames(settings)(Topic.TRADES)])
        seen = 0
        started = cpu_started = 0.0
        while seen < expected:
            for message in consumer.consume(1000, 1.0):
                if message.error():
                    continue
                if not seen:
                    started, cpu_started = time.perf_counter(), time.process_time()
                Trade.parse(message.value())
                seen += 1
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        consumer.close()
    finally:
        os.sched_setaffinity(0, previous)
    return Rate("bare consumer (read + parse)", seen, elapsed, cpu)


@contextmanager
def service(settings: KafkaSettings, cpu: int, **env: str) -> Iterator[tuple[ServiceProcess, int]]:
    """The candle builder (the tests' subprocess runner) pinned to ``cpu``, with its metrics port."""
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        process = ServiceProcess(
            "candle-builder",
            "candle_builder",
            ["run"],
            {
                **os.environ,
                "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
                "KAFKA_TOPIC_PREFIX": settings.topic_prefix,
                "KAFKA_PARTITIONS": str(settings.partitions),
                "CANDLE_STATE_DIR": str(Path(workdir) / "state"),
                "METRICS_PORT": str(port),
                "LOG_LEVEL": "WARNING",
                **env,
            },
            Path(workdir),  # its output goes to candle-builder.log, shown if it dies
        )
        with stopped_at_exit(process.start()):
            # Pinned before it starts any thread; its threads inherit the affinity.
            os.sched_setaffinity(process.pid, {cpu})
            yield process, port


def _trades_in(port: int) -> float:
    exposition = http_text(f"http://127.0.0.1:{port}/metrics", timeout=2)
    return metric_value(exposition, "candle_builder_trades_in_total") if exposition else 0.0


def _committed(settings: KafkaSettings, group: str) -> int:
    return sum(committed_offsets(settings, group, TopicNames(settings)(Topic.TRADES)).values())


def service_rate(settings: KafkaSettings, expected: int, cpu: int, intervals: str) -> Rate:
    """Run the service on the topic from the start; time first processed trade -> all committed."""
    group_name = f"bench-{uuid.uuid4().hex[:8]}"
    group = f"{settings.topic_prefix}{group_name}"
    with service(settings, cpu, CANDLE_INTERVALS=intervals, CANDLE_CONSUMER_GROUP=group_name) as (
        process,
        port,
    ):
        # Start the clock once processing is under way (counts are published every tick),
        # and count only the trades processed after that moment.
        processed_at_start = 0.0
        while processed_at_start == 0.0:
            process.assert_alive()
            processed_at_start = _trades_in(port)
            time.sleep(0.01)
        started, cpu_started = time.perf_counter(), process_cpu_seconds(process.pid)
        while _committed(settings, group) < expected:
            process.assert_alive()
            time.sleep(0.05)
        elapsed, cpu = time.perf_counter() - started, process_cpu_seconds(process.pid) - cpu_started
    return Rate(f"candle builder ({intervals})", expected - int(processed_at_start), elapsed, cpu)


def close_latency(
    bootstrap: str, prefix: str, cpu: int, seconds: float, symbols: int, rate: int
) -> list[float]:
    """Delays (s) from window end + grace to the candle being readable, with live trades."""
    settings = settings_for(bootstrap, prefix)
    ensure_topics(settings, TopicNames(settings).specs())
    grace_ms = 500
    names = [f"LIVE{index:03d}USDT" for index in range(symbols)]
    arrivals: list[tuple[float, Candle]] = []
    stop = threading.Event()

    def read() -> None:
        consumer = Consumer(
            {
                **settings.client_config(),
                "group.id": f"bench-reader-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 10,
            }
        )
        consumer.subscribe([TopicNames(settings)(Topic.CANDLES)])
        while not stop.is_set():
            message = consumer.poll(0.05)
            if message is not None and not message.error():
                arrivals.append((time.time(), Candle.parse(message.value())))
        consumer.close()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    env = {"CANDLE_INTERVALS": "1s", "CANDLE_GRACE_MS": str(grace_ms)}
    with service(settings, cpu, **env):
        producer = CheckedProducer(settings)
        topic = TopicNames(settings)(Topic.TRADES)
        rng = random.Random(3)
        # Warm up: the first transaction of a new producer is slow; measure the steady state.
        trade_id = 1
        producer.send(topic, _live_trade(names[0], trade_id, rng))
        producer.flush()
        while not arrivals:
            time.sleep(0.05)
        began = time.time()
        while time.time() - began < seconds:
            # A quarter of the symbols fall silent halfway: their windows close on the clock alone.
            active = names if time.time() - began < seconds / 2 else names[: 3 * len(names) // 4]
            for _ in range(max(1, rate // 100)):
                trade_id += 1
                producer.send(topic, _live_trade(active[rng.randrange(len(active))], trade_id, rng))
            producer.poll(0)
            time.sleep(0.01)
        producer.flush()
        time.sleep(3)  # let the last windows close
    stop.set()
    reader.join(10)
    ended_ms = int(time.time() * 1000) - 3000
    began_ms = began * 1000
    delays = [
        arrived - (candle.close_time_ms + 1 + grace_ms) / 1000
        for arrived, candle in arrivals
        if candle.open_time_ms >= began_ms and candle.close_time_ms + 1 + grace_ms <= ended_ms
    ]
    return delays


def _live_trade(symbol: str, trade_id: int, rng: random.Random) -> Trade:
    price = 100.0 + rng.random()
    return Trade(
        symbol=symbol,
        trade_id=trade_id,
        price=price,
        quantity=0.01,
        quote_quantity=price * 0.01,
        timestamp_ms=int(time.time() * 1000),
        is_buyer_maker=rng.random() < 0.5,
        source="synthetic",
    )


def delete_topics(bootstrap: str, prefixes: list[str]) -> None:
    """The bench's topics, the services' changelog topics included (they carry the prefix too)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [name for name in admin.list_topics(timeout=10).topics if any(p in name for p in prefixes)]
    for future in admin.delete_topics(names, operation_timeout=30).values() if names else ():
        future.result()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    parser.add_argument("--trades", type=int, default=600_000)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)))
    parser.add_argument("--intervals", nargs="*", default=["1m", "1m,5m,1h"])
    parser.add_argument("--live-seconds", type=float, default=30.0)
    parser.add_argument("--topic-prefix", help="Reuse trades already produced under this prefix.")
    parser.add_argument("--keep-topics", action="store_true", help="Leave the bench's topics on the broker.")
    args = parser.parse_args()

    settings = settings_for(args.bootstrap, args.topic_prefix or f"bench-{uuid.uuid4().hex[:8]}-")
    trades_topic = TopicNames(settings)(Topic.TRADES)
    made_prefix = "" if args.topic_prefix else settings.topic_prefix  # reused topics are kept
    if args.topic_prefix:
        count = args.trades  # already on the topic from an earlier run
    else:
        ensure_topics(settings, TopicNames(settings).specs())
        log(f"producing {args.trades:,} trades of {args.symbols} symbols to {trades_topic} ...")
        count = produce(settings, trades_topic, synthetic_trades(args.trades, args.symbols, event_hours=2.0))

    log("bare consumer ...")
    bare = bare_consumer_rate(settings, count, args.cpu)
    rates = [bare]
    for intervals in args.intervals:
        log(f"candle builder {intervals} ...")
        rates.append(service_rate(settings, count, args.cpu, intervals))

    delays: list[float] = []
    live_prefix = ""
    if args.live_seconds > 0:
        log(f"close latency: live trades for {args.live_seconds:.0f}s ...")
        live_prefix = f"{LIVE_PREFIX}{uuid.uuid4().hex[:8]}-"
        delays = close_latency(
            args.bootstrap, live_prefix, args.cpu, args.live_seconds, symbols=40, rate=2_000
        )
    if not args.keep_topics:
        delete_topics(args.bootstrap, [prefix for prefix in (made_prefix, live_prefix) if prefix])

    print(f"\nthroughput on one core (cpu {args.cpu}), {count:,} trades, same topic, real broker")
    print(f"{'reader':34} {'trades/s':>10} {'ratio':>6} {'trades/cpu-s':>13} {'ratio':>6}")
    for rate in rates:
        print(
            f"{rate.name:34} {rate.per_second:10,.0f} {rate.per_second / bare.per_second:6.2f}"
            f" {rate.per_cpu_second:13,.0f} {rate.per_cpu_second / bare.per_cpu_second:6.2f}"
        )
    print("trades/s: wall clock, pinned to one core; trades/cpu-s: per second of CPU the reader used")
    print(f"targets: >= {TARGET_RATE:,} trades/s and ratio >= {TARGET_RATIO}")
    if not delays:
        return
    print(f"\nwindow end + grace -> candle readable (read_committed), {len(delays)} live 1s candles")
    print(
        f"p50 {percentile(delays, 0.50):.3f}s  p99 {percentile(delays, 0.99):.3f}s  "
        f"max {max(delays):.3f}s   target p99 < {TARGET_P99_S}s"
    )


if __name__ == "__main__":
    main()
