"""Baselines: each target's simple forecasters that a model must beat to be served.

Pure numpy / scipy / arch over return history, fitted on training rows, serialisable as JSON.
Volatility forecasters return the per-candle variance expected over the horizon (the realized
volatility forecast is sqrt(H * that)); distribution forecasters the quantiles at ``LEVELS`` of
the horizon log return; probability forecasters (p_up, p_down).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from tickcast.forecast.fitdata import FitData
from tickcast.forecast.history import History
from tickcast.forecast.json_form import JsonForm
from tickcast.forecast.quantiles import LEVELS, monotone
from tickcast.forecast.seasonal import SeasonalProfile

# r^2 of a candle whose price did not move is 0; a log of it needs a floor. Relative to the fit
# period's mean variance, so it means the same for every asset and interval.
VARIANCE_FLOOR_RATIO = 0.01


def finite_rows(data: FitData, *arrays: np.ndarray) -> np.ndarray:
    keep = np.ones(len(data.rows), dtype=bool)
    for array in arrays:
        keep &= np.isfinite(array)
    return keep


# --- volatility ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LastHourVolatility(JsonForm):
    """The mean r^2 of the last hour's candles, carried forward over the horizon."""

    kind: ClassVar[str] = "last_hour"
    horizon: int
    window: int = 60

    @classmethod
    def fit(cls, data: FitData, window: int = 60) -> LastHourVolatility:
        return cls(data.horizon, window)

    def variance(self, history: History) -> np.ndarray:
        return history.trailing_variance(self.window)


@dataclass(frozen=True)
class LogHarVolatility(JsonForm):
    """Corsi's HAR in logs: ln RV on ln of the trailing 1-candle, 1-hour and 1-day variances.

    Inputs and target are divided by the time-of-day profile (fitted on the fit rows), and the
    forecast multiplied back by the profile over the horizon's own candles; a last scale factor
    makes the mean of realized / forecast 1 on the fit rows (the QLIKE-optimal scale).
    """

    kind: ClassVar[str] = "log_har"
    horizon: int
    windows: tuple[int, ...]
    coefficients: np.ndarray  # const, one per window
    floor: float
    scale: float
    profile: SeasonalProfile

    @classmethod
    def fit(cls, data: FitData, windows: tuple[int, ...] = (1, 60, 1440)) -> LogHarVolatility:
        profile = SeasonalProfile.fit(_subset(data.history, data.rows))
        target = data.per_candle_variance()
        floor = VARIANCE_FLOOR_RATIO * float(np.nanmean(target))
        unfitted = cls(data.horizon, tuple(windows), np.zeros(len(windows) + 1), floor, 1.0, profile)
        design, seasonal = unfitted._design(data.history)
        design, seasonal = design[data.rows], seasonal[data.rows]
        keep = finite_rows(data, target, *design.T) & (target > 0)
        y = np.log(target[keep] / seasonal[keep])
        coefficients, *_ = np.linalg.lstsq(design[keep], y, rcond=None)
        fitted = cls(data.horizon, tuple(windows), coefficients, floor, 1.0, profile)
        predicted = fitted.variance(data.history)[data.rows]
        ok = keep & np.isfinite(predicted)
        return cls(data.horizon, tuple(windows), coefficients, floor, float(np.mean(target[ok] / predicted[ok])), profile)

    def _design(self, history: History) -> tuple[np.ndarray, np.ndarray]:
        per_candle = self.profile.per_candle(history)
        columns = [np.ones(history.rows)]
        for window in self.windows:
            columns.append(np.log(np.maximum(history.trailing_variance(window, per_candle, self.profile.key), self.floor)))
        return np.column_stack(columns), self.profile.over_horizon(history, self.horizon)

    def variance(self, history: History) -> np.ndarray:
        design, seasonal = self._design(history)
        return self.scale * seasonal * np.exp(design @ self.coefficients)


