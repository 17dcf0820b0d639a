"""The time-of-day profile of one-candle variance, estimated on the fit period only.

Volatility is higher in some hours of the UTC day (exchange opens, US session) than in others.
The profile is the mean r^2 of each bucket of the day divided by the overall mean r^2, so it is in
the units of what it scales (a per-candle variance) and averages 1 over the fit period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tickcast.forecast.history import DAY_MS, History


@dataclass(frozen=True)
class SeasonalProfile:
    bucket_ms: int
    factors: np.ndarray  # (DAY_MS // bucket_ms,), mean 1

    @classmethod
    def flat(cls, bucket_ms: int = 1_800_000) -> SeasonalProfile:
        return cls(bucket_ms, np.ones(DAY_MS // bucket_ms))

    @classmethod
    def fit(cls, history: History, bucket_ms: int = 1_800_000, shrink: float = 0.2) -> SeasonalProfile:
        """Bucket means of r^2, shrunk a little towards 1 so a noisy bucket cannot dominate."""
        squared = history.returns[0] ** 2
        buckets = (history.as_of_ms[0] % DAY_MS) // bucket_ms
        known = np.isfinite(squared)
        count = np.bincount(buckets[known], minlength=DAY_MS // bucket_ms)
        total = np.bincount(buckets[known], weights=squared[known], minlength=DAY_MS // bucket_ms)
        overall = float(squared[known].mean())
        raw = np.where(count > 0, total / np.maximum(count, 1) / overall, 1.0)
        return cls(bucket_ms, (1 - shrink) * raw + shrink)

    @property
    def key(self) -> tuple[object, ...]:
        """Names this profile in a history's cache: equal profiles share their computations."""
        return ("profile", self.bucket_ms, self.factors.tobytes())

    def per_candle(self, history: History) -> np.ndarray:
        """The factor of each return's own candle, shaped like ``history.returns``."""
        return history.cached(("per_candle", *self.key), lambda: self._per_candle(history))

    def _per_candle(self, history: History) -> np.ndarray:
        if not history.last_only:
            return self.factors[(history.as_of_ms % DAY_MS) // self.bucket_ms]
        # Windows ending at the same candle (a batch at one boundary: all of them) share their row of
        # factors: look each distinct one up once.
        _, first, inverse = np.unique(history.as_of_ms[:, -1], return_index=True, return_inverse=True)
        return self.factors[(history.as_of_ms[first] % DAY_MS) // self.bucket_ms][inverse.reshape(-1)]

    def over_horizon(self, history: History, horizon: int) -> np.ndarray:
        """Mean factor over the H candles after each forecast row."""
        return history.cached(("over_horizon", horizon, *self.key), lambda: self._over_horizon(history, horizon))

    def _over_horizon(self, history: History, horizon: int) -> np.ndarray:
        total = np.zeros(history.rows)
        for k in range(1, horizon + 1):
            total += self.factors[history.position_in_day(k) // self.bucket_ms]
        return total / horizon

    def to_json(self) -> dict[str, object]:
        return {"bucket_ms": self.bucket_ms, "factors": [round(float(f), 6) for f in self.factors]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> SeasonalProfile:
        return cls(int(data["bucket_ms"]), np.asarray(data["factors"], dtype=np.float64))  # type: ignore[arg-type]
