"""What is forecast for a horizon of H candles, as of the close of candle t.

- log return: ln(close[t+H] / close[t]);
- realized volatility: sqrt(sum of r[t+k]^2, k = 1..H), r the one-candle log returns;
- rise / fall: the log return above +dead_band / below -dead_band.

Closes live on a complete candle grid (missing candles are NaN), so a missing candle gives a
missing target, never a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CloseGrid:
    """One symbol's closes on a gap-free grid of candle open times (NaN where a candle is missing)."""

    timestamps_ms: np.ndarray  # int64, step interval_ms
    closes: np.ndarray  # float64
    interval_ms: int

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, interval_ms: int, time_column: str = "timestamp_ms") -> CloseGrid:
        times = frame[time_column].to_numpy(dtype=np.int64)
        closes = frame["close"].to_numpy(dtype=np.float64)
        if len(times) == 0:
            raise ValueError("no candles")
        first, last = int(times.min()), int(times.max())
        grid = np.arange(first, last + interval_ms, interval_ms, dtype=np.int64)
        values = np.full(len(grid), np.nan)
        values[(times - first) // interval_ms] = closes
        return cls(grid, values, interval_ms)

    @property
    def returns(self) -> np.ndarray:
        """r[t] = ln(close[t] / close[t-1]); r[0] is NaN."""
        log_close = np.log(self.closes)
        return np.concatenate([[np.nan], np.diff(log_close)])

    def __len__(self) -> int:
        return len(self.closes)


@dataclass(frozen=True)
class HorizonTargets:
    horizon: int
    log_return: np.ndarray  # (n,), NaN where unknown
    realized_vol: np.ndarray  # (n,)

    def up(self, dead_band: float) -> np.ndarray:
        return (self.log_return > dead_band).astype(np.float64)

    def down(self, dead_band: float) -> np.ndarray:
        return (self.log_return < -dead_band).astype(np.float64)

    @property
    def realized_variance(self) -> np.ndarray:
        return self.realized_vol**2


def horizon_targets(grid: CloseGrid, horizon: int) -> HorizonTargets:
    """Targets of every row of ``grid`` (NaN for the last H rows and around missing candles)."""
    n = len(grid)
    log_close = np.log(grid.closes)
    log_return = np.full(n, np.nan)
    log_return[: n - horizon] = log_close[horizon:] - log_close[: n - horizon]
    squared = grid.returns**2
    known = np.isfinite(squared)
    sums = np.concatenate([[0.0], np.cumsum(np.where(known, squared, 0.0))])
    counts = np.concatenate([[0], np.cumsum(known)])
    variance = np.full(n, np.nan)
    # rows t..n-H-1 sum r[t+1..t+H] = sums[t+H+1] - sums[t+1]
    t = np.arange(n - horizon)
    complete = counts[t + horizon + 1] - counts[t + 1] == horizon
    variance[t] = np.where(complete, sums[t + horizon + 1] - sums[t + 1], np.nan)
    return HorizonTargets(horizon, log_return, np.sqrt(variance))
