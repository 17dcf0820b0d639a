"""Learned forecasters: fitted on the training rows, calibrated on the validation rows.

- ``HarFeaturesVolatility``: ridge regression of ln(realized variance) on deseasonalised
  trailing variances over six windows, the time-of-day profile of the horizon, its Fourier terms,
  the weekend, and the recent drift in units of volatility; rescaled on validation to the
  QLIKE-optimal level (mean realized / forecast = 1).
- ``StandardizedQuantiles``: the horizon return divided by a volatility forecast is close to one
  distribution in calm and wild hours alike; its empirical quantiles on the *validation* rows,
  times the forecast volatility, give calibrated intervals that widen and narrow with the market.
- ``VolConditionalProbability``: p_up = P(z > dead_band / sigma) from the same validation
  distribution of z: a dead band is wide when the market is calm and narrow when it is wild.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tickcast.forecast.baselines import VARIANCE_FLOOR_RATIO, _subset, finite_rows
from tickcast.forecast.fitdata import FitData
from tickcast.forecast.history import DAY_MS, History
from tickcast.forecast.json_form import JsonForm
from tickcast.forecast.quantiles import LEVELS, monotone
from tickcast.forecast.seasonal import SeasonalProfile

FEATURE_WINDOWS = (1, 5, 15, 60, 240, 1440)
WEEK_MS = 7 * DAY_MS
# 1970-01-01 was a Thursday: Saturday 00:00 UTC is 2 days into the epoch week.
_SATURDAY_MS = 2 * DAY_MS


@dataclass(frozen=True)
class HarFeaturesVolatility(JsonForm):
    kind: ClassVar[str] = "har_features"
    horizon: int
    coefficients: np.ndarray
    mean: np.ndarray  # feature standardisation, fitted on training rows
    std: np.ndarray
    floor: float
    scale: float
    profile: SeasonalProfile
    garch: tuple[float, float, float]  # (omega, alpha, beta) of the GARCH(1,1) input
    ridge: float = 1.0

    @classmethod
    def fit(cls, data: FitData, validation: FitData, garch: tuple[float, float, float],
            ridge: float = 1.0) -> HarFeaturesVolatility:
        profile = SeasonalProfile.fit(_subset(data.history, data.rows))
        target = data.per_candle_variance()
        floor = VARIANCE_FLOOR_RATIO * float(np.nanmean(target))
        width = 2 + len(FEATURE_WINDOWS) + 6 + 1 + 1 + 1
        blank = cls(data.horizon, np.zeros(width), np.zeros(width - 1), np.ones(width - 1), floor, 1.0, profile, garch,
                    ridge)
        raw, seasonal = blank._features(data.history)
        raw, seasonal = raw[data.rows], seasonal[data.rows]
        keep = finite_rows(data, target, *raw.T) & (target > 0)
        mean, std = raw[keep].mean(axis=0), raw[keep].std(axis=0) + 1e-12
        x = np.column_stack([np.ones(keep.sum()), (raw[keep] - mean) / std])
        coefficients = qlike_regression(x, target[keep] / seasonal[keep], ridge)
        fitted = cls(data.horizon, coefficients, mean, std, floor, 1.0, profile, garch, ridge)
        return fitted.rescaled(validation)

    def rescaled(self, validation: FitData) -> HarFeaturesVolatility:
        """The same forecaster at the level that makes mean(realized / forecast) = 1 on ``validation``."""
        target = validation.per_candle_variance()
        predicted = self.variance(validation.history)[validation.rows]
        ok = np.isfinite(target) & np.isfinite(predicted) & (target > 0)
        scale = float(np.mean(target[ok] / predicted[ok]))
        return HarFeaturesVolatility(self.horizon, self.coefficients, self.mean, self.std, self.floor,
                                     self.scale * scale, self.profile, self.garch, self.ridge)

    def _features(self, history: History) -> tuple[np.ndarray, np.ndarray]:
        per_candle = self.profile.per_candle(history)
        seasonal = self.profile.over_horizon(history, self.horizon)
        variances = [np.maximum(history.trailing_variance(w, per_candle, self.profile.key), self.floor) for w in FEATURE_WINDOWS]
        columns = [np.log(v) for v in variances]
        columns.append(np.log(seasonal))
        middle = history.position_in_day(max(1, self.horizon // 2)) / DAY_MS * 2 * np.pi
        for harmonic in (1, 2, 3):
            columns += [np.sin(harmonic * middle), np.cos(harmonic * middle)]
        weekend = ((history.as_of() - _SATURDAY_MS) % WEEK_MS) < 2 * DAY_MS
        columns.append(weekend.astype(np.float64))
        drift = np.abs(history.trailing_return(60)) / np.sqrt(60 * np.maximum(
            history.trailing_variance(60), self.floor))
        columns.append(drift)
        columns.append(np.log(np.maximum(history.garch_variance(*self.garch), self.floor)))
        return np.column_stack(columns), seasonal

    def variance(self, history: History) -> np.ndarray:
        raw, seasonal = self._features(history)
        x = np.column_stack([np.ones(history.rows), (raw - self.mean) / self.std])
        return self.scale * seasonal * np.exp(x @ self.coefficients)


def qlike_regression(x: np.ndarray, y: np.ndarray, ridge: float, steps: int = 12) -> np.ndarray:
    """Coefficients b minimising mean QLIKE of forecasts exp(x b) for realized variances y (+ ridge).

    QLIKE with a log link is the Gamma deviance: convex in b, so Newton's method from the
    least-squares fit of ln y converges in a few steps. Unlike least squares on ln y it fits the
    level of the variance, which is what a QLIKE score and an interval's width depend on.
    """
    penalty = ridge * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    n = len(y)
    b = np.linalg.solve(x.T @ x + penalty, x.T @ np.log(y))
    for _ in range(steps):
        ratio = y * np.exp(-(x @ b))  # y / forecast
        gradient = (x.T @ (1.0 - ratio)) / n + penalty @ b / n
        hessian = (x.T * ratio) @ x / n + penalty / n
        step = np.linalg.solve(hessian, gradient)
        b = b - step
        if np.max(np.abs(step)) < 1e-6:
            break
    return b


def standardized(data: FitData, volatility: Any) -> np.ndarray:
    """z = horizon return / forecast realized volatility on ``data``'s rows (finite ones only)."""
    sigma = np.sqrt(data.horizon * volatility.variance(data.history)[data.rows])
    z = data.log_return() / sigma
    return z[np.isfinite(z)]


