"""Turning a batch of feature vectors into predictions: pure logic, no I/O.

Timing convention: a vector with ``timestamp_ms = T`` holds the features of the
candle that opened at T, known once that candle closes. Its prediction has
``as_of_ms = T`` (the candle it is made at the close of) and
``target_time_ms = T + horizon * interval``: the open time of the candle whose
close is forecast. ``predicted_return`` is ln(close[target] / close[as_of]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tickcast.contracts import FeatureVector, Prediction
from tickcast.directions import direction_of
from tickcast.intervals import interval_ms

from inference.model import PersistenceBaseline, Servable, ServedModel, is_baseline
from inference.windows import FeatureWindows


@dataclass(frozen=True)
class Refusal:
    """Why the vector at ``index`` of the batch got no prediction."""

    index: int
    reason: str
    error_type: str


@dataclass(frozen=True)
class Forecast:
    """The prediction for the vector at ``index`` of the batch."""

    index: int
    prediction: Prediction
    base_close: float  # close at as_of: what the realised return is measured from


@dataclass(frozen=True)
class ForecastBatch:
    forecasts: list[Forecast]
    refusals: list[Refusal]


@dataclass(frozen=True)
class _Pending:
    index: int
    vector: FeatureVector
    window: list[FeatureVector] | None  # None: served by the baseline


class Forecaster:
    """Serves one model (the champion, or the baseline) over per-symbol lag windows.

    Until a symbol's window holds ``lag_window`` consecutive vectors, its
    predictions come from the persistence baseline and are labelled as such.
    """

    def __init__(self, served: ServedModel, baseline: PersistenceBaseline, dead_band: float) -> None:
        self._baseline = baseline
        self._dead_band = dead_band
        self._windows = FeatureWindows(interval_ms(baseline.interval), served.model.lag_window)
        self._served = served

    @property
    def served(self) -> ServedModel:
        return self._served

    @property
    def windows(self) -> FeatureWindows:
        return self._windows

    def swap(self, served: ServedModel) -> None:
        """Serve ``served`` from the next batch on; windows are kept (same vectors, maybe longer view)."""
        self._served = served
        self._windows.resize(served.model.lag_window)

    def forecast(self, vectors: list[FeatureVector], now_ms: int) -> ForecastBatch:
        model = self._served.model
        refusals: list[Refusal] = []
        pending: list[_Pending] = []
        for index, vector in enumerate(vectors):
            problem = self._refusal(model, vector)
            if problem:
                refusals.append(Refusal(index, *problem))
                continue
            window = self._windows.push(vector)
            full = not is_baseline(model) and len(window) >= model.lag_window
            pending.append(_Pending(index, vector, window[-model.lag_window :] if full else None))

        model_returns = iter(self._predict(model, [item.window for item in pending if item.window is not None]))
        forecasts: list[Forecast] = []
        for item in pending:
            if item.window is None:
                forecasts.append(self._forecast(self._baseline, item, 0.0, now_ms))
                continue
            log_return = float(next(model_returns))
            if math.isfinite(log_return):
                forecasts.append(self._forecast(model, item, log_return, now_ms))
            else:
                reason = f"{model.name} v{model.version} returned {log_return}"
                refusals.append(Refusal(item.index, reason, "NonFiniteOutput"))
        refusals.sort(key=lambda refusal: refusal.index)
        return ForecastBatch(forecasts, refusals)

    def _forecast(self, model: Servable, item: _Pending, log_return: float, now_ms: int) -> Forecast:
        base_close = item.vector.close or 0.0  # never 0: vectors without a close are refused
        return Forecast(item.index, self._prediction(model, item.vector, log_return, now_ms), base_close)

    def _refusal(self, model: Servable, vector: FeatureVector) -> tuple[str, str] | None:
        if vector.close is None:
            return "vector has no close price, so no price can be predicted", "MissingClose"
        if vector.interval != self._baseline.interval:
            return f"interval {vector.interval!r} is not the served {self._baseline.interval!r}", "IntervalMismatch"
        if is_baseline(model):
            return None
        if vector.feature_set_version != model.feature_set_version:
            return (
                f"feature_set_version {vector.feature_set_version!r} does not match "
                f"{model.name} v{model.version}'s {model.feature_set_version!r}",
                "FeatureSetMismatch",
            )
        missing = [name for name in model.feature_names if name not in vector.values]
        if missing:
            return f"missing features {missing[:5]} needed by {model.name} v{model.version}", "MissingFeatures"
        return None

    @staticmethod
    def _predict(model: Servable, windows: list[list[FeatureVector]]) -> np.ndarray:
        if not windows:
            return np.empty(0)
        names = model.feature_names
        # One call for the whole batch: (n, lag_window, n_features).
        tensor = np.array([[[vector.values[name] for name in names] for vector in window] for window in windows],
                          dtype=np.float32)
        returns = np.asarray(model.predict(tensor), dtype=np.float64).reshape(-1)
        if len(returns) != len(windows):
            raise ValueError(f"{model.name} v{model.version} returned {len(returns)} values for {len(windows)} inputs")
        return returns

    def _prediction(self, model: Servable, vector: FeatureVector, log_return: float, now_ms: int) -> Prediction:
        close = vector.close or 0.0
        return Prediction(
            symbol=vector.symbol,
            interval=vector.interval,
            model_name=model.name,
            model_version=model.version,
            horizon=model.horizon,
            as_of_ms=vector.timestamp_ms,
            target_time_ms=vector.timestamp_ms + model.horizon * interval_ms(vector.interval),
            predicted_return=log_return,
            predicted_price=close * math.exp(log_return),
            direction=direction_of(log_return, self._dead_band),
            emitted_ms=now_ms,
            source=vector.source,  # the prices it was made from: shown with the prediction
        )
