"""Scores of forecasts against what happened: per-row losses (for the paired gate test) and summaries.

- distribution: pinball loss averaged over ``LEVELS``; coverage and mean width of the 50/80/90%
  intervals; the PIT histogram (share of outcomes between consecutive quantiles against the
  share the levels promise);
- volatility: QLIKE of the variance, y/p - ln(y/p) - 1 (lower is better, robust to noise in the
  realized proxy), and the squared error of ln RV; rows whose realized variance is 0 (no move
  over the horizon) are left out of both, for every forecaster alike;
- probability: Brier score, log loss, and a reliability table (mean forecast against observed
  frequency per bin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tickcast.forecast.quantiles import INTERVALS, LEVELS, interval


def pinball_rows(quantiles: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Mean pinball loss over the levels, per row."""
    levels = np.asarray(LEVELS)[None, :]
    error = outcome[:, None] - quantiles
    return np.mean(np.maximum(levels * error, (levels - 1) * error), axis=1)


def qlike_rows(forecast_variance: np.ndarray, realized_variance: np.ndarray) -> np.ndarray:
    ratio = realized_variance / forecast_variance
    return ratio - np.log(ratio) - 1.0


def brier_rows(probability: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    return (probability - outcome) ** 2


def log_loss_rows(probability: np.ndarray, outcome: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    p = np.clip(probability, eps, 1 - eps)
    return -(outcome * np.log(p) + (1 - outcome) * np.log(1 - p))


@dataclass(frozen=True)
class IntervalScore:
    nominal: float
    coverage: float
    mean_width: float


@dataclass(frozen=True)
class DistributionScore:
    pinball: float
    intervals: dict[float, IntervalScore]
    pit_observed: np.ndarray  # share of outcomes per bin between consecutive quantiles
    pit_expected: np.ndarray

    def metrics(self, prefix: str = "") -> dict[str, float]:
        values = {f"{prefix}pinball": self.pinball}
        for nominal, score in self.intervals.items():
            values[f"{prefix}coverage_{int(nominal * 100)}"] = score.coverage
            values[f"{prefix}width_{int(nominal * 100)}"] = score.mean_width
        return values


def score_distribution(quantiles: np.ndarray, outcome: np.ndarray) -> DistributionScore:
    intervals = {}
    for nominal in INTERVALS:
        low, high = interval(quantiles, nominal)
        inside = (outcome >= low) & (outcome <= high)
        intervals[nominal] = IntervalScore(nominal, float(inside.mean()), float(np.mean(high - low)))
    below = (outcome[:, None] > quantiles).sum(axis=1)
    observed = np.bincount(below, minlength=len(LEVELS) + 1) / len(outcome)
    expected = np.diff(np.concatenate([[0.0], LEVELS, [1.0]]))
    return DistributionScore(float(pinball_rows(quantiles, outcome).mean()), intervals, observed, expected)


@dataclass(frozen=True)
class VolatilityScore:
    qlike: float
    mse_log: float  # of ln realized volatility
    mean_forecast_vol: float

    def metrics(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}qlike": self.qlike, f"{prefix}mse_log_rv": self.mse_log,
                f"{prefix}mean_vol": self.mean_forecast_vol}


def score_volatility(forecast_variance: np.ndarray, realized_variance: np.ndarray) -> VolatilityScore:
    log_error = 0.5 * (np.log(realized_variance) - np.log(forecast_variance))
    return VolatilityScore(float(qlike_rows(forecast_variance, realized_variance).mean()),
                           float(np.mean(log_error**2)), float(np.mean(np.sqrt(forecast_variance))))


@dataclass(frozen=True)
class ProbabilityScore:
    brier: float
    log_loss: float
    reliability: list[tuple[float, float, int]]  # (mean forecast, observed frequency, rows) per bin

    def metrics(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}brier": self.brier, f"{prefix}log_loss": self.log_loss}


def score_probability(probability: np.ndarray, outcome: np.ndarray, bins: int = 10) -> ProbabilityScore:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probability, edges) - 1, 0, bins - 1)
    table = []
    for b in range(bins):
        chosen = which == b
        if chosen.any():
            table.append((float(probability[chosen].mean()), float(outcome[chosen].mean()), int(chosen.sum())))
    return ProbabilityScore(float(brier_rows(probability, outcome).mean()),
                            float(log_loss_rows(probability, outcome).mean()), table)