@dataclass(frozen=True)
class StandardizedQuantiles(JsonForm):
    kind: ClassVar[str] = "standardized_quantiles"
    horizon: int
    volatility: Any
    z_quantiles: np.ndarray  # (len(LEVELS),)

    @classmethod
    def fit(cls, validation: FitData, volatility: Any) -> StandardizedQuantiles:
        z = standardized(validation, volatility)
        return cls(validation.horizon, volatility, monotone(np.quantile(z, LEVELS)))

    def quantiles_for(self, history: History) -> np.ndarray:
        sigma = np.sqrt(self.horizon * self.volatility.variance(history))
        return monotone(sigma[:, None] * self.z_quantiles[None, :])


@dataclass(frozen=True)
class VolConditionalProbability(JsonForm):
    kind: ClassVar[str] = "vol_conditional"
    horizon: int
    dead_band: float
    volatility: Any
    z_grid: np.ndarray  # validation quantiles of z at ``probabilities``: the empirical distribution
    probabilities: np.ndarray

    @classmethod
    def fit(cls, validation: FitData, volatility: Any, dead_band: float, points: int = 401) -> VolConditionalProbability:
        z = standardized(validation, volatility)
        probabilities = np.linspace(0.0, 1.0, points)
        return cls(validation.horizon, dead_band, volatility, np.quantile(z, probabilities), probabilities)

    def probabilities_for(self, history: History) -> np.ndarray:
        sigma = np.sqrt(self.horizon * self.volatility.variance(history))
        with np.errstate(divide="ignore", invalid="ignore"):
            band = self.dead_band / sigma
        below_up = np.interp(band, self.z_grid, self.probabilities)  # P(z <= band / sigma)
        below_down = np.interp(-band, self.z_grid, self.probabilities)  # P(z < -band / sigma)
        # Never exactly 0 or 1: the validation sample is finite, and log loss would be infinite.
        tiny = 1.0 / (len(self.probabilities) * 10)
        p_up, p_down = np.clip(1.0 - below_up, tiny, 1 - tiny), np.clip(below_down, tiny, 1 - tiny)
        return np.column_stack([p_up, p_down])
