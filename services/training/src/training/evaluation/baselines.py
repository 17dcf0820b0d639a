"""Naive forecasts every model must beat: persistence (no change) and EMA drift."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def persistence(n_rows: int, horizons: Sequence[int]) -> np.ndarray:
    """'The price will not change': a zero log return for every horizon."""
    return np.zeros((n_rows, len(horizons)))


def ema_drift(labelled: pd.DataFrame, rows: np.ndarray, horizons: Sequence[int], span: int) -> np.ndarray:
    """H times the exponential moving average of past one-candle log returns, per symbol.

    Uses closes up to and including each row's candle only (``adjust=False`` is a
    recursive filter over the past), so it is a forecast, not a smoothing of the future.
    """
    log_close = np.log(labelled["close"].to_numpy(dtype=np.float64))
    past_return = pd.Series(log_close).groupby(labelled["symbol"].to_numpy()).diff().fillna(0.0)
    drift = past_return.groupby(labelled["symbol"].to_numpy()).transform(
        lambda returns: returns.ewm(span=span, adjust=False).mean()
    )
    per_candle = drift.to_numpy()[rows]
    return per_candle[:, None] * np.asarray(horizons, dtype=np.float64)[None, :]
