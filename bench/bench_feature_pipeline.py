"""Feature pipeline: backfill throughput and candle -> vector latency against the real broker.

Usage (from the repository root; Kafka from ``infra/kafka/kafka.sh start``, Redis from
``infra/redis/redis.sh start``; needs the kline sample files in ``../shared/data``):

    uv run python bench/bench_feature_pipeline.py [--bootstrap 127.0.0.1:9092] \
        [--redis-url redis://127.0.0.1:6379/0] [--symbols 1000] [--rounds 10]

1. Backfill: ``run_backfill`` (the CLI's code) from the real BTCUSDT 1-minute dump
   files: the 182 real days, then a year (those days plus a time-shifted copy of
   them, since the sample holds half a year), into a Feast store in a temporary
   folder. Rate = candles loaded / wall time (read, features, offline write).
2. Streaming: ``python -m feature_pipeline stream`` with N symbols whose windows are
   already warm (seeded into the table's changelog topic from real history, as a
   restarted worker finds them). Each round, every symbol's next candle is produced
   at the same moment; latency = arrival of its vector on ``features`` (read by this
   process) minus the candle's produce time, same clock.
   Reference, side by side in alternating rounds: a bare confluent-kafka consumer ->
   producer process (parse each candle, send it on) reading a second candles topic;
   its p99 is the floor the broker and clients set for the same burst.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from datetime import date
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import numpy as np
import pandas as pd
from confluent_kafka import Consumer, Producer

from feature_pipeline.backfill import run_backfill
from tickcast.store.loaders import DumpFileLoader
from feature_pipeline.processing import SymbolState, state_key
from tickcast.binance_files.klines import read_kline_files
from tickcast.candle_frames import frame_to_candles
from tickcast.contracts import Candle
from tickcast.features import Bar, CandleBuffer
from tickcast.kafka import ensure_topics
from tickcast.settings import KafkaSettings
from tickcast.store.feast_store import FeastFeatureStore
from tickcast.topics import Topic, TopicNames, TopicSpec

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
KLINES = DATA / "binance" / "spot" / "daily" / "klines" / "BTCUSDT" / "1m"
BACKFILL_TARGET = 20_000  # candles per second
P99_TARGET_S = 1.0
DAY_MS = 86_400_000


class ShiftedYearLoader:
    """The real half year, followed by the same candles shifted by its length: one year."""

    def __init__(self, root: Path) -> None:
        self.files = DumpFileLoader(root)

    def load(self, symbol: str, interval: str, start: date, end: date) -> pd.DataFrame:
        half = self.files.load(symbol, interval, date(2024, 1, 1), date(2024, 6, 30))
        span = int(half["open_time_ms"].iloc[-1] - half["open_time_ms"].iloc[0]) + 60_000
        return pd.concat(
            [
                half,
                half.assign(
                    open_time_ms=half["open_time_ms"] + span, close_time_ms=half["close_time_ms"] + span
                ),
            ],
            ignore_index=True,
        )


def bench_backfill(redis_url: str, work: Path) -> None:
    print("== backfill (dump files -> features -> offline store) ==")
    rows = []
    for label, loader, start, end in (
        ("182 real days", DumpFileLoader(DATA), date(2024, 1, 3), date(2024, 6, 30)),
        ("1 year (real + shifted copy)", ShiftedYearLoader(DATA), date(2024, 1, 3), date(2025, 1, 1)),
    ):
        store = FeastFeatureStore(work / f"feast-{len(rows)}", f"bench_{uuid.uuid4().hex[:8]}", redis_url)
        report = run_backfill(loader, store, ["BTCUSDT"], "1m", start, end)
        rate = report.candles / report.seconds
        rows.append((label, report.candles, report.rows, report.seconds, rate))
    print(f"{'history':32} {'candles':>10} {'rows':>10} {'seconds':>8} {'candles/s':>11} {'vs 20k/s':>9}")
    for label, candles, written, seconds, rate in rows:
        print(
            f"{label:32} {candles:>10,} {written:>10,} {seconds:>8.1f} {rate:>11,.0f} "
            f"{rate / BACKFILL_TARGET:>8.1f}x"
        )


def _passthrough(bootstrap: str, source: str, target: str, ready: EventType, stop: EventType) -> None:
    """The reference: consume candles, parse each, send it on; nothing else."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"bench-ref-{uuid.uuid4().hex}",
         "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "compression.type": "lz4"})
    consumer.subscribe([source], on_assign=lambda _consumer, _partitions: ready.set())
    try:
        while not stop.is_set():
            messages = consumer.consume(1000, 0.05)
            for message in messages:
                if message.error():
                    continue
                candle = Candle.parse(message.value())
                producer.produce(target, key=message.key(), value=candle.to_json_bytes())
            if messages:
                producer.flush(30)
    finally:
        consumer.close()


