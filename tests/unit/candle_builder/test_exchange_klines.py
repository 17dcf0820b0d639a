"""Candles built from the exchange's own trade files equal the exchange's klines, field by field."""

from __future__ import annotations

from pathlib import Path

import pytest
from candle_builder.aggregate import build_candles
from tickcast.binance_files.klines import read_klines
from tickcast.binance_files.trades import read_trades
from tickcast.contracts import Trade
from unit.candle_builder.samples import (
    COMPLETE_MINUTES,
    assert_matches_kline,
    binance_daily,
    complete_minutes,
)


def aggregate(trades: list[Trade]) -> list[Trade]:
    """Aggregate trades as the exchange does: runs with one time, price and taker side."""
    runs: list[list[Trade]] = []
    for trade in trades:
        last = runs[-1][-1] if runs else None
        same = last and (last.timestamp_ms, last.price, last.is_buyer_maker) == (
            trade.timestamp_ms,
            trade.price,
            trade.is_buyer_maker,
        )
        if same:
            runs[-1].append(trade)
        else:
            runs.append([trade])
    return [
        Trade(
            symbol=run[0].symbol,
            trade_id=index,
            price=run[0].price,
            quantity=sum(t.quantity for t in run),
            quote_quantity=run[0].price * sum(t.quantity for t in run),
            timestamp_ms=run[0].timestamp_ms,
            is_buyer_maker=run[0].is_buyer_maker,
            source="replay",
            first_trade_id=run[0].trade_id,
            last_trade_id=run[-1].trade_id,
        )
        for index, run in enumerate(runs, start=1)
    ]


def _files(day: str) -> tuple[Path, Path]:
    root = binance_daily()
    return (
        root / "trades" / "BTCUSDT" / f"BTCUSDT-trades-{day}.csv",
        root / "klines" / "BTCUSDT" / "1m" / f"BTCUSDT-1m-{day}.zip",
    )


@pytest.mark.parametrize("day", sorted(COMPLETE_MINUTES))
def test_candles_of_complete_minutes_equal_the_klines(day: str) -> None:
    trades_file, klines_file = _files(day)
    trades = list(read_trades(trades_file, "BTCUSDT"))
    klines = read_klines(klines_file)
    minutes = complete_minutes(trades, klines)
    assert len(minutes) == COMPLETE_MINUTES[day]

    candles = {candle.open_time_ms: candle for candle in build_candles(trades, "1m")}
    for minute in minutes:
        assert_matches_kline(candles[minute], klines[minute])
        assert candles[minute].first_trade_id == min(
            t.trade_id for t in trades if t.timestamp_ms // 60_000 * 60_000 == minute
        )


@pytest.mark.parametrize("day", sorted(COMPLETE_MINUTES))
def test_aggregate_trades_give_the_same_klines(day: str) -> None:
    trades_file, klines_file = _files(day)
    trades = list(read_trades(trades_file, "BTCUSDT"))
    klines = read_klines(klines_file)
    aggregated = aggregate(trades)
    assert len(aggregated) < len(trades)  # the file really has runs to aggregate

    candles = {candle.open_time_ms: candle for candle in build_candles(aggregated, "1m")}
    for minute in complete_minutes(trades, klines):
        assert_matches_kline(candles[minute], klines[minute])
