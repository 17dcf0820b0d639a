"""Features as of a moment: which candle, which history, and nothing from after it.

A vector with ``timestamp_ms = T`` describes the candle that opened at T and is known once that
candle closes, at ``T + interval``. At a moment ``t`` the newest known vector is therefore the one
of the last candle that closed by ``t``; everything here cuts its inputs there, so data written
after ``t`` cannot change the answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tickcast.features.compute import compute_history
from tickcast.features.definitions import HOUR_MS, HOURLY_CLOSES, MIN_CANDLES, WARMUP_CANDLES
from tickcast.intervals import interval_ms


def rebuild_start_ms(as_of_ms: int, interval: str, lag_window: int) -> int:
    """First candle a rebuild reads: the 24 completed hours the hourly feature needs plus the hour
    under way, at least the warm-up and longest lookback in candles, for each of the ``lag_window``
    vectors a model reads."""
    span = interval_ms(interval)
    first_vector = as_of_ms - (lag_window - 1) * span
    by_hours = (first_vector // HOUR_MS) * HOUR_MS - HOURLY_CLOSES * HOUR_MS
    by_candles = first_vector - (WARMUP_CANDLES + MIN_CANDLES) * span
    return min(by_hours, by_candles)


def features_from_candles(candles: pd.DataFrame, as_of_ms: int) -> pd.DataFrame:
    """The feature frame of ``candles`` computed by the one feature code, from candles that opened
    at or before ``as_of_ms`` only (a later candle never enters the computation)."""
    known = candles[candles["open_time_ms"].to_numpy(np.int64) <= as_of_ms]
    return compute_history(known)


def window_as_of(
    features: pd.DataFrame, as_of_ms: int, interval: str, lag_window: int
) -> pd.DataFrame | None:
    """The ``lag_window`` consecutive feature rows ending with the one at ``as_of_ms``, oldest first;
    None when a row is missing (a hole, or not computed)."""
    span = interval_ms(interval)
    wanted = as_of_ms - span * np.arange(lag_window - 1, -1, -1, dtype=np.int64)
    times = features["timestamp_ms"].to_numpy(np.int64)
    rows = features[np.isin(times, wanted)].drop_duplicates("timestamp_ms", keep="last")
    if len(rows) != lag_window:
        return None
    return rows.sort_values("timestamp_ms", kind="stable").reset_index(drop=True)
