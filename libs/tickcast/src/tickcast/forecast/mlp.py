"""Small neural forecasters trained with TensorFlow, served by a numpy forward pass.

Training needs TensorFlow (services/training); serving needs only the weights, kept in the set's
JSON, so inference runs them in the same batched numpy call as the baselines. Both use the
inputs of a :class:`HarFeaturesVolatility` (its standardised features), so the two agree.

- ``MlpVolatility``: ln of the deseasonalised per-candle variance, trained on QLIKE.
- ``MlpQuantiles``: quantiles of z = horizon return / forecast volatility, non-crossing by
  construction (the first level, then positive softplus increments), trained on pinball loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tickcast.forecast.history import History
from tickcast.forecast.json_form import JsonForm
from tickcast.forecast.learned import HarFeaturesVolatility
from tickcast.forecast.quantiles import monotone


@dataclass(frozen=True)
class Dense(JsonForm):
    weights: np.ndarray
    bias: np.ndarray
    activation: str  # "relu" or "linear"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weights + self.bias
        return np.maximum(y, 0.0) if self.activation == "relu" else y


def forward(layers: list[Dense], x: np.ndarray) -> np.ndarray:
    for layer in layers:
        x = layer(x)
    return x


def softplus(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # rows without enough history are NaN, and stay so
        return np.logaddexp(0.0, x)


def non_crossing(raw: np.ndarray) -> np.ndarray:
    """First column as is, then cumulative positive increments: quantiles that never cross."""
    return np.concatenate([raw[:, :1], raw[:, :1] + np.cumsum(softplus(raw[:, 1:]), axis=1)], axis=1)


def standardized_inputs(features: HarFeaturesVolatility, history: History) -> np.ndarray:
    """The HAR-features model's standardised inputs (NaN rows stay NaN, so their forecasts are NaN)."""
    raw, _ = features._features(history)
    return (raw - features.mean) / features.std


@dataclass(frozen=True)
class MlpVolatility(JsonForm):
    kind: ClassVar[str] = "mlp_volatility"
    horizon: int
    features: HarFeaturesVolatility  # inputs and time-of-day profile
    layers: list[Dense]
    scale: float

    def variance(self, history: History) -> np.ndarray:
        x = standardized_inputs(self.features, history)
        seasonal = self.features.profile.over_horizon(history, self.horizon)
        return self.scale * seasonal * np.exp(forward(self.layers, x)[:, 0])


@dataclass(frozen=True)
class MlpQuantiles(JsonForm):
    kind: ClassVar[str] = "mlp_quantiles"
    horizon: int
    volatility: Any  # the forecast volatility that standardises the return
    features: HarFeaturesVolatility
    layers: list[Dense]

    def quantiles_for(self, history: History) -> np.ndarray:
        sigma = np.sqrt(self.horizon * self.volatility.variance(history))
        z = non_crossing(forward(self.layers, standardized_inputs(self.features, history)))
        return monotone(sigma[:, None] * z)
