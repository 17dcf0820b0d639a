"""Live promotion: a challenger becomes champion when it beats the champion on the same matured predictions.

Pure logic, no I/O (``inference.promoter`` applies and records the decisions). Opt-in
(``INFERENCE_LIVE_PROMOTION``). A decision is taken for each challenger once it shares at least
``min_count`` matured predictions with the champion, and again after every ``min_count`` further
matured rows: the challenger's mean absolute error must be below the champion's, and a one-sided
Diebold-Mariano test on the paired losses (the same one the offline gates use) must give p below
the alpha of that look.

Looking again and again at the same pair would, on a random walk, promote sooner or later by
chance; so the k-th look at a pair is tested at alpha x 6 / (pi^2 k^2), whose sum over every look
is alpha: the chance of ever promoting a challenger that is not better stays below alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from tickcast.diebold_mariano import diebold_mariano

from inference.leaderboard import Leaderboard, ModelKey

TAG_PREFIX = "live_promotion."


@dataclass(frozen=True)
class LivePromotionDecision:
    promote: bool
    reason: str
    model_name: str
    challenger_version: str
    champion_version: str
    count: int  # paired matured predictions compared
    min_count: int
    challenger_mae: float
    champion_mae: float
    alpha: float  # the configured alpha, spent over every look at this pair
    look: int  # 1 for the first decision on this (champion, challenger) pair
    alpha_at_look: float
    dm_statistic: float
    p_value: float
    decided_at_ms: int

    def tags(self, prefix: str = TAG_PREFIX) -> dict[str, str]:
        """The registry tags of the decision, named like the offline gate's (``gate.*``)."""
        values = {
            "decision": "promote" if self.promote else "keep",
            "reason": self.reason,
            "candidate_version": self.challenger_version,
            "candidate_mae": f"{self.challenger_mae:.8g}",
            "champion_version": self.champion_version,
            "champion_mae": f"{self.champion_mae:.8g}",
            "count": str(self.count),
            "min_count": str(self.min_count),
            "alpha": f"{self.alpha:g}",
            "look": str(self.look),
            "alpha_at_look": f"{self.alpha_at_look:.4g}",
            "dm_statistic": f"{self.dm_statistic:.4f}",
            "p_value": f"{self.p_value:.4g}",
            "decided_at_ms": str(self.decided_at_ms),
        }
        return {f"{prefix}{key}": value for key, value in values.items()}


def alpha_at_look(alpha: float, look: int) -> float:
    """The share of ``alpha`` spent on the ``look``-th decision; summed over every look it is ``alpha``."""
    return alpha * 6 / (math.pi**2 * look**2)


def decide(
    model_name: str,
    champion_version: str,
    challenger_version: str,
    champion_losses: np.ndarray,
    challenger_losses: np.ndarray,
    horizon: int,
    min_count: int,
    alpha: float,
    now_ms: int,
    look: int = 1,
) -> LivePromotionDecision:
    """Promote when the challenger's paired losses are lower, significantly, on at least ``min_count`` pairs."""
    threshold = alpha_at_look(alpha, look)
    count = len(challenger_losses)
    test = diebold_mariano(challenger_losses, champion_losses, horizon)
    challenger_mae = float(np.mean(challenger_losses)) if count else float("nan")
    champion_mae = float(np.mean(champion_losses)) if count else float("nan")

    def decision(promote: bool, reason: str) -> LivePromotionDecision:
        return LivePromotionDecision(
            promote=promote, reason=reason, model_name=model_name, challenger_version=challenger_version,
            champion_version=champion_version, count=count, min_count=min_count, challenger_mae=challenger_mae,
            champion_mae=champion_mae, alpha=alpha, look=look, alpha_at_look=threshold, dm_statistic=test.statistic, p_value=test.p_value,
            decided_at_ms=now_ms,
        )

    if count < min_count:
        return decision(False, f"{count} paired matured predictions, fewer than {min_count}")
    if not challenger_mae < champion_mae:
        return decision(False, f"live MAE {challenger_mae:.6g} not below champion v{champion_version} "
                               f"{champion_mae:.6g}")
    if not test.p_value < threshold:
        return decision(False, f"below champion v{champion_version} but not significantly "
                               f"(DM p={test.p_value:.3g} >= {threshold:.3g}, look {look})")
    return decision(True, f"live MAE {challenger_mae:.6g} beats champion v{champion_version} {champion_mae:.6g} "
                          f"on {count} matured predictions (DM p={test.p_value:.3g})")


class LivePromotion:
    """When to decide: per challenger, once ``min_count`` rows are shared, then every ``min_count`` new rows."""

    def __init__(self, min_count: int, alpha: float, horizon: int) -> None:
        self._min_count = min_count
        self._alpha = alpha
        self._horizon = horizon
        self._decided_at: dict[tuple[ModelKey, ModelKey], int] = {}  # (champion, challenger) -> matured_total
        self._looks: dict[tuple[ModelKey, ModelKey], int] = {}

    def decisions(self, leaderboard: Leaderboard, champion: ModelKey, challengers: list[ModelKey],
                  now_ms: int) -> list[LivePromotionDecision]:
        """The decisions due now, at most one promotion (the challenger with the lowest MAE among those earning it)."""
        due: list[LivePromotionDecision] = []
        for challenger in challengers:
            if challenger == champion or challenger[0] != champion[0]:
                continue
            pair = (champion, challenger)
            last = self._decided_at.get(pair)
            if last is not None and leaderboard.matured_total - last < self._min_count:
                continue
            rows = leaderboard.shared_rows([champion, challenger])
            if len(rows) < self._min_count:
                continue
            self._decided_at[pair] = leaderboard.matured_total
            look = self._looks[pair] = self._looks.get(pair, 0) + 1
            due.append(decide(champion[0], champion[1], challenger[1], leaderboard.losses(champion, rows),
                              leaderboard.losses(challenger, rows), self._horizon, self._min_count,
                              self._alpha, now_ms, look))
        promoted = [d for d in due if d.promote]
        if len(promoted) > 1:  # one new champion: the best; the others are kept, and say why
            best = min(promoted, key=lambda d: d.challenger_mae)
            due = [d if d is best or not d.promote else _outranked(d, best) for d in due]
        return due


def _outranked(decision: LivePromotionDecision, best: LivePromotionDecision) -> LivePromotionDecision:
    return replace(decision, promote=False,
                   reason=f"{decision.reason}, but v{best.challenger_version} did better ({best.challenger_mae:.6g})")