def bench_streaming(
    bootstrap: str, redis_url: str, symbols: int, rounds: int, gap_s: float, work: Path, log_level: str
) -> None:
    print(f"\n== streaming latency: {symbols:,} symbols closing a 1m window at the same moment ==")
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    settings = KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix, partitions=3)
    names = TopicNames(settings)
    ensure_topics(settings, names.specs())
    app_id = f"{prefix}feature-pipeline"
    changelog = f"{app_id}-candle-windows-changelog"
    ensure_topics(settings, [TopicSpec(changelog, 3, 1, (("cleanup.policy", "compact"),))])
    ref_in, ref_out = f"{prefix}reference-candles", f"{prefix}reference-out"
    ensure_topics(settings, [TopicSpec(ref_in, 3, 1, ()), TopicSpec(ref_out, 3, 1, ())])

    history = frame_to_candles(read_kline_files(sorted(KLINES.glob("BTCUSDT-1m-2024-01-0[1-3].zip"))))
    warm, live = history[: 2 * 1440], history[2 * 1440 : 2 * 1440 + rounds]
    window = CandleBuffer(60_000)
    for candle in warm:
        window.push(Bar.from_candle(candle))
    names_of = [f"S{index:04d}USDT" for index in range(symbols)]
    partition_of = {name: zlib.crc32(name.encode()) % 3 for name in names_of}
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "compression.type": "lz4"})
    for name in names_of:  # the state a restarted worker would recover
        state = SymbolState(window, partition_of[name], -1)
        producer.produce(
            changelog, key=state_key(name, "1m"), value=state.encode(), partition=partition_of[name]
        )
    producer.flush(60)

    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "KAFKA_PARTITIONS": "3",
        "REDIS_URL": redis_url,
        "FEAST_REPO_PATH": str(work / "feast-stream"),
        "FEAST_PROJECT": prefix.strip("-"),
        "FAUST_DATA_DIR": str(work / "faust"),
        "LOG_LEVEL": log_level,
    }
    log_path = work / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "feature_pipeline", "stream"],
        env=env,
        cwd=ROOT,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "auto.offset.reset": "latest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([names(Topic.FEATURES), ref_out])
    context = multiprocessing.get_context("spawn")
    ref_ready, ref_stop = context.Event(), context.Event()
    reference = context.Process(target=_passthrough, args=(bootstrap, ref_in, ref_out, ref_ready, ref_stop))
    reference.start()
    latencies: dict[str, list[float]] = {"pipeline": [], "reference": []}
    try:
        _wait_for_worker(consumer, producer, names(Topic.CANDLES), partition_of, live[0], worker, log_path)
        if not ref_ready.wait(60):
            raise SystemExit("the reference consumer got no partitions")
        for candle in live[1:]:
            for label, topic in (("pipeline", names(Topic.CANDLES)), ("reference", ref_in)):
                time.sleep(gap_s)
                produced_at = time.time()
                for name in names_of:
                    payload = candle.model_copy(update={"symbol": name}).to_json_bytes()
                    producer.produce(topic, key=name.encode(), value=payload, partition=partition_of[name])
                producer.flush(30)
                arrived = _collect(consumer, candle.open_time_ms, symbols, timeout=60)
                latencies[label] += [at - produced_at for at in arrived]
                print(
                    f"  round {candle.open_time_ms} {label:>9}: {len(arrived):,} messages, "
                    f"max {max(arrived) - produced_at:.3f} s"
                )
    finally:
        ref_stop.set()
        reference.join(30)
        consumer.close()
        worker.terminate()
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
        kept = ROOT / ".local" / "bench-feature-worker.log"
        kept.parent.mkdir(exist_ok=True)
        kept.write_bytes(log_path.read_bytes())
    print(f"{'path':<38} {'samples':>8} {'p50 s':>8} {'p99 s':>8} {'max s':>8}")
    figures = {}
    for label, title in (("reference", "reference: bare consume -> produce"),
                         ("pipeline", "feature pipeline: candle -> vector")):
        values = np.array(latencies[label])
        figures[label] = np.percentile(values, 50), np.percentile(values, 99)
        print(f"{title:<38} {len(values):>8,} {figures[label][0]:>8.3f} {figures[label][1]:>8.3f} "
              f"{values.max():>8.3f}")
    p99 = figures["pipeline"][1]
    print(f"pipeline p99 = {p99 / figures['reference'][1]:.1f}x the reference's, "
          f"{p99 / P99_TARGET_S:.2f}x the 1 s target ({'met' if p99 < P99_TARGET_S else 'NOT met'})")


