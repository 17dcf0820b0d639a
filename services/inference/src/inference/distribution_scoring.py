"""Live scores of matured distribution forecasts: pure logic, no I/O.

A forecast of horizon H made at T matures with the close of the candle at T + H: its outcome is
ln(close[T+H] / close[T]) and the realized variance the sum of the H one-candle r^2 in between,
both read from the symbol's close history. Per symbol, horizon and target's forecaster label, the
scores are rolling means over the last ``window`` matured forecasts: 80% and 90% coverage, pinball
loss (distribution), QLIKE (volatility), Brier (p_up).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tickcast.contracts import DistributionForecast, FeatureVector, Prediction

from inference.distribution import CloseHistories


@dataclass
class RollingScore:
    window: int
    values: dict[str, deque[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, deque(maxlen=self.window)).append(value)

    def means(self) -> dict[str, float]:
        return {name: float(np.mean(v)) for name, v in self.values.items() if v}

    def count(self) -> int:
        return max((len(v) for v in self.values.values()), default=0)


@dataclass(frozen=True)
class _Waiting:
    target_time_ms: int
    base_close: float
    forecast: DistributionForecast


def _interval_of(levels: list[float], nominal: float) -> tuple[int, int]:
    low, high = (1 - nominal) / 2, 1 - (1 - nominal) / 2
    return int(np.argmin(np.abs(np.asarray(levels) - low))), int(np.argmin(np.abs(np.asarray(levels) - high)))


class DistributionScorer:
    def __init__(self, histories: CloseHistories, window: int, max_pending_per_symbol: int = 4096) -> None:
        self._histories = histories
        self._window = window
        self._pending: dict[str, deque[_Waiting]] = {}
        self._max_pending = max_pending_per_symbol
        self.scores: dict[tuple[str, int, str, str], RollingScore] = {}  # (symbol, horizon, target, label)
        self._changed: set[tuple[str, int, str, str]] = set()

    def on_prediction(self, prediction: Prediction, base_close: float) -> None:
        waiting = self._pending.setdefault(prediction.symbol, deque(maxlen=self._max_pending))
        for forecast in prediction.forecasts:
            waiting.append(_Waiting(forecast.target_time_ms, base_close, forecast))

    def on_vector(self, vector: FeatureVector) -> None:
        """After ``vector``'s close entered the history: score what matures with it."""
        waiting = self._pending.get(vector.symbol)
        if not waiting or vector.close is None:
            return
        kept: deque[_Waiting] = deque(maxlen=self._max_pending)
        row = None
        for item in waiting:
            if item.target_time_ms > vector.timestamp_ms:
                kept.append(item)
                continue
            if item.target_time_ms < vector.timestamp_ms:
                continue  # its candle never came: not scored
            row = self._histories.row(vector.symbol) if row is None else row
            self._score(vector.symbol, item, row)
        self._pending[vector.symbol] = kept

    def _score(self, symbol: str, item: _Waiting, closes: np.ndarray) -> None:
        forecast = item.forecast
        horizon = forecast.horizon
        outcome = math.log(closes[-1] / item.base_close)
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = np.diff(np.log(closes[-horizon - 1:]))
        realized = float(np.sum(returns**2)) if np.all(np.isfinite(returns)) else math.nan
        quantiles = np.asarray(forecast.return_quantiles)
        levels = np.asarray(forecast.quantile_levels)
        error = outcome - quantiles
        distribution = self._rolling((symbol, horizon, "distribution", forecast.forecasters.get("distribution", "")))
        distribution.add("pinball", float(np.mean(np.maximum(levels * error, (levels - 1) * error))))
        for nominal in (0.8, 0.9):
            low, high = _interval_of(forecast.quantile_levels, nominal)
            distribution.add(f"coverage_{int(nominal * 100)}", float(quantiles[low] <= outcome <= quantiles[high]))
        if realized > 0 and forecast.forecast_volatility > 0:
            ratio = realized / forecast.forecast_volatility**2
            self._rolling((symbol, horizon, "volatility", forecast.forecasters.get("volatility", ""))).add(
                "qlike", ratio - math.log(ratio) - 1)
        up = float(outcome > forecast.dead_band)
        self._rolling((symbol, horizon, "probability", forecast.forecasters.get("probability", ""))).add(
            "brier", (forecast.p_up - up) ** 2)

    def _rolling(self, key: tuple[str, int, str, str]) -> RollingScore:
        self._changed.add(key)
        return self.scores.setdefault(key, RollingScore(self._window))

    def drain_changes(self) -> dict[tuple[str, int, str, str], dict[str, float]]:
        changed, self._changed = self._changed, set()
        return {key: self.scores[key].means() | {"count": float(self.scores[key].count())} for key in changed}

    def forget(self, symbols: set[str]) -> None:
        for symbol in symbols:
            self._pending.pop(symbol, None)
