"""Distribution forecasts added to each prediction: pure logic, no I/O.

Every symbol keeps its last day of closes (``HISTORY_CLOSES``, restored from the features topic after
a restart like the lag windows). For a batch, each vector's close is pushed to its symbol's history
and the history as of that vector becomes one row of a matrix; the forecaster set then forecasts
every row and every horizon in one numpy call per forecaster, and the results are attached to the
vectors' predictions. A symbol with less than a day of history gets the forecasts it can (NaN
inputs give no forecast: its predictions carry none until the history fills).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tickcast.contracts import DistributionForecast, FeatureVector, Prediction
from tickcast.forecast.forecaster_set import HISTORY_CLOSES, ForecasterSet
from tickcast.forecast.history import History
from tickcast.forecast.quantiles import LEVELS

TARGETS = ("distribution", "volatility", "probability")
_LEVELS = list(LEVELS)


class CloseHistories:
    """Each symbol's last ``length`` closes on the candle grid (NaN for a missing candle).

    A symbol's closes live in a numpy buffer twice the length, filled left to right and shifted back
    once full: a push is a store, a row a slice copy (no per-batch rebuild from Python floats).
    """

    def __init__(self, interval_ms: int, length: int = HISTORY_CLOSES) -> None:
        self._interval_ms = interval_ms
        self._length = length
        self._buffers: dict[str, np.ndarray] = {}
        self._ends: dict[str, int] = {}  # the row of a symbol is buffer[end - length:end]
        self._last_ms: dict[str, int] = {}

    @property
    def interval_ms(self) -> int:
        return self._interval_ms

    def push(self, vector: FeatureVector) -> bool:
        """Add the vector's close; False (nothing changed) for a replayed or older candle."""
        if vector.close is None:
            return False
        symbol, length = vector.symbol, self._length
        last = self._last_ms.get(symbol)
        buffer = self._buffers.get(symbol)
        if buffer is None:
            buffer = self._buffers[symbol] = np.full(2 * length, np.nan)
            self._ends[symbol] = length
        end = self._ends[symbol]
        if last is not None:
            if vector.timestamp_ms <= last:
                return False
            missing = (vector.timestamp_ms - last) // self._interval_ms - 1
            if missing >= length:
                buffer[:] = np.nan
                end = length
            elif missing > 0:
                end = self._room(buffer, end, missing + 1)
                buffer[end:end + missing] = np.nan
                end += missing
        end = self._room(buffer, end, 1)
        buffer[end] = vector.close
        self._ends[symbol] = end + 1
        self._last_ms[symbol] = vector.timestamp_ms
        return True

    def _room(self, buffer: np.ndarray, end: int, needed: int) -> int:
        """Shift the row back to the buffer's start when ``needed`` more closes would not fit."""
        if end + needed <= len(buffer):
            return end
        buffer[:self._length] = buffer[end - self._length:end]
        return self._length

    def row(self, symbol: str) -> np.ndarray:
        """The closes as a fixed-length row, NaN-padded at the front (a copy)."""
        buffer = self._buffers.get(symbol)
        if buffer is None:
            return np.full(self._length, np.nan)
        end = self._ends[symbol]
        return buffer[end - self._length:end].copy()

    def last_ms(self, symbol: str) -> int | None:
        return self._last_ms.get(symbol)

    def forget(self, symbols: set[str]) -> None:
        for symbol in symbols:
            self._buffers.pop(symbol, None)
            self._ends.pop(symbol, None)
            self._last_ms.pop(symbol, None)


class DistributionAttacher:
    def __init__(self, forecaster_set: ForecasterSet, histories: CloseHistories, scorer: Any = None) -> None:
        self.forecaster_set = forecaster_set
        self.histories = histories
        self.scorer = scorer  # a DistributionScorer: told of each close as it enters, and of each new forecast

    def attach(self, vectors: list[FeatureVector], predictions: list[Prediction | None]) -> list[Prediction | None]:
        """``predictions[i]`` (the point prediction of ``vectors[i]``, None if refused) with its forecasts."""
        rows, as_of, index = [], [], []
        for i, vector in enumerate(vectors):
            pushed = self.histories.push(vector)
            if pushed and self.scorer is not None:
                self.scorer.on_vector(vector)  # forecasts maturing with this close, before it moves on
            if predictions[i] is not None and pushed:
                rows.append(self.histories.row(vector.symbol))
                as_of.append(vector.timestamp_ms)
                index.append(i)
        if not rows:
            return predictions
        closes = np.vstack(rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = np.diff(np.log(closes), axis=1)
            forecasts = self.forecaster_set.forecast(
                History.windows(returns, np.asarray(as_of), self.forecaster_set.interval_ms))
        last_close = closes[:, -1]
        per_horizon = {h: self._columns(f, last_close) | {
            "labels": {target: self.forecaster_set.label(h, target) for target in TARGETS},
            "ahead_ms": h * self.forecaster_set.interval_ms} for h, f in forecasts.items()}
        out = list(predictions)
        for row, i in enumerate(index):
            prediction = predictions[i]
            assert prediction is not None
            kept = [self._one(prediction, h, columns, row) for h, columns in per_horizon.items()
                    if columns["finite"][row]]
            if kept:
                # Built from validated parts (finite, sorted quantiles, probabilities summing to at
                # most 1, positive prices): validating 1,000 symbols x 4 horizons again would cost
                # more than the forecasts themselves.
                out[i] = prediction.model_copy(update={"forecasts": kept})
                if self.scorer is not None:
                    self.scorer.on_prediction(out[i], float(vectors[i].close or 0.0))
        return out

    def _columns(self, forecast: Any, close: np.ndarray) -> dict[str, Any]:
        quantiles = forecast.quantiles
        p_up = np.clip(forecast.p_up, 0.0, 1.0)
        p_down = np.minimum(np.clip(forecast.p_down, 0.0, 1.0), 1.0 - p_up)
        finite = (np.all(np.isfinite(quantiles), axis=1) & np.isfinite(p_up) & np.isfinite(p_down)
                  & np.isfinite(forecast.volatility) & (forecast.volatility >= 0))
        prices = close[:, None] * np.exp(quantiles)
        finite &= np.all(np.isfinite(prices) & (prices > 0), axis=1)
        return {"finite": finite, "quantiles": quantiles.tolist(), "prices": prices.tolist(), "p_up": p_up.tolist(),
                "p_down": p_down.tolist(), "volatility": forecast.volatility.tolist()}

    def _one(self, prediction: Prediction, horizon: int, columns: dict[str, Any], row: int) -> DistributionForecast:
        return DistributionForecast.model_construct(
            horizon=horizon,
            target_time_ms=prediction.as_of_ms + columns["ahead_ms"],
            quantile_levels=_LEVELS,
            return_quantiles=columns["quantiles"][row],
            price_quantiles=columns["prices"][row],
            p_up=columns["p_up"][row], p_down=columns["p_down"][row], dead_band=self.forecaster_set.dead_band,
            forecast_volatility=columns["volatility"][row],
            forecasters=columns["labels"],  # shared by the batch's forecasts of this horizon: never mutated
        )
