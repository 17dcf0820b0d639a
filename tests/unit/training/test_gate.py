"""The champion gate: significance against persistence, and the champion on the same rows."""

from __future__ import annotations

import numpy as np
import pytest

from tickcast.diebold_mariano import diebold_mariano
from training.evaluation.gate import decide

RNG = np.random.default_rng(42)
ACTUAL = RNG.standard_t(df=4, size=4000) * 0.001  # fat tails, like minute returns


def test_diebold_mariano_detects_a_real_improvement_and_not_noise() -> None:
    persistence = np.abs(ACTUAL)
    better = np.abs(ACTUAL - 0.3 * ACTUAL)
    assert diebold_mariano(better, persistence, 5).p_value < 1e-6
    noisy = np.abs(ACTUAL - RNG.normal(0, 0.0002, ACTUAL.size))
    assert diebold_mariano(noisy, persistence, 5).p_value > 0.5  # worse, not better


def test_promotes_a_significant_improvement_when_there_is_no_champion() -> None:
    decision = decide("3", ACTUAL - 0.3 * ACTUAL, ACTUAL, horizon=5, margin=0.0, alpha=0.05)
    assert decision.promote and "no champion yet" in decision.reason
    assert decision.candidate_mae < decision.persistence_mae
    assert decision.tags()["gate.decision"] == "promote"


def test_refuses_what_does_not_beat_persistence_by_the_margin() -> None:
    slightly = ACTUAL - 0.02 * ACTUAL  # 2% better
    assert not decide("3", slightly, ACTUAL, 5, margin=0.05, alpha=0.05).promote
    noise = ACTUAL - RNG.normal(0, 0.0003, ACTUAL.size)
    refused = decide("3", noise, ACTUAL, 5, margin=0.0, alpha=0.05)
    assert not refused.promote and "not below persistence" in refused.reason


def test_refuses_an_insignificant_improvement() -> None:
    # 1% lower MAE on average, but the paired differences are all over the place.
    persistence = np.abs(ACTUAL[:200])
    factor = 1 + RNG.normal(0, 0.25, 200)
    factor -= (persistence @ (factor - 1)) / persistence.sum() + 0.01  # weighted mean exactly 0.99
    assert factor.min() > 0
    decision = decide("3", persistence * factor, persistence, 5, margin=0.0, alpha=0.05)
    assert decision.candidate_mae < decision.persistence_mae * 0.995
    assert decision.p_value > 0.05
    assert not decision.promote and "not significantly" in decision.reason


def test_must_beat_the_champion_on_the_same_rows() -> None:
    candidate = ACTUAL - 0.3 * ACTUAL
    champion = ACTUAL - 0.4 * ACTUAL
    kept = decide("4", candidate, ACTUAL, 5, 0.0, 0.05, champion_version="2", champion_errors=champion)
    assert not kept.promote and "champion v2" in kept.reason
    assert kept.champion_mae == pytest.approx(np.abs(champion).mean())
    promoted = decide("4", champion, ACTUAL, 5, 0.0, 0.05, champion_version="2", champion_errors=candidate)
    assert promoted.promote


def test_an_incomparable_champion_blocks_automatic_promotion() -> None:
    candidate = ACTUAL - 0.3 * ACTUAL
    decision = decide("4", candidate, ACTUAL, 5, 0.0, 0.05, champion_version="2", champion_problem="lacks rsi")
    assert not decision.promote and "lacks rsi" in decision.reason
    assert not decide("4", candidate, ACTUAL, 5, 0.0, 0.05, champion_version="2").promote
