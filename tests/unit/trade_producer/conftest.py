"""Fixtures for the trade producer's logic tests: real Binance dump rows when available."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_TRADES = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "binance" / "spot" / "daily" / "trades"
)


@pytest.fixture
def real_trade_files() -> list[Path]:
    """The sample BTCUSDT trades files of the shared data folder (skips when absent)."""
    files = sorted(SHARED_TRADES.glob("*/*-trades-*.csv"))
    if not files:
        pytest.skip(f"shared Binance sample data not found under {SHARED_TRADES.resolve()}")
    return files
