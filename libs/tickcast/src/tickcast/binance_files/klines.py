"""Exchange kline files (Binance data-dump layout) as candle frames (:mod:`tickcast.candle_frames`).

A kline file is a CSV of 12 columns (``open_time, open, high, low, close, volume,
close_time, quote_volume, count, taker_buy_base_volume, taker_buy_quote_volume,
ignore``), alone or as the single member of a zip, with or without a header row.
Times come out as epoch milliseconds (:mod:`.timestamps`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tickcast.binance_files.archive import csv_rows, read_csv_bytes
from tickcast.binance_files.timestamps import epoch_ms, epoch_ms_array
from tickcast.candle_frames import empty_candle_frame
from tickcast.intervals import interval_ms

KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "ignore",
)

# The decimal columns: named alike in a raw kline and in a candle frame.
KLINE_DECIMAL_COLUMNS = (
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
)
_FILE_NAME = re.compile(
    r"^(?P<symbol>[A-Z0-9]+)-(?P<interval>\d+[smhdw])-(?P<period>\d{4}-\d{2}(?:-\d{2})?)\.(zip|csv)$"
)


def read_kline_file(path: Path | str, symbol: str | None = None, interval: str | None = None) -> pd.DataFrame:
    """One kline file (``.zip`` or ``.csv``) as a candle frame sorted by open time.

    ``symbol`` and ``interval`` default to those in a data-dump file name
    (``BTCUSDT-1m-2024-01-01.zip``).
    """
    path = Path(path)
    if symbol is None or interval is None:
        match = _FILE_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path.name}: pass symbol and interval, the name is not SYMBOL-INTERVAL-DATE")
        symbol = symbol or match["symbol"]
        interval = interval or match["interval"]
    raw = read_csv_bytes(path)
    return klines_to_frame(parse_kline_csv(raw), symbol, interval)


def read_kline_files(
    paths: Iterable[Path | str], symbol: str | None = None, interval: str | None = None
) -> pd.DataFrame:
    """Several kline files as one candle frame, sorted and without duplicate open times."""
    # Threads: unzipping and the C CSV parser release the GIL, and a year is 365 files.
    with ThreadPoolExecutor(max_workers=4) as pool:
        frames = list(pool.map(lambda path: read_kline_file(path, symbol, interval), paths))
    if not frames:
        return empty_candle_frame()
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.sort_values(["symbol", "interval", "open_time_ms"], kind="stable")
    return frame.drop_duplicates(["symbol", "interval", "open_time_ms"], keep="first").reset_index(drop=True)


def parse_kline_csv(raw: bytes) -> pd.DataFrame:
    """The 12 raw kline columns, with or without a header row; times converted to milliseconds."""
    first_line = raw.split(b"\n", 1)[0]
    has_header = not first_line[:1].isdigit()
    frame = pd.read_csv(
        io.BytesIO(raw),
        header=None,
        names=list(KLINE_COLUMNS),
        skiprows=1 if has_header else 0,
        dtype={"open_time": np.int64, "close_time": np.int64, "count": np.int64},
    )
    for column in ("open_time", "close_time"):
        frame[column] = epoch_ms_array(frame[column].to_numpy(np.int64))
    return frame


def klines_from_rows(rows: list[list[Any]]) -> pd.DataFrame:
    """Kline rows as the REST API returns them (the files' 12 columns, decimals as text), typed."""
    raw = pd.DataFrame(rows, columns=list(KLINE_COLUMNS))
    types = {"open_time": "int64", "close_time": "int64", "count": "int64"}
    return raw.astype({**types, **dict.fromkeys(KLINE_DECIMAL_COLUMNS, "float64")})


def klines_to_frame(klines: pd.DataFrame, symbol: str, interval: str) -> pd.DataFrame:
    """Raw kline columns -> candle frame (:data:`tickcast.candle_frames.CANDLE_COLUMNS`).

    A kline without trades is a gap-fill candle, as the candle builder makes them;
    its VWAP is its close (there is no traded volume to average over).
    """
    span = interval_ms(interval)
    volume = klines["volume"].to_numpy(np.float64)
    quote_volume = klines["quote_volume"].to_numpy(np.float64)
    close = klines["close"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = np.where(volume > 0, quote_volume / volume, close)
    open_time = klines["open_time"].to_numpy(np.int64)
    frame = pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "open_time_ms": open_time,
            "close_time_ms": open_time + span - 1,
            "open": klines["open"].to_numpy(np.float64),
            "high": klines["high"].to_numpy(np.float64),
            "low": klines["low"].to_numpy(np.float64),
            "close": close,
            "volume": volume,
            "quote_volume": quote_volume,
            "trade_count": klines["count"].to_numpy(np.int64),
            "taker_buy_base_volume": klines["taker_buy_base_volume"].to_numpy(np.float64),
            "taker_buy_quote_volume": klines["taker_buy_quote_volume"].to_numpy(np.float64),
            "vwap": vwap,
            "is_gap_fill": klines["count"].to_numpy(np.int64) == 0,
        }
    )
    return frame.sort_values("open_time_ms", kind="stable").reset_index(drop=True)


def find_kline_files(root: Path | str, symbol: str, interval: str, start: date, end: date) -> list[Path]:
    """Data-dump files of ``symbol``/``interval`` anywhere under ``root`` covering days ``start..end``.

    Daily files (``...-YYYY-MM-DD``) and monthly files (``...-YYYY-MM``) both count; when a
    day is in both, the frame reader drops the duplicate candles.
    """
    found: list[Path] = []
    for path in sorted(Path(root).rglob(f"{symbol}-{interval}-*")):
        match = _FILE_NAME.match(path.name)
        if not match or match["symbol"] != symbol or match["interval"] != interval:
            continue
        period = match["period"]
        if len(period) == 10:
            day = date.fromisoformat(period)
            if start <= day <= end:
                found.append(path)
        else:
            month_start = date.fromisoformat(period + "-01")
            if (month_start.year, month_start.month) >= (start.year, start.month) and month_start <= end:
                found.append(path)
    return found


KLINE_FIELDS = (
    "open_time_ms",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time_ms",
    "quote_volume",
    "trade_count",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
)


def read_klines(path: Path) -> dict[int, dict[str, float | int]]:
    """The exchange's klines of a dump file (12 columns), by open time; for comparing candles."""
    klines: dict[int, dict[str, float | int]] = {}
    for row in csv_rows(path):
        if not row or not row[0].strip().isdigit():
            continue
        values = dict(zip(KLINE_FIELDS, row[:11], strict=True))
        kline: dict[str, float | int] = {
            name: epoch_ms(int(text))
            if name.endswith("_ms")
            else int(text)
            if name == "trade_count"
            else float(text)
            for name, text in values.items()
        }
        klines[int(kline["open_time_ms"])] = kline
    return klines
