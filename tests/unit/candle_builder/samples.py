"""Trades for the candle builder's tests, and where the shared exchange files are."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from pathlib import Path

import pytest
from support.shared_data import BINANCE_DAILY
from tickcast.binance_files.klines import KLINE_DECIMAL_COLUMNS
from tickcast.contracts import Candle, Trade


T0 = 1_609_545_600_000  # 2021-01-02 00:00:00 UTC, a minute (and hour) boundary
MINUTE = 60_000

_ids = itertools.count(1_000_000)


def make_trade(
    ts: int,
    price: float = 100.0,
    quantity: float = 1.0,
    symbol: str = "BTCUSDT",
    buyer_maker: bool = False,
    trade_id: int | None = None,
    **extra: object,
) -> Trade:
    """A trade with sensible defaults; ids count up unless given."""
    return Trade(
        symbol=symbol,
        trade_id=next(_ids) if trade_id is None else trade_id,
        price=price,
        quantity=quantity,
        quote_quantity=price * quantity,
        timestamp_ms=ts,
        is_buyer_maker=buyer_maker,
        **{"source": "synthetic", **extra},  # type: ignore[arg-type]
    )


def binance_daily() -> Path:
    """The exchange sample files, or skip the test: ../shared is optional."""
    if not BINANCE_DAILY.is_dir():
        pytest.skip(f"exchange sample files not found at {BINANCE_DAILY} (the ../shared folder is optional)")
    return BINANCE_DAILY


FLOAT_FIELDS = KLINE_DECIMAL_COLUMNS
# Complete minutes per file, as listed in the data folder's README.
COMPLETE_MINUTES = {"2021-01-01": 2, "2021-01-02": 3, "2021-01-03": 1}


def complete_minutes(trades: list[Trade], klines: dict[int, dict[str, float | int]]) -> list[int]:
    """Minutes whose every trade is in the file: the kline's count equals the rows held."""
    held = Counter(trade.timestamp_ms - trade.timestamp_ms % 60_000 for trade in trades)
    return sorted(minute for minute, count in held.items() if klines[minute]["trade_count"] == count)


def assert_matches_kline(candle: Candle, kline: dict[str, float | int]) -> None:
    assert candle.close_time_ms == kline["close_time_ms"]
    assert candle.trade_count == kline["trade_count"]
    for name in FLOAT_FIELDS:
        got, want = getattr(candle, name), kline[name]
        assert math.isclose(got, want, rel_tol=1e-9), f"{name} of {candle.open_time_ms}: {got} != {want}"
