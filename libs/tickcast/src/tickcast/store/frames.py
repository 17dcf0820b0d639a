"""Feature vectors <-> feature frames (one row per vector, one column per feature)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tickcast.store.base import KEY_COLUMNS, META_COLUMNS
from tickcast.contracts import FeatureVector
from tickcast.features import FEATURE_NAMES


def vectors_to_frame(vectors: Sequence[FeatureVector]) -> pd.DataFrame:
    """Vectors as a frame with :data:`KEY_COLUMNS`, :data:`META_COLUMNS` and every feature.

    A vector of another feature-set version may lack some columns: they are NaN.
    """
    records = [
        {
            "symbol": vector.symbol,
            "interval": vector.interval,
            "timestamp_ms": vector.timestamp_ms,
            "feature_set_version": vector.feature_set_version,
            "close": np.nan if vector.close is None else vector.close,
            **vector.values,
        }
        for vector in vectors
    ]
    columns = [*KEY_COLUMNS, *META_COLUMNS, *FEATURE_NAMES]
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.astype(
        {"timestamp_ms": "int64", "close": "float64", **{name: "float64" for name in FEATURE_NAMES}}
    )


def frame_to_vectors(
    frame: pd.DataFrame, feature_names: Sequence[str] = FEATURE_NAMES
) -> list[FeatureVector]:
    """Rows of a feature frame as validated vectors (raises on a non-finite value)."""
    names = list(feature_names)
    values = frame[names].to_numpy(np.float64)
    closes = frame["close"].to_numpy(np.float64)
    return [
        FeatureVector(
            symbol=symbol,
            interval=interval,
            timestamp_ms=int(timestamp),
            feature_set_version=version,
            close=None if np.isnan(close) else float(close),
            values=dict(zip(names, row.tolist(), strict=True)),
        )
        for symbol, interval, timestamp, version, close, row in zip(
            frame["symbol"],
            frame["interval"],
            frame["timestamp_ms"],
            frame["feature_set_version"],
            closes,
            values,
            strict=True,
        )
    ]


def with_event_time(frame: pd.DataFrame, written_at: pd.Timestamp) -> pd.DataFrame:
    """Adds the feature stores' event time (from ``timestamp_ms``, microseconds, UTC) and write time."""
    event = pd.to_datetime(frame["timestamp_ms"].to_numpy(np.int64), unit="ms", utc=True).astype(
        "datetime64[us, UTC]"
    )
    return frame.assign(event_timestamp=event, written_at=written_at.as_unit("us"))
