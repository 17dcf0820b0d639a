"""What every forecast is conditioned on: the one-candle log returns up to and including candle t.

The same code serves two shapes. Training scores every row of one symbol's history (``series``:
one row of n returns, an output for each). Inference forecasts the last candle of many symbols at
once (``windows``: m rows of the last L returns, an output for the last column of each). So a
forecaster written against :class:`History` is the same function offline and live.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

DAY_MS = 86_400_000
# The longest lookback any forecaster uses: a day of minutes.
LONGEST_WINDOW = 1440


@dataclass(frozen=True)
class History:
    returns: np.ndarray  # (rows, length) one-candle log returns, NaN where unknown
    as_of_ms: np.ndarray  # (rows, length) open time of each return's candle
    interval_ms: int
    last_only: bool  # windows: only the last column is forecast
    # Inputs several forecasters share (the same trailing variances, the same GARCH filter) are
    # computed once per history: inference forecasts a batch with a dozen forecasters.
    _cache: dict[tuple[object, ...], np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def cached(self, key: tuple[object, ...], compute: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    @classmethod
    def series(cls, returns: np.ndarray, as_of_ms: np.ndarray, interval_ms: int) -> History:
        return cls(np.asarray(returns, dtype=np.float64)[None, :], np.asarray(as_of_ms)[None, :], interval_ms, False)

    @classmethod
    def windows(cls, returns: np.ndarray, last_as_of_ms: np.ndarray, interval_ms: int) -> History:
        """``returns`` (m, L): each symbol's last L returns, the last one ending at ``last_as_of_ms``."""
        returns = np.asarray(returns, dtype=np.float64)
        length = returns.shape[1]
        offsets = (np.arange(length) - (length - 1)) * interval_ms
        as_of = np.asarray(last_as_of_ms, dtype=np.int64)[:, None] + offsets[None, :]
        return cls(returns, as_of, interval_ms, True)

    def _out(self, values: np.ndarray) -> np.ndarray:
        return values[:, -1] if self.last_only else values[0]

    @property
    def rows(self) -> int:
        return self.returns.shape[0] if self.last_only else self.returns.shape[1]

    def as_of(self) -> np.ndarray:
        return self._out(self.as_of_ms)

    def trailing_variance(self, window: int, scale: np.ndarray | None = None, scale_key: object = None
                          ) -> np.ndarray:
        """Mean of r^2 (divided by ``scale`` per candle, if given) over the last ``window`` candles.

        NaN when fewer than half of them are known. ``scale_key`` names ``scale`` for the cache.
        """
        if scale is not None and scale_key is None:
            return self._trailing_variance(window, scale)
        return self.cached(("variance", window, scale_key), lambda: self._trailing_variance(window, scale))

    def _trailing_variance(self, window: int, scale: np.ndarray | None) -> np.ndarray:
        if self.last_only:  # only the last ``window`` columns matter
            squared = self.returns[:, -window:] ** 2
            if scale is not None:
                squared = squared / scale[:, -window:]
            known = np.isfinite(squared)
            count = known.sum(axis=1)
            total = np.where(known, squared, 0.0).sum(axis=1)
            return np.where(count >= max(1, window / 2), total / np.maximum(count, 1), np.nan)
        squared = self.returns**2
        if scale is not None:
            squared = squared / scale
        known = np.isfinite(squared)
        zero = np.zeros((squared.shape[0], 1))
        sums = np.concatenate([zero, np.cumsum(np.where(known, squared, 0.0), axis=1)], axis=1)
        counts = np.concatenate([zero, np.cumsum(known, axis=1)], axis=1)
        if self.last_only:
            total, count = sums[:, -1] - sums[:, max(0, sums.shape[1] - 1 - window)], counts[:, -1] - counts[
                :, max(0, counts.shape[1] - 1 - window)]
            return np.where(count >= max(1, window / 2), total / np.maximum(count, 1), np.nan)
        end = np.arange(1, sums.shape[1])
        begin = np.maximum(0, end - window)
        total, count = sums[0, end] - sums[0, begin], counts[0, end] - counts[0, begin]
        return np.where(count >= max(1, window / 2), total / np.maximum(count, 1), np.nan)

    def trailing_return(self, window: int) -> np.ndarray:
        """Sum of the last ``window`` returns (unknown ones count as 0)."""
        return self.cached(("return", window), lambda: self._trailing_return(window))

    def _trailing_return(self, window: int) -> np.ndarray:
        if self.last_only:
            return np.nansum(self.returns[:, -window:], axis=1)
        filled = np.where(np.isfinite(self.returns), self.returns, 0.0)
        sums = np.concatenate([np.zeros((filled.shape[0], 1)), np.cumsum(filled, axis=1)], axis=1)
        if self.last_only:
            return sums[:, -1] - sums[:, max(0, sums.shape[1] - 1 - window)]
        end = np.arange(1, sums.shape[1])
        return sums[0, end] - sums[0, np.maximum(0, end - window)]

    def garch_variance(self, omega: float, alpha: float, beta: float) -> np.ndarray:
        """GARCH(1,1) one-step variance for the candle after each row:
        s2[t+1] = omega + alpha r[t]^2 + beta s2[t], started at the unconditional variance."""
        return self.cached(("garch", omega, alpha, beta), lambda: self._garch_variance(omega, alpha, beta))

    def _garch_variance(self, omega: float, alpha: float, beta: float) -> np.ndarray:
        unconditional = omega / max(1e-12, 1 - alpha - beta)
        squared = np.where(np.isfinite(self.returns), self.returns**2, unconditional)
        # s2[t+1] - c = alpha r2[t] + beta (s2[t] - c) with c = omega / (1 - beta): a first-order filter.
        level = omega / (1 - beta)
        initial = np.full((squared.shape[0], 1), beta * (unconditional - level))
        filtered, _ = lfilter([alpha], [1.0, -beta], squared, axis=1, zi=initial)
        return self._out(filtered + level)

    def position_in_day(self, offset_candles: int = 0) -> np.ndarray:
        """Milliseconds since 00:00 UTC of the candle ``offset_candles`` after each row."""
        return (self.as_of() + offset_candles * self.interval_ms) % DAY_MS
