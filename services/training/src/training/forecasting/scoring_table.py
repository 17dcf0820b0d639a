"""Every forecaster of one horizon scored on the same rows, and the comparison table of a session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tickcast.forecast.history import History
from tickcast.forecast.scoring import (
    DistributionScore,
    ProbabilityScore,
    VolatilityScore,
    brier_rows,
    pinball_rows,
    qlike_rows,
    score_distribution,
    score_probability,
    score_volatility,
)
from tickcast.forecast.targets import HorizonTargets

from training.forecasting.decision import Scored

# The baseline each summary ratio is taken against.
CLIMATOLOGY, LAST_HOUR, FREQUENCY = "climatology", "last_hour", "trailing_frequency"


@dataclass(frozen=True)
class HorizonScores:
    horizon: int
    rows: int
    distribution: dict[str, tuple[Scored, DistributionScore]]
    volatility: dict[str, tuple[Scored, VolatilityScore]]
    probability: dict[str, tuple[Scored, ProbabilityScore]]

    def scored(self, target: str) -> list[Scored]:
        return [pair[0] for pair in getattr(self, target).values()]

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for target in ("distribution", "volatility", "probability"):
            for name, (_, score) in getattr(self, target).items():
                out |= score.metrics(f"h{self.horizon}_{name}_")
        return out


def score_horizon(
    history: History,
    targets: HorizonTargets,
    rows: np.ndarray,
    forecasters: dict[str, dict[str, tuple[Any, bool]]],  # target -> name -> (forecaster, is_model)
    dead_band: float,
) -> HorizonScores:
    """Score every forecaster on the rows where every forecast and every outcome is known."""
    horizon = targets.horizon
    outputs: dict[str, dict[str, np.ndarray]] = {"distribution": {}, "volatility": {}, "probability": {}}
    for name, (forecaster, _) in forecasters["distribution"].items():
        outputs["distribution"][name] = forecaster.quantiles_for(history)[rows]
    for name, (forecaster, _) in forecasters["volatility"].items():
        outputs["volatility"][name] = forecaster.variance(history)[rows] * horizon
    for name, (forecaster, _) in forecasters["probability"].items():
        outputs["probability"][name] = forecaster.probabilities_for(history)[rows]
    outcome = targets.log_return[rows]
    realized = targets.realized_variance[rows]
    keep = np.isfinite(outcome) & np.isfinite(realized) & (realized > 0)
    for per_target in outputs.values():
        for values in per_target.values():
            keep &= np.all(np.isfinite(values.reshape(len(rows), -1)), axis=1)
    outcome, realized = outcome[keep], realized[keep]
    up = (outcome > dead_band).astype(np.float64)

    def is_model(target: str, name: str) -> bool:
        return forecasters[target][name][1]

    distribution = {}
    for name, quantiles in outputs["distribution"].items():
        score = score_distribution(quantiles[keep], outcome)
        coverage = {nominal: s.coverage for nominal, s in score.intervals.items()}
        distribution[name] = (Scored(name, is_model("distribution", name), pinball_rows(quantiles[keep], outcome),
                                     coverage), score)
    volatility = {}
    for name, variance in outputs["volatility"].items():
        volatility[name] = (Scored(name, is_model("volatility", name), qlike_rows(variance[keep], realized)),
                            score_volatility(variance[keep], realized))
    probability = {}
    for name, values in outputs["probability"].items():
        probability[name] = (Scored(name, is_model("probability", name), brier_rows(values[keep, 0], up)),
                             score_probability(values[keep, 0], up))
    return HorizonScores(horizon, int(keep.sum()), distribution, volatility, probability)


def _ratio(value: float, reference: float | None) -> str:
    return "-" if reference is None or reference == 0 else f"{value / reference:.3f}"


def horizon_table(scores: HorizonScores, served: dict[str, str] | None = None) -> str:
    """The comparison of one horizon: each forecaster with its loss and its ratio to each baseline."""
    served = served or {}
    lines = [f"horizon {scores.horizon} candles, {scores.rows} scored rows"]
    dist = scores.distribution
    clim = dist.get(CLIMATOLOGY)
    lines.append("  distribution   pinball(bp)  skill-vs-best-baseline  cov50  cov80  cov90  width80(bp)  "
                 "width80/climatology  PIT(obs/expected)")
    best = min((s.loss for s, _ in dist.values() if not s.is_model), default=None)
    for name, (scored, score) in dist.items():
        pit = " ".join(f"{o / e:.2f}" for o, e in zip(score.pit_observed, score.pit_expected, strict=True))
        width80 = score.intervals[0.8].mean_width
        lines.append(
            f"  {_mark(name, served.get('distribution'))}{name:<22} {score.pinball * 1e4:9.4f}   "
            f"{_skill(scored.loss, best):>10}   {score.intervals[0.5].coverage:.3f}  "
            f"{score.intervals[0.8].coverage:.3f}  {score.intervals[0.9].coverage:.3f}  {width80 * 1e4:9.2f}   "
            f"{_ratio(width80, clim[1].intervals[0.8].mean_width if clim else None):>8}   {pit}")
    vol = scores.volatility
    last_hour = vol.get(LAST_HOUR)
    lines.append("  volatility     QLIKE     QLIKE/last_hour  skill-vs-best-baseline  MSE(ln RV)  mean vol(bp)")
    best = min((s.loss for s, _ in vol.values() if not s.is_model), default=None)
    for name, (scored, score) in vol.items():
        lines.append(
            f"  {_mark(name, served.get('volatility'))}{name:<22} {score.qlike:8.4f}  "
            f"{_ratio(score.qlike, last_hour[1].qlike if last_hour else None):>8}  {_skill(scored.loss, best):>10}   "
            f"{score.mse_log:8.4f}  {score.mean_forecast_vol * 1e4:8.2f}")
    prob = scores.probability
    freq = prob.get(FREQUENCY)
    lines.append("  p_up           Brier     Brier/trailing_frequency  log loss  reliability (forecast->observed, rows)")
    for name, (scored, score) in prob.items():
        reliability = " ".join(f"{f:.2f}->{o:.2f}({n})" for f, o, n in score.reliability)
        lines.append(
            f"  {_mark(name, served.get('probability'))}{name:<22} {score.brier:8.5f}  "
            f"{_ratio(score.brier, freq[1].brier if freq else None):>8}   {score.log_loss:8.4f}  {reliability}")
    return "\n".join(lines)


def _mark(name: str, served: str | None) -> str:
    return "* " if name == served else "  "


def _skill(loss: float, best: float | None) -> str:
    return "-" if best is None or best == 0 else f"{1 - loss / best:+.4f}"
