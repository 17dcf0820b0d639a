"""Fixtures for the trade producer's logic tests: real Binance dump rows when available."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.shared_data import real_trade_files

@pytest.fixture(name="real_trade_files")
def real_trade_files_fixture() -> list[Path]:
    return real_trade_files()
