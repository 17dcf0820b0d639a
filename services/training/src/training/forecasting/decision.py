"""The gate of each target: a model is served only when it beats that target's best baseline.

On the same test rows, the model's mean loss must be below the best baseline's by ``margin``, a
one-sided Diebold-Mariano test (HAC variance, lag >= H - 1) on the paired losses must give
p < ``alpha``, and an interval forecaster's 80% and 90% coverage must be within
``coverage_tolerance`` of nominal. Otherwise a baseline is served, labelled as such: the best one
by loss among those that pass the coverage check (volatility: the last hour's, unless another
baseline beats it by the volatility margin, significantly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tickcast.diebold_mariano import diebold_mariano

COVERAGE_CHECKED = (0.8, 0.9)


@dataclass(frozen=True)
class Scored:
    """One forecaster's losses on the test rows, and the coverage of its intervals if it has any."""

    name: str
    is_model: bool
    losses: np.ndarray
    coverage: dict[float, float] = field(default_factory=dict)

    @property
    def loss(self) -> float:
        return float(np.mean(self.losses))

    def coverage_problem(self, tolerance: float) -> str | None:
        for nominal in COVERAGE_CHECKED:
            if nominal in self.coverage and abs(self.coverage[nominal] - nominal) > tolerance:
                return f"{int(nominal * 100)}% coverage {self.coverage[nominal]:.3f} not within ±{tolerance:g}"
        return None


@dataclass(frozen=True)
class TargetDecision:
    target: str
    horizon: int
    served: str  # name of the served forecaster
    served_is_model: bool
    reason: str
    best_baseline: str
    numbers: dict[str, float]

    def tags(self) -> dict[str, str]:
        prefix = f"forecast.h{self.horizon}.{self.target}."
        values: dict[str, Any] = {"served": self.served, "served_is_model": str(self.served_is_model).lower(),
                                  "reason": self.reason, "best_baseline": self.best_baseline}
        values |= {key: f"{value:.6g}" for key, value in self.numbers.items()}
        return {prefix + key: str(value) for key, value in values.items()}


def beats(challenger: Scored, incumbent: Scored, horizon: int, margin: float, alpha: float) -> tuple[bool, float, str]:
    """Does ``challenger`` have a lower loss than ``incumbent`` by ``margin``, significantly? (ok, p, why)"""
    test = diebold_mariano(challenger.losses, incumbent.losses, horizon)
    if not challenger.loss < incumbent.loss * (1 - margin):
        return False, test.p_value, (f"loss {challenger.loss:.6g} not below {incumbent.name} {incumbent.loss:.6g}"
                                     f" x (1 - {margin:g})")
    if not test.p_value < alpha:
        return False, test.p_value, f"below {incumbent.name} but not significantly (DM p={test.p_value:.3g})"
    return True, test.p_value, f"loss {challenger.loss:.6g} < {incumbent.name} {incumbent.loss:.6g} (DM p={test.p_value:.3g})"


def decide_target(
    target: str,
    horizon: int,
    baselines: list[Scored],
    models: list[Scored],
    margin: float,
    alpha: float,
    coverage_tolerance: float,
    reference: str | None = None,
    reference_margin: float = 0.0,
) -> TargetDecision:
    """Choose the served forecaster of one target; ``reference`` (volatility: last hour) is the baseline
    every other forecaster must also beat by ``reference_margin`` to be served instead of it."""
    best = min(baselines, key=lambda s: s.loss)
    numbers: dict[str, float] = {f"loss.{s.name}": s.loss for s in baselines + models}
    by_name = {s.name: s for s in baselines}

    def acceptable(candidate: Scored) -> tuple[bool, str]:
        problem = candidate.coverage_problem(coverage_tolerance)
        if problem:
            return False, problem
        if reference is not None and candidate.name != reference:
            ok, p, why = beats(candidate, by_name[reference], horizon, reference_margin, alpha)
            numbers[f"p_vs_{reference}.{candidate.name}"] = p
            if not ok:
                return False, why
        return True, ""

    reasons = []
    for model in sorted(models, key=lambda s: s.loss):
        ok, p, why = beats(model, best, horizon, margin, alpha)
        numbers[f"p_vs_best.{model.name}"] = p
        if ok:
            fine, problem = acceptable(model)
            if fine:
                return TargetDecision(target, horizon, model.name, True, f"{model.name}: {why}", best.name, numbers)
            why = problem
        reasons.append(f"{model.name}: {why}")
    for baseline in sorted(baselines, key=lambda s: s.loss):
        fine, problem = acceptable(baseline)
        if fine:
            reasons.append(f"best acceptable baseline {baseline.name}")
            return TargetDecision(target, horizon, baseline.name, False, "; ".join(reasons), best.name, numbers)
        reasons.append(f"baseline {baseline.name}: {problem}")
    fallback = by_name[reference] if reference else best
    reasons.append(f"no baseline passes; {fallback.name} served")
    return TargetDecision(target, horizon, fallback.name, False, "; ".join(reasons), best.name, numbers)