@dataclass(frozen=True)
class GarchVolatility(JsonForm):
    """GARCH(1,1) with zero mean, fitted by the ``arch`` package; served by the same recursion in numpy."""

    kind: ClassVar[str] = "garch"
    horizon: int
    omega: float
    alpha: float
    beta: float

    # Returns are fitted in basis points: arch's optimiser is happier with values near 1.
    UNIT: ClassVar[float] = 1e4

    @classmethod
    def fit(cls, data: FitData, max_rows: int = 100_000) -> GarchVolatility:
        from arch import arch_model

        returns = data.history.returns[0][data.rows[-max_rows:]]
        returns = returns[np.isfinite(returns)] * cls.UNIT
        result = arch_model(returns, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False).fit(
            disp="off", show_warning=False)
        params = result.params
        return cls(data.horizon, float(params["omega"]) / cls.UNIT**2, float(params["alpha[1]"]),
                   float(params["beta[1]"]))

    def variance(self, history: History) -> np.ndarray:
        next_variance = history.garch_variance(self.omega, self.alpha, self.beta)
        persistence = self.alpha + self.beta
        if persistence >= 1:
            return next_variance
        unconditional = self.omega / (1 - persistence)
        # mean over k = 1..H of E[s2(t+k)] = u + persistence^(k-1) (s2(t+1) - u)
        decay = (1 - persistence**self.horizon) / (self.horizon * (1 - persistence))
        return unconditional + decay * (next_variance - unconditional)


# --- distribution -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClimatologicalQuantiles(JsonForm):
    """Empirical quantiles of the horizon returns of the trailing ``days`` of the fit period, for every row."""

    kind: ClassVar[str] = "climatology"
    horizon: int
    quantiles: np.ndarray  # (len(LEVELS),)
    days: float = 30.0

    @classmethod
    def fit(cls, data: FitData, days: float = 30.0) -> ClimatologicalQuantiles:
        recent = data.targets.log_return[data.last_days(days)]
        recent = recent[np.isfinite(recent)]
        return cls(data.horizon, monotone(np.quantile(recent, LEVELS)), days)

    def quantiles_for(self, history: History) -> np.ndarray:
        return np.broadcast_to(self.quantiles, (history.rows, len(LEVELS))).copy()


@dataclass(frozen=True)
class ScaledStudentT(JsonForm):
    """A Student-t (zero location) scaled by a baseline volatility: quantile = t_q(df) * scale * sqrt(H v).

    ``df`` and ``scale`` are fitted by maximum likelihood on the fit rows' standardised returns.
    """

    kind: ClassVar[str] = "student_t"
    horizon: int
    volatility: Any  # a volatility forecaster
    df: float
    scale: float

    @classmethod
    def fit(cls, data: FitData, volatility: Any, max_rows: int = 50_000) -> ScaledStudentT:
        sigma = np.sqrt(data.horizon * volatility.variance(data.history)[data.rows])
        z = data.log_return() / sigma
        z = z[np.isfinite(z)]
        step = max(1, len(z) // max_rows)
        df, _, scale = stats.t.fit(z[::step], floc=0)
        return cls(data.horizon, volatility, float(max(df, 2.05)), float(scale))

    def quantiles_for(self, history: History) -> np.ndarray:
        sigma = np.sqrt(self.horizon * self.volatility.variance(history))
        return sigma[:, None] * (self.scale * stats.t.ppf(LEVELS, self.df))[None, :]


# --- p_up / p_down ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailingFrequency(JsonForm):
    """How often the horizon return ended above +dead band / below -dead band in the trailing days."""

    kind: ClassVar[str] = "trailing_frequency"
    horizon: int
    dead_band: float
    p_up: float
    p_down: float
    days: float = 30.0

    @classmethod
    def fit(cls, data: FitData, dead_band: float, days: float = 30.0) -> TrailingFrequency:
        recent = data.targets.log_return[data.last_days(days)]
        recent = recent[np.isfinite(recent)]
        return cls(data.horizon, dead_band, float(np.mean(recent > dead_band)), float(np.mean(recent < -dead_band)),
                   days)

    def probabilities_for(self, history: History) -> np.ndarray:
        return np.broadcast_to(np.array([self.p_up, self.p_down]), (history.rows, 2)).copy()


def _subset(history: History, rows: np.ndarray) -> History:
    """The fit rows' returns only (for estimates that must not see later rows)."""
    return History(history.returns[:, rows], history.as_of_ms[:, rows], history.interval_ms, False)


