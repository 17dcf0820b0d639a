"""The synthetic command: labelled, loud, and identical for the same seed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from support.kafka import Record
from tickcast.contracts import Trade
from tickcast.kafka import ensure_topics
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames
from trade_producer.encoding import encode_trades
from trade_producer.synthetic import SyntheticTrades
from trade_producer.synthetic_feed import START_PRICES

from .conftest import ROOT, read_topic, run_cli

pytestmark = pytest.mark.integration


def _values_by_symbol(records: list[Record]) -> dict[bytes | None, list[bytes]]:
    by_symbol: dict[bytes | None, list[bytes]] = {}
    for record in records:
        by_symbol.setdefault(record.key, []).append(record.value)
    return by_symbol


def test_same_seed_gives_identical_messages_all_labelled_synthetic(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    args = ("synthetic", "--symbols", "BTCUSDT,ETHUSDT", "--seed", "5", "--trades", "3000", "--no-progress")
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert "warning" in first.stderr.lower() and "NOT REAL" in first.stderr

    other = kafka_settings.model_copy(update={"topic_prefix": kafka_settings.topic_prefix + "again-"})
    ensure_topics(other, TopicNames(other).specs())
    second = run_cli(*args, env={"KAFKA_TOPIC_PREFIX": other.topic_prefix})
    assert second.returncode == 0, second.stderr

    first_records = read_topic(kafka_settings, topics(Topic.TRADES), expected=6000)
    second_records = read_topic(other, TopicNames(other)(Topic.TRADES), expected=6000)
    assert _values_by_symbol(first_records) == _values_by_symbol(second_records)
    assert all(len(values) == 3000 for values in _values_by_symbol(first_records).values())
    trades = [Trade.parse(record.value) for record in first_records]
    assert {trade.source for trade in trades} == {"synthetic"}


def test_paced_run_sends_the_same_trades_as_the_generator(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    # About 3 s of synthetic market time at 5x: the paced path really waits between slices.
    args = ("synthetic", "--symbols", "BTCUSDT,SOLUSDT", "--seed", "3", "--trades", "50", "--speed", "5")
    result = run_cli(*args, "--start", "2024-03-01T00:00:00Z", "--no-progress")
    assert result.returncode == 0, result.stderr

    start_ms = 1_709_251_200_000
    expected = {
        symbol.encode(): encode_trades(
            symbol, "synthetic", SyntheticTrades(symbol, 3, start_ms, START_PRICES[symbol]).next_block(50)
        )
        for symbol in ("BTCUSDT", "SOLUSDT")
    }
    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=100)
    assert _values_by_symbol(records) == expected


def test_max_speed_interleaves_symbols_by_event_time_in_every_partition(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    # More symbols than partitions, and more trades than one generator block (2,000): symbols share
    # partitions, and a block-by-block producer would send one symbol's later trades before another's.
    symbols = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT")
    per_symbol = 4_500
    args = ("synthetic", "--symbols", ",".join(symbols), "--seed", "11", "--trades", str(per_symbol))
    result = run_cli(*args, "--speed", "max", "--no-progress")
    assert result.returncode == 0, result.stderr

    records = read_topic(kafka_settings, topics(Topic.TRADES), expected=per_symbol * len(symbols))
    assert len(records) == per_symbol * len(symbols)
    by_partition: dict[int, list[Record]] = {}
    for record in records:
        by_partition.setdefault(record.partition, []).append(record)
    assert any(len({record.key for record in part}) > 1 for part in by_partition.values()), (
        "no partition holds two symbols: the test would not show interleaving"
    )
    for partition, part in by_partition.items():
        part.sort(key=lambda record: record.offset)
        times = [Trade.parse(record.value).timestamp_ms for record in part]
        backwards = sum(1 for before, after in zip(times, times[1:]) if after < before)
        assert backwards == 0, f"partition {partition}: event time went backwards {backwards} times"


def _start_feed(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "trade_producer", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=dict(os.environ), cwd=ROOT,
    )


def _trades_on(settings: KafkaSettings, topic: str) -> list[Trade]:
    return [Trade.parse(record.value) for record in read_topic(settings, topic, timeout=10, idle=1.0)]


def test_an_endless_feed_killed_and_started_again_resumes_after_its_last_trade(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    """The feed of `make up`: a restart continues ids, time and price, and trades flow again at once."""
    args = ("synthetic", "--symbols", "BTCUSDT", "--trades", "0", "--start", "now-10m", "--speed", "live",
            "--no-progress")
    topic = topics(Topic.TRADES)
    feed = _start_feed(*args)
    try:
        deadline = time.monotonic() + 60
        before: list[Trade] = []
        while time.monotonic() < deadline and (not before or before[-1].timestamp_ms < time.time() * 1000 - 5_000):
            time.sleep(1.0)  # until the ten minutes of history are out and the feed runs in real time
            before = _trades_on(kafka_settings, topic)
    finally:
        feed.kill()  # kill -9: no goodbye, no flush
        feed.wait()
    before = _trades_on(kafka_settings, topic)
    assert before, "the feed sent nothing"
    last = max(before, key=lambda trade: trade.trade_id)

    restarted_at = time.time()
    feed = _start_feed(*args)
    try:
        deadline = time.monotonic() + 60
        after: list[Trade] = []
        while time.monotonic() < deadline and not any(t.trade_id > last.trade_id for t in after):
            time.sleep(0.5)
            after = _trades_on(kafka_settings, topic)
        first_new = time.time()
        time.sleep(3.0)
    finally:
        feed.terminate()
        _, stderr = feed.communicate(timeout=60)
    print(f"\nfirst new trade on the topic {first_new - restarted_at:.1f} s after the restart "
          "(process start, imports and the topic's tail included)")
    assert "synthetic feed resumes after the last trade on the topic" in stderr

    trades = _trades_on(kafka_settings, topic)
    ids = [trade.trade_id for trade in trades]
    # Every id once, none missing: the restart neither repeated nor skipped a trade id.
    assert ids == list(range(1, len(ids) + 1))
    resumed = [trade for trade in trades if trade.trade_id > last.trade_id]
    assert len(resumed) > 5, "the feed did not resume"
    # On from the wall clock of the restart, not from `now-10m` again; the price goes on from the last one.
    assert resumed[0].timestamp_ms >= max(last.timestamp_ms, int(restarted_at * 1000) - 1_000)
    assert abs(resumed[0].price / last.price - 1) < 0.01
    assert all(later.timestamp_ms >= earlier.timestamp_ms for earlier, later in zip(trades, trades[1:]))
