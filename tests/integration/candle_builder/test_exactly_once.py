"""SIGKILL, then SIGTERM, in the middle of a stream, restarts: the same candles as an uninterrupted run."""

from __future__ import annotations

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
from tickcast.settings import KafkaSettings

pytestmark = pytest.mark.integration

START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT"]


def test_sigkill_and_sigterm_mid_stream_lose_and_repeat_nothing(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # 20 whole minutes, so the last 1m and 5m windows end together and the idle clock closes both.
    trades = synthetic_trades(SYMBOLS, START_MS, minutes=20, per_minute=700)
    expected = build_candles(trades, ["1m", "5m"])
    assert len(expected) == len(SYMBOLS) * (20 + 4)
    total = produce_trades(kafka_settings, trades)

    group = f"{kafka_settings.topic_prefix}candle-builder"
    service = CandleBuilderProcess(tmp_path, CANDLE_INTERVALS="1m,5m", CANDLE_GRACE_MS="2000")
    service.start()
    try:
        # Kill as soon as the first checkpoint is committed: the service is mid-stream.
        wait_for(lambda: committed_trade_offsets(kafka_settings, group) > 0, 60, "a first commit", poll=0.02)
        service.kill()
        committed_at_kill = committed_trade_offsets(kafka_settings, group)
        assert 0 < committed_at_kill < total, "the kill must land in the middle of the stream"

        time.sleep(0.5)
        service.start()
        # Then a graceful stop as soon as the restarted service commits progress: its final
        # checkpoint must carry the open windows together with the offsets.
        wait_for(
            lambda: committed_trade_offsets(kafka_settings, group) > committed_at_kill,
            60,
            "progress",
            poll=0.02,
        )
        service.stop()
        committed_at_stop = committed_trade_offsets(kafka_settings, group)
        assert committed_at_kill < committed_at_stop < total, "the stop must land in the middle of the stream"

        service.start()
        candles = read_candles(kafka_settings, expected=len(expected), timeout=90)
        service.assert_alive()
    finally:
        service.stop()

    keys = [(c.symbol, c.interval, c.open_time_ms) for c in candles]
    assert len(keys) == len(set(keys)), "a candle was repeated"
    order = {"1m": 0, "5m": 1}
    got = sorted(candles, key=lambda c: (c.symbol, order[c.interval], c.open_time_ms))
    assert got == expected
    # Per symbol and interval the topic holds the candles in time order.
    for symbol in SYMBOLS:
        for interval in order:
            opens = [c.open_time_ms for c in candles if (c.symbol, c.interval) == (symbol, interval)]
            assert opens == sorted(opens)
