"""Many symbols at once: the streaming stages' CPU and memory, and close-to-prediction latency, at 1, 20 and
100 symbols, side by side in one run.

For each symbol count, on a fresh topic and key prefix of the real broker and Redis, the candle builder,
the feature pipeline and inference run as their own processes (``python -m candle_builder run``,
``feature_pipeline stream``, ``inference run``), as ``make up`` runs them:

* 24 hours and a bit of sparse labelled synthetic history per symbol are fed first (the feature set's
  longest lookback), so every symbol has feature vectors from its first live candle;
* then every symbol trades in real time (a few trades a second each, labelled synthetic) and, once every
  symbol has a prediction, ``--minutes`` whole minutes are measured:
  - CPU: seconds of CPU the three processes used per second of wall clock (1.0 = one core busy);
  - memory: their resident set sizes summed, at the end of the measured minutes;
  - latency: the moment a candle's prediction is first seen in Redis - the end of its window (the
    candle builder's 2 s grace included, by design).

Figures are printed as measured and as ratios to the 1-symbol run. No champion is registered: inference
serves the persistence baseline (the model call is bench_inference's subject).

    uv run python bench/bench_symbols.py [--counts 1,20,100] [--minutes 2]

Needs Kafka and Redis: KAFKA_BOOTSTRAP_SERVERS and REDIS_URL (defaults 127.0.0.1:9092, :6379).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_end_to_end import ProbeFeed, RedisWatch, feed_history_then_live, measure, summary  # noqa: E402
from support.services import ServiceProcess, Stack, wait_until  # noqa: E402
from tickcast.kafka import ensure_topics  # noqa: E402
from tickcast.redis_keys import RedisKeys  # noqa: E402
from tickcast.settings import KafkaSettings  # noqa: E402
from tickcast.topics import Topic, TopicNames  # noqa: E402

PARTITIONS = 3


@dataclass
class Figures:
    symbols: int
    cpu_cores: float  # CPU seconds per wall second, the three services together
    rss_mib: float
    latencies: np.ndarray
    warm_up_s: float  # from the first history trade to a prediction for every symbol


def cpu_seconds(services: list[ServiceProcess]) -> float:
    total = 0.0
    for service in services:
        process = psutil.Process(service.pid)
        for member in [process, *process.children(recursive=True)]:
            times = member.cpu_times()
            total += times.user + times.system
    return total


def run(count: int, minutes: int) -> Figures:
    namespace = f"bench-sym-{count}-{uuid.uuid4().hex[:6]}-"
    os.environ.update(KAFKA_TOPIC_PREFIX=namespace, KAFKA_PARTITIONS=str(PARTITIONS), REDIS_KEY_PREFIX=namespace)
    settings = KafkaSettings()
    topics = TopicNames(settings)
    ensure_topics(settings, topics.specs())
    symbols = [f"S{index:03d}USDT" for index in range(count)]
    with tempfile.TemporaryDirectory(prefix="bench-symbols-") as workdir:
        stack = Stack(Path(workdir), namespace, LOG_LEVEL="WARNING", INFERENCE_LOG_LEVEL="WARNING")
        services = [stack.candle_builder(), stack.feature_pipeline(), stack.inference()]
        watch = RedisWatch(os.environ["REDIS_URL"], RedisKeys(namespace), symbols)
        feed: ProbeFeed | None = None
        try:
            for service in services:
                service.start()
            started = time.monotonic()
            feed = feed_history_then_live(settings, topics(Topic.TRADES), symbols, f"{count} symbols")
            wait_until(lambda: len({symbol for symbol, _ in watch.seen}) >= count, 1800,
                       f"a prediction for each of {count} symbols", services, poll=1)
            warm_up_s = time.monotonic() - started
            cpu_before, wall_before = cpu_seconds(services), time.monotonic()
            latencies = measure(watch, minutes, f"{count} symbols")
            cpu = (cpu_seconds(services) - cpu_before) / (time.monotonic() - wall_before)
            rss = sum(service.rss_bytes() for service in services) / 2**20
        finally:
            if feed is not None:
                feed.stop()
            watch.close()
            for service in reversed(services):
                service.stop()
    return Figures(count, cpu, rss, latencies, warm_up_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="1,20,100", help="Comma-separated symbol counts; the first is the reference.")
    parser.add_argument("--minutes", type=int, default=2, help="Measured minutes (windows) per symbol count.")
    args = parser.parse_args()
    os.environ.setdefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    counts = [int(part) for part in args.counts.split(",") if part.strip()]

    results = [run(count, args.minutes) for count in counts]

    reference = results[0]
    ref_p50 = summary(reference.latencies)[0]
    print("\n## Many symbols: the streaming stages at 1, 20 and 100 symbols\n")
    print(f"Candle builder, feature pipeline and inference (persistence baseline), each its own process, real "
          f"broker and Redis; every symbol trades in real time; {args.minutes} measured minutes per row. CPU is "
          "cores busy (CPU seconds per wall second, the three together); latency is window end to prediction "
          "in Redis (2 s candle grace included). Ratios are to the first row, measured in the same run.\n")
    print("| symbols | CPU cores | x | RSS MiB | x | windows | p50 s | x | p99 s | max s | warm-up s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for figures in results:
        p50, p99, top = summary(figures.latencies)
        print(f"| {figures.symbols} | {figures.cpu_cores:.2f} | {figures.cpu_cores / reference.cpu_cores:.1f}x "
              f"| {figures.rss_mib:.0f} | {figures.rss_mib / reference.rss_mib:.2f}x | {len(figures.latencies)} "
              f"| {p50:.2f} | {p50 / ref_p50:.2f}x | {p99:.2f} | {top:.2f} | {figures.warm_up_s:.0f} |")


if __name__ == "__main__":
    main()
