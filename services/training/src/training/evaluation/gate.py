"""The champion gate: a candidate is promoted only when it earns it on the same test period.

It must (1) have a lower MAE than persistence by the configured margin, (2) do so with
statistical significance (Diebold-Mariano test on paired absolute errors, with a
HAC variance because overlapping H-candle returns make errors autocorrelated), and
(3) have a lower MAE than the current champion evaluated on exactly the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tickcast.diebold_mariano import diebold_mariano


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    candidate_version: str
    candidate_mae: float
    persistence_mae: float
    margin: float
    alpha: float
    dm_statistic: float
    p_value: float
    champion_version: str | None = None
    champion_mae: float | None = None

    def tags(self, prefix: str = "gate.") -> dict[str, str]:
        values = {
            "decision": "promote" if self.promote else "keep",
            "reason": self.reason,
            "candidate_version": self.candidate_version,
            "candidate_mae": f"{self.candidate_mae:.8g}",
            "persistence_mae": f"{self.persistence_mae:.8g}",
            "margin": f"{self.margin:g}",
            "alpha": f"{self.alpha:g}",
            "dm_statistic": f"{self.dm_statistic:.4f}",
            "p_value": f"{self.p_value:.4g}",
            "champion_version": self.champion_version or "",
            "champion_mae": "" if self.champion_mae is None else f"{self.champion_mae:.8g}",
        }
        return {f"{prefix}{key}": value for key, value in values.items()}


def decide(
    candidate_version: str,
    candidate_errors: np.ndarray,
    persistence_errors: np.ndarray,
    horizon: int,
    margin: float,
    alpha: float,
    champion_version: str | None = None,
    champion_errors: np.ndarray | None = None,
    champion_problem: str | None = None,
) -> GateDecision:
    """Apply the gate to absolute errors on the same test rows.

    ``champion_problem`` says why the current champion could not be evaluated on these
    rows; then nothing is promoted automatically (a manual ``promote`` can still do it).
    """
    candidate_errors = np.abs(candidate_errors)
    persistence_errors = np.abs(persistence_errors)
    candidate_mae = float(candidate_errors.mean())
    persistence_mae = float(persistence_errors.mean())
    test = diebold_mariano(candidate_errors, persistence_errors, horizon)
    champion_mae = None if champion_errors is None else float(np.abs(champion_errors).mean())

    def decision(promote: bool, reason: str) -> GateDecision:
        return GateDecision(
            promote=promote,
            reason=reason,
            candidate_version=candidate_version,
            candidate_mae=candidate_mae,
            persistence_mae=persistence_mae,
            margin=margin,
            alpha=alpha,
            dm_statistic=test.statistic,
            p_value=test.p_value,
            champion_version=champion_version,
            champion_mae=champion_mae,
        )

    required = persistence_mae * (1 - margin)
    if not candidate_mae < required:
        reason = f"MAE {candidate_mae:.6g} not below persistence {persistence_mae:.6g} x (1 - {margin:g})"
        return decision(False, reason)
    if not test.p_value < alpha:
        reason = f"better than persistence but not significantly (DM p={test.p_value:.3g} >= {alpha:g})"
        return decision(False, reason)
    if champion_version is not None and (champion_problem or champion_errors is None):
        problem = champion_problem or "not evaluated on this test period"
        return decision(False, f"champion v{champion_version} not comparable: {problem}")
    if champion_version is not None and champion_mae is not None and not candidate_mae < champion_mae:
        reason = f"MAE {candidate_mae:.6g} not below champion v{champion_version} {champion_mae:.6g}"
        return decision(False, reason)
    beaten = "no champion yet" if champion_version is None else f"champion v{champion_version} {champion_mae:.6g}"
    reason = (
        f"MAE {candidate_mae:.6g} beats persistence {persistence_mae:.6g} "
        f"(DM p={test.p_value:.3g}) and {beaten}"
    )
    return decision(True, reason)
