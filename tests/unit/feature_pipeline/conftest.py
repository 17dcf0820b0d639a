"""Real Binance 1-minute klines for the feature tests (skipped when the shared data is absent)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from support.shared_data import BTCUSDT_1M_KLINES

from tickcast.binance_files.klines import read_kline_files

KLINES_DIR = BTCUSDT_1M_KLINES


@pytest.fixture(scope="session")
def klines_dir() -> Path:
    if not KLINES_DIR.is_dir():
        pytest.skip(f"real kline files not found under {KLINES_DIR} (shared sample data is not checked out)")
    return KLINES_DIR


@pytest.fixture(scope="session")
def kline_files(klines_dir: Path) -> Callable[[str], list[Path]]:
    def find(pattern: str) -> list[Path]:
        files = sorted(klines_dir.glob(pattern))
        if not files:
            pytest.skip(f"no real kline file matches {pattern} under {klines_dir}")
        return files

    return find


@pytest.fixture(scope="session")
def btc_week(kline_files: Callable[[str], list[Path]]) -> pd.DataFrame:
    """Seven days of real BTCUSDT 1m candles (2024-01-01 .. 2024-01-07)."""
    return read_kline_files(kline_files("BTCUSDT-1m-2024-01-0[1-7].zip"))
