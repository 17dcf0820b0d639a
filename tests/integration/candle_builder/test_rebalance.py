"""A second replica joining mid-stream changes nothing in the candles."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from candle_builder.aggregate import build_candles
from integration.candle_builder.harness import (
    CandleBuilderProcess,
    committed_trade_offsets,
    produce_trades,
    read_candles,
    synthetic_trades,
    wait_for,
)
from tickcast.contracts import Candle, Trade
from tickcast.kafka import CheckedProducer
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = pytest.mark.integration

START_MS = 1_704_070_800_000  # 2024-01-01 01:00 UTC
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "TRXUSDT"]
ENV = {"CANDLE_INTERVALS": "1m,5m", "CANDLE_GRACE_MS": "2000"}


def assert_same_candles(got: list[Candle], expected: list[Candle]) -> None:
    keys = [(c.symbol, c.interval, c.open_time_ms) for c in got]
    assert len(keys) == len(set(keys)), "a candle was repeated"
    order = {"1m": 0, "5m": 1}
    assert sorted(got, key=lambda c: (c.symbol, order[c.interval], c.open_time_ms)) == expected


def test_second_replica_joining_mid_stream(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    trades = synthetic_trades(SYMBOLS, START_MS, minutes=10, per_minute=400, seed=12)
    expected = build_candles(trades, ["1m", "5m"])
    head, tail = trades[: len(trades) // 4], trades[len(trades) // 4 :]
    produce_trades(kafka_settings, head)
    group = f"{kafka_settings.topic_prefix}candle-builder"

    first = CandleBuilderProcess(tmp_path / "a", CANDLE_INSTANCE_ID="a", **ENV)
    second = CandleBuilderProcess(tmp_path / "b", CANDLE_INSTANCE_ID="b", **ENV)
    for service in (first, second):
        service.workdir.mkdir()
    # The rest of the stream keeps coming while the group rebalances.
    feeder = threading.Thread(target=produce_paced, args=(kafka_settings, tail, 10.0))
    first.start()
    try:
        wait_for(lambda: committed_trade_offsets(kafka_settings, group) > 0, 60, "a first commit", poll=0.02)
        feeder.start()
        second.start()  # the rebalance revokes partitions, and their open windows, from the first replica
        candles = read_candles(kafka_settings, expected=len(expected), timeout=90)
        first.assert_alive()
        second.assert_alive()
    finally:
        feeder.join()
        first.stop()
        second.stop()
    assert "partition loaded" in second.log_path.read_text(), "the second replica took over no partition"
    assert_same_candles(candles, expected)


def produce_paced(settings: KafkaSettings, trades: list[Trade], seconds: float) -> None:
    """Produce ``trades`` in order, spread over about ``seconds``."""
    producer = CheckedProducer(settings)
    topic = TopicNames(settings)(Topic.TRADES)
    chunk = max(1, len(trades) // int(seconds * 20))
    for start in range(0, len(trades), chunk):
        for trade in trades[start : start + chunk]:
            producer.send(topic, trade)
        producer.flush()
        time.sleep(0.05)
