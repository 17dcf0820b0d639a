"""Trade producer throughput: ``replay --speed max`` against a bare confluent-kafka producer.

Both run in one process against the same broker, with the same producer
configuration, into fresh topics. The bare producer sends the exact bytes the
replay produced (pre-serialised, no parsing, no checks), so the ratio shows what
reading, validating, deduplicating and encoding cost on top of Kafka itself.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 uv run python bench/bench_trade_producer.py --trades 1000000

Prints trades/s for each and replay/bare per round (after one uncounted warm-up round,
alternating which side goes first), then the medians. Target: replay >= 100,000 trades/s,
ratio >= 0.5. On a shared machine the per-round ratio is noisy: use the medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from tickcast.kafka import ensure_topics, producer_config
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames, TopicSpec
from trade_producer.columns import columns_from_block
from tickcast.binance_files.dump_files import discover, read_blocks
from trade_producer.encoding import encode_trades
from trade_producer.replay import replay, wanted_spaces
from trade_producer.sink import TradeSink
from trade_producer.topic_tail import read_high_water_marks


def write_dump(folder: Path, trades: int, seed: int = 7) -> Path:
    """A BTCUSDT trades dump file shaped like Binance's (8-decimal prices and sizes)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(536_837_317, 536_837_317 + trades)
    price = np.round(29_000 * np.exp(np.cumsum(rng.normal(0, 2e-5, trades))), 2)
    qty = np.round(rng.exponential(0.05, trades), 6) + 1e-6
    quote = price * qty
    times = 1_609_462_631_341 + np.cumsum(rng.integers(0, 40, trades))
    maker = np.where(rng.random(trades) < 0.5, "True", "False")
    path = folder / "BTCUSDT-trades-2021-01-01.csv"
    with path.open("w") as out:
        for row in zip(ids, price, qty, quote, times, maker, strict=True):
            out.write(f"{row[0]},{row[1]:.8f},{row[2]:.8f},{row[3]:.8f},{row[4]},{row[5]},True\n")
    return path


def run_replay(settings: KafkaSettings, path: Path) -> tuple[float, int]:
    """What ``python -m trade_producer replay PATH --speed max`` does, timed to the last ack."""
    topic = TopicNames(settings)(Topic.TRADES)
    started = time.perf_counter()
    dumps = discover(path)
    sink = TradeSink.for_bulk(settings, topic, read_high_water_marks(settings, topic, wanted_spaces(dumps)))
    replay(dumps, sink, speed=None, stop=threading.Event(), progress=False)
    sink.flush()
    return time.perf_counter() - started, sink.produced


def run_bare(settings: KafkaSettings, topic: str, values: list[bytes]) -> float:
    producer = Producer(producer_config(settings))
    produce, poll = producer.produce, producer.poll
    started = time.perf_counter()
    for value in values:
        while True:
            try:
                produce(topic, value, b"BTCUSDT")
                break
            except BufferError:
                poll(0.05)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - started
    assert remaining == 0, f"bare producer left {remaining} undelivered"
    return elapsed


def measure_replay(settings: KafkaSettings, path: Path, trades: int) -> float:
    seconds, produced = run_replay(settings, path)
    assert produced == trades, f"replay produced {produced}, expected {trades}"
    return produced / seconds


def measure_bare(settings: KafkaSettings, topic: str, values: list[bytes]) -> float:
    return len(values) / run_bare(settings, topic, values)


def serialised(path: Path) -> list[bytes]:
    dump = discover(path)[0]
    values: list[bytes] = []
    for block in read_blocks(dump):
        columns, _ = columns_from_block(block, dump.kind)
        values += encode_trades(dump.symbol, "replay", columns)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trades", type=int, default=1_000_000, help="rows in the generated dump file")
    parser.add_argument(
        "--rounds", type=int, default=5, help="measured rounds after a warm-up; medians are printed"
    )
    args = parser.parse_args()

    base = KafkaSettings()
    admin = AdminClient(base.client_config())
    created: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        print(f"writing a {args.trades:,}-trade dump file ...", flush=True)
        path = write_dump(Path(folder), args.trades)
        values = serialised(path)
        replay_rates, bare_rates = [], []
        # Round 0 warms up both paths (imports, connections, page cache) and is not counted;
        # the order alternates so neither side always runs on a fresher broker.
        for round_number in range(args.rounds + 1):
            settings = base.model_copy(
                update={"topic_prefix": f"bench-{uuid.uuid4().hex[:8]}-", "partitions": 3}
            )
            replay_topic = TopicNames(settings)(Topic.TRADES)
            bare_topic = f"{settings.topic_prefix}bare"
            specs = [TopicSpec(name, 3, settings.replication_factor) for name in (replay_topic, bare_topic)]
            ensure_topics(settings, specs)
            created += [replay_topic, bare_topic]

            if round_number % 2:
                replay_rate = measure_replay(settings, path, args.trades)
                bare_rate = measure_bare(settings, bare_topic, values)
            else:
                bare_rate = measure_bare(settings, bare_topic, values)
                replay_rate = measure_replay(settings, path, args.trades)
            label = "warm-up" if round_number == 0 else f"round {round_number}"
            print(
                f"{label:>8}: replay {replay_rate:>10,.0f} trades/s | "
                f"bare producer {bare_rate:>10,.0f} msgs/s | ratio {replay_rate / bare_rate:.2f}",
                flush=True,
            )
            if round_number:
                replay_rates.append(replay_rate)
                bare_rates.append(bare_rate)
    for future in admin.delete_topics(created, operation_timeout=30).values():
        future.result()
    replay_rate, bare_rate = statistics.median(replay_rates), statistics.median(bare_rates)
    print()
    print(f"{'':24}{'trades/s':>12}")
    print(f"{'replay --speed max':24}{replay_rate:>12,.0f}")
    print(f"{'bare confluent-kafka':24}{bare_rate:>12,.0f}")
    ratio = statistics.median(r / b for r, b in zip(replay_rates, bare_rates, strict=True))
    print(f"{'ratio replay/bare':24}{ratio:>12.2f}   (median of rounds; target >= 0.50, replay >= 100,000/s)")


if __name__ == "__main__":
    main()
