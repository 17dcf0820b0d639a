"""Live scores of matured distribution forecasts: pure logic, no I/O.

A forecast of horizon H made at T matures with the close of the candle at T + H: its outcome is
ln(close[T+H] / close[T]) and the realized variance the sum of the H one-candle r^2 in between,
both read from the symbol's close history. Per symbol, horizon and target's forecaster label, the
scores are rolling means over the last ``window`` matured forecasts: 80% and 90% coverage, pinball
loss (distribution), QLIKE (volatility), Brier (p_up).

After a restart the scores are rebuilt, not trusted from a cache: the predictions read back from the
topic are scored again against the close histories read back from the features topic (``rebuild``),
and those still waiting for their candle wait again.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from tickcast.contracts import DistributionForecast, FeatureVector, Prediction

from inference.distribution import CloseHistories
from inference.scoring import base_close_of

ScoreKey = tuple[str, int, str, str]  # (symbol, horizon, target, forecaster label)


@dataclass(frozen=True)
class ForecastLiveScore:
    """Rolling live scores of one forecaster on one symbol and horizon, for one target."""

    symbol: str
    horizon: int
    target: str  # distribution | volatility | probability
    forecaster: str
    scores: dict[str, float]  # coverage_80, coverage_90, pinball | qlike | brier
    count: int
    last_target_time_ms: int

    @property
    def field(self) -> str:
        """Its field in the Redis hash of live forecast scores."""
        return f"{self.symbol}|{self.horizon}|{self.target}|{self.forecaster}"

    def to_json(self) -> str:
        return json.dumps({"symbol": self.symbol, "horizon": self.horizon, "target": self.target,
                           "forecaster": self.forecaster, "scores": self.scores, "count": self.count,
                           "last_target_time_ms": self.last_target_time_ms}, sort_keys=True)


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

    last_target_time_ms: int = 0


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
        self.scores: dict[ScoreKey, RollingScore] = {}
        self._changed: set[ScoreKey] = set()

    def on_prediction(self, prediction: Prediction, base_close: float) -> None:
        """Wait for each forecast's candle, or score it now if its close is already in the history
        (a batch catching up holds both the candle a forecast is made at and its target's)."""
        rows: dict[str, np.ndarray] = {}
        for forecast in prediction.forecasts:
            self._place(prediction.symbol, _Waiting(forecast.target_time_ms, base_close, forecast), rows)

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

    def rebuild(self, predictions: Iterable[Prediction]) -> int:
        """Score again, from the close histories, the forecasts of ``predictions`` (oldest first) that
        matured within them; those not matured yet wait for their candle. Returns how many were scored."""
        predictions = list(predictions)
        self._drop({prediction.symbol for prediction in predictions})  # what was held is replaced, not doubled
        scored = 0
        rows: dict[str, np.ndarray] = {}
        for prediction in predictions:
            base_close = base_close_of(prediction)
            for forecast in prediction.forecasts:
                scored += self._place(prediction.symbol, _Waiting(forecast.target_time_ms, base_close, forecast), rows)
        return scored

    def _place(self, symbol: str, item: _Waiting, rows: dict[str, np.ndarray]) -> bool:
        """Score ``item`` if its target's close is in the history, else let it wait; True if scored."""
        last_ms = self._histories.last_ms(symbol)
        if last_ms is None:
            return False
        if item.target_time_ms > last_ms:
            self._pending.setdefault(symbol, deque(maxlen=self._max_pending)).append(item)
            return False
        if symbol not in rows:
            rows[symbol] = self._histories.row(symbol)
        row = rows[symbol]
        end = len(row) - (last_ms - item.target_time_ms) // self._histories.interval_ms
        if end - item.forecast.horizon - 1 < 0 or not math.isfinite(row[end - 1]):
            return False  # older than the history, or its candle never came
        self._score(symbol, item, row[:end])
        return True

    def _score(self, symbol: str, item: _Waiting, closes: np.ndarray) -> None:
        """Score ``item`` against ``closes``, which end with the close of its target candle."""
        forecast = item.forecast
        horizon = forecast.horizon
        outcome = math.log(closes[-1] / item.base_close)
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = np.diff(np.log(closes[-horizon - 1:]))
        realized = float(np.sum(returns**2)) if np.all(np.isfinite(returns)) else math.nan
        quantiles = np.asarray(forecast.return_quantiles)
        levels = np.asarray(forecast.quantile_levels)
        error = outcome - quantiles
        distribution = self._rolling((symbol, horizon, "distribution", forecast.forecasters.get("distribution", "")),
                                     item.target_time_ms)
        distribution.add("pinball", float(np.mean(np.maximum(levels * error, (levels - 1) * error))))
        for nominal in (0.8, 0.9):
            low, high = _interval_of(forecast.quantile_levels, nominal)
            distribution.add(f"coverage_{int(nominal * 100)}", float(quantiles[low] <= outcome <= quantiles[high]))
        if realized > 0 and forecast.forecast_volatility > 0:
            ratio = realized / forecast.forecast_volatility**2
            self._rolling((symbol, horizon, "volatility", forecast.forecasters.get("volatility", "")),
                          item.target_time_ms).add(
                "qlike", ratio - math.log(ratio) - 1)
        up = float(outcome > forecast.dead_band)
        self._rolling((symbol, horizon, "probability", forecast.forecasters.get("probability", "")),
                      item.target_time_ms).add(
            "brier", (forecast.p_up - up) ** 2)

    def _rolling(self, key: ScoreKey, target_time_ms: int) -> RollingScore:
        self._changed.add(key)
        rolling = self.scores.setdefault(key, RollingScore(self._window))
        rolling.last_target_time_ms = max(rolling.last_target_time_ms, target_time_ms)
        return rolling

    def drain_changes(self) -> list[ForecastLiveScore]:
        """The scores changed since the last drain."""
        changed, self._changed = self._changed, set()
        return [self._summary(key) for key in sorted(changed)]

    def snapshot(self) -> list[ForecastLiveScore]:
        """Every score held (after a rebuild: all of them are written out again)."""
        self._changed.clear()
        return [self._summary(key) for key in sorted(self.scores)]

    def _summary(self, key: ScoreKey) -> ForecastLiveScore:
        rolling = self.scores[key]
        return ForecastLiveScore(*key, scores=rolling.means(), count=rolling.count(),
                                 last_target_time_ms=rolling.last_target_time_ms)

    def forget(self, symbols: set[str]) -> None:
        for symbol in symbols:
            self._pending.pop(symbol, None)

    def _drop(self, symbols: set[str]) -> None:
        self.forget(symbols)
        for key in [key for key in self.scores if key[0] in symbols]:
            del self.scores[key]
            self._changed.discard(key)
