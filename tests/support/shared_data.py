"""Where the real Binance dumps sit: the shared data folder beside the repository.

Tests that read them skip when it is absent; running the project never needs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT / ".." / "shared" / "data"
SHARED_BINANCE = SHARED_DATA / "binance"  # what ``training --klines-dir`` and the dump loaders take
BINANCE_DAILY = SHARED_BINANCE / "spot" / "daily"
SHARED_TRADES = BINANCE_DAILY / "trades"
BTCUSDT_1M_KLINES = BINANCE_DAILY / "klines" / "BTCUSDT" / "1m"


def real_trade_files() -> list[Path]:
    """The sample BTCUSDT trades files of the shared data folder (skips the test when absent)."""
    files = sorted(SHARED_TRADES.glob("*/*-trades-*.csv"))
    if not files:
        pytest.skip(f"shared Binance sample data not found under {SHARED_TRADES.resolve()}")
    return files
