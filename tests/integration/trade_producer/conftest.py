"""Fixtures for the trade producer against the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SHARED_TRADES = ROOT / ".." / "shared" / "data" / "binance" / "spot" / "daily" / "trades"


@pytest.fixture
def real_trade_files() -> list[Path]:
    """The sample BTCUSDT trades files of the shared data folder (skips when absent)."""
    files = sorted(SHARED_TRADES.glob("*/*-trades-*.csv"))
    if not files:
        pytest.skip(f"shared Binance sample data not found under {SHARED_TRADES.resolve()}")
    return files


def run_cli(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m trade_producer ...`` in a subprocess, with this test's KAFKA_* environment."""
    return subprocess.run(
        [sys.executable, "-m", "trade_producer", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
