"""Real exchange trades through the real broker and the service: candles equal the exchange's klines."""

from __future__ import annotations

from pathlib import Path

import pytest
from candle_builder.aggregate import build_candles
from tickcast.binance_files.klines import read_klines
from tickcast.binance_files.trades import read_trades
from integration.candle_builder.harness import produce_trades, read_candles, running
from tickcast.settings import KafkaSettings
from unit.candle_builder.samples import (
    COMPLETE_MINUTES,
    assert_matches_kline,
    binance_daily,
    complete_minutes,
)

pytestmark = pytest.mark.integration


def test_replayed_trade_files_give_the_exchange_klines(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    root = binance_daily()
    days = sorted(COMPLETE_MINUTES)
    trades = [
        trade
        for day in days
        for trade in read_trades(root / "trades" / "BTCUSDT" / f"BTCUSDT-trades-{day}.csv", "BTCUSDT")
    ]
    produce_trades(kafka_settings, trades)
    # The batch form decides how many candles the whole replay makes, gap fills between the days included.
    expected = build_candles(trades, "1m")

    with running(tmp_path, CANDLE_INTERVALS="1m", CANDLE_GRACE_MS="1000") as service:
        # The last minute has no later trade to close it: the idle clock has to.
        candles = read_candles(kafka_settings, expected=len(expected), timeout=60)
        service.assert_alive()

    assert candles == expected  # same candles, same order, once each
    by_minute = {candle.open_time_ms: candle for candle in candles}
    checked = 0
    for day in days:
        klines = read_klines(root / "klines" / "BTCUSDT" / "1m" / f"BTCUSDT-1m-{day}.zip")
        day_trades = [t for t in trades if t.timestamp_ms - t.timestamp_ms % 60_000 in klines]
        for minute in complete_minutes(day_trades, klines):
            assert_matches_kline(by_minute[minute], klines[minute])
            checked += 1
    assert checked == sum(COMPLETE_MINUTES.values())
    # Between the slices there were no trades: flat candles keep the series continuous.
    gaps = [candle for candle in candles if candle.is_gap_fill]
    assert gaps and all(candle.volume == 0 and candle.open == candle.close for candle in gaps)
    opens = [candle.open_time_ms for candle in candles]
    assert opens == list(range(opens[0], opens[-1] + 1, 60_000))
