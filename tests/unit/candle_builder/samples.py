"""Trades for the candle builder's tests, and where the shared exchange files are."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from tickcast.contracts import Trade

SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
BINANCE_DAILY = SHARED_DATA / "binance" / "spot" / "daily"

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
        source="synthetic",
        **extra,  # type: ignore[arg-type]
    )


def binance_daily() -> Path:
    """The exchange sample files, or skip the test: ../shared is optional."""
    if not BINANCE_DAILY.is_dir():
        pytest.skip(f"exchange sample files not found at {BINANCE_DAILY} (the ../shared folder is optional)")
    return BINANCE_DAILY