def _wait_for_worker(consumer, producer, topic, partition_of, candle, worker, log_path) -> None:  # noqa: ANN001
    """Send the first round and wait until its vectors come back: the worker is up and warm."""
    for name, partition in partition_of.items():
        producer.produce(
            topic,
            key=name.encode(),
            partition=partition,
            value=candle.model_copy(update={"symbol": name}).to_json_bytes(),
        )
    producer.flush(30)
    deadline = time.monotonic() + 240
    seen = 0
    while seen < len(partition_of) and time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"worker exited:\n{log_path.read_text()[-3000:]}")
        seen += len(_collect(consumer, candle.open_time_ms, len(partition_of) - seen, timeout=5))
    if seen < len(partition_of):
        raise SystemExit(
            f"warm-up round incomplete ({seen} vectors), worker log in .local/bench-feature-worker.log"
        )


def _collect(consumer: Consumer, open_time_ms: int, expected: int, timeout: float) -> list[float]:
    """Arrival times of the messages (vectors, or reference candles) for ``open_time_ms``."""
    arrived: list[float] = []
    deadline = time.monotonic() + timeout
    while len(arrived) < expected and time.monotonic() < deadline:
        for message in consumer.consume(1000, 0.2):
            if message.error():
                continue
            at = time.time()
            fields = json.loads(message.value())
            if fields.get("timestamp_ms", fields.get("open_time_ms")) == open_time_ms:
                arrived.append(at)
    return arrived


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--symbols", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--round-gap",
        type=float,
        default=3.0,
        help="seconds between rounds (windows close every minute in production)",
    )
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--skip-stream", action="store_true")
    parser.add_argument("--log-level", default="WARNING", help="the worker's LOG_LEVEL")
    args = parser.parse_args()
    if not KLINES.is_dir():
        raise SystemExit(f"kline sample files not found under {KLINES}")
    with tempfile.TemporaryDirectory(prefix="bench-features-") as folder:
        work = Path(folder)
        if not args.skip_backfill:
            bench_backfill(args.redis_url, work)
        if not args.skip_stream:
            bench_streaming(
                args.bootstrap,
                args.redis_url,
                args.symbols,
                args.rounds + 1,
                args.round_gap,
                work,
                args.log_level,
            )


if __name__ == "__main__":
    main()
