"""Candle frames: candles as a pandas frame with the columns of :class:`Candle` that carry data.

Kline files, REST klines and the feature code all meet in this shape.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from tickcast.contracts import Candle, DataSource

# The columns of a candle frame: the fields of :class:`Candle` that carry data.
CANDLE_COLUMNS = (
    "symbol",
    "interval",
    "open_time_ms",
    "close_time_ms",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trade_count",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "vwap",
    "is_gap_fill",
)


def empty_candle_frame() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=_dtype(column)) for column in CANDLE_COLUMNS})


def frame_to_candles(frame: pd.DataFrame, source: DataSource = "binance") -> list[Candle]:
    """Candle frame rows -> validated :class:`Candle` objects (raises on an invalid row).

    A frame's own ``source`` column wins; otherwise every candle gets ``source`` (kline files and
    REST klines are the exchange's own data).
    """
    columns = [*CANDLE_COLUMNS, "source"] if "source" in frame.columns else list(CANDLE_COLUMNS)
    records = frame.loc[:, columns].to_dict("records")
    return [Candle(**{"source": source, **_python_types(record)}) for record in records]


def candles_to_frame(candles: Iterable[Candle]) -> pd.DataFrame:
    """:class:`Candle` objects -> candle frame, in the given order."""
    rows = [candle.model_dump(include=set(CANDLE_COLUMNS)) for candle in candles]
    if not rows:
        return empty_candle_frame()
    return pd.DataFrame(rows, columns=list(CANDLE_COLUMNS)).astype({c: _dtype(c) for c in CANDLE_COLUMNS})


def _dtype(column: str) -> str:
    if column in ("symbol", "interval"):
        return "object"
    if column in ("open_time_ms", "close_time_ms", "trade_count"):
        return "int64"
    if column == "is_gap_fill":
        return "bool"
    return "float64"


def _python_types(record: dict[str, object]) -> dict[str, object]:
    # numpy scalars -> Python scalars, which pydantic's strict fields accept.
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in record.items()}
