"""Where historical candles come from: kline data-dump files, or the exchange's REST API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import structlog

from tickcast.binance_files.klines import (
    find_kline_files,
    klines_from_rows,
    klines_to_frame,
    read_kline_files,
)

log = structlog.get_logger(__name__)

# Days of candles loaded before a range so its first feature vectors are warm
# (a day of hourly closes for the hourly moving averages).
WARMUP_DAYS = 2


class CandleLoader(Protocol):
    def load(self, symbol: str, interval: str, start: date, end: date) -> pd.DataFrame:
        """Candle frame (``tickcast.candle_frames.CANDLE_COLUMNS``) for the UTC days ``start..end``."""
        ...


class DumpFileLoader:
    """Binance data-dump files (``SYMBOL-INTERVAL-YYYY-MM-DD.zip`` or monthly) anywhere under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def load(self, symbol: str, interval: str, start: date, end: date) -> pd.DataFrame:
        files = find_kline_files(self.root, symbol, interval, start, end)
        if not files:
            raise FileNotFoundError(
                f"no {symbol}-{interval}-* kline files for {start}..{end} under {self.root}"
            )
        frame = read_kline_files(files)
        return _within_days(frame, start, end)


class RestLoader:
    """The exchange's kline endpoint through python-binance (``get_historical_klines`` pages for us)."""

    def __init__(self, client: Any | None = None) -> None:
        if client is None:
            from binance.client import Client

            client = Client(ping=False)  # public endpoint: no key, no start-up round trip
        self.client = client

    def load(self, symbol: str, interval: str, start: date, end: date) -> pd.DataFrame:
        start_ms, end_ms = day_bounds_ms(start, end)
        rows = self.client.get_historical_klines(symbol, interval, start_ms, end_ms - 1)
        raw = klines_from_rows(rows)
        log.info("klines downloaded", symbol=symbol, interval=interval, rows=len(raw))
        return _within_days(klines_to_frame(raw, symbol, interval), start, end)


def make_loader(source: str, data_dir: Path | None) -> CandleLoader:
    if source == "files":
        if data_dir is None:
            raise ValueError("--data-dir is required with --source files")
        return DumpFileLoader(data_dir)
    if source == "rest":
        return RestLoader()
    raise ValueError(f"unknown source {source!r}: expected files or rest")


def day_bounds_ms(start: date, end: date) -> tuple[int, int]:
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    after = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    return int(first.timestamp() * 1000), int(after.timestamp() * 1000)


def _within_days(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    start_ms, end_ms = day_bounds_ms(start, end)
    times = frame["open_time_ms"]
    return frame[(times >= start_ms) & (times < end_ms)].reset_index(drop=True)
