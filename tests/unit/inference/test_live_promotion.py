"""Live promotion: a challenger that truly predicts better is promoted; on a random walk none ever is."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.leaderboard import Leaderboard
from inference.live_promotion import LivePromotion, decide
from tickcast.contracts import Prediction
from unit.inference.linear_models import BASE_MS, MINUTE_MS

CHAMPION = ("m", "1")
CHALLENGER = ("m", "2")
MIN_COUNT = 200
ALPHA = 0.05


def test_too_few_pairs_are_never_promoted():
    losses = np.full(50, 0.001)
    decision = decide("m", "1", "2", losses * 2, losses, horizon=1, min_count=100, alpha=ALPHA, now_ms=0)
    assert not decision.promote and "fewer than 100" in decision.reason
    assert decision.tags()["live_promotion.decision"] == "keep"


def test_lower_but_not_significantly_lower_is_kept():
    rng = np.random.default_rng(1)
    champion = np.abs(rng.normal(0, 1, 300))
    challenger = np.abs(champion + rng.normal(0, 1, 300)) * 0.99 + 0.0  # noisy, barely lower on average
    challenger *= champion.mean() * 0.999 / challenger.mean()
    decision = decide("m", "1", "2", champion, challenger, horizon=1, min_count=100, alpha=ALPHA, now_ms=0)
    assert not decision.promote and decision.p_value >= ALPHA and "not significantly" in decision.reason


def test_clearly_lower_losses_are_promoted_and_tagged_like_the_gate():
    rng = np.random.default_rng(2)
    champion = np.abs(rng.normal(0, 1, 300))
    decision = decide("m", "1", "2", champion, champion * 0.8, horizon=1, min_count=100, alpha=ALPHA,
                      now_ms=123)
    assert decision.promote and decision.p_value < ALPHA and decision.count == 300
    tags = decision.tags()
    assert tags["live_promotion.decision"] == "promote" and tags["live_promotion.candidate_version"] == "2"
    assert float(tags["live_promotion.p_value"]) < ALPHA


def _replay(returns: np.ndarray, champion_predicts, challenger_predicts) -> list:
    """Feed a price path through the leaderboard: both models predict every next one-candle return."""
    board = Leaderboard(window=5000, max_pending_per_symbol=10, dead_band=0.0)
    promotion = LivePromotion(MIN_COUNT, ALPHA, horizon=1)
    closes = 100.0 * np.exp(np.cumsum(returns))
    decisions = []
    for t in range(1, len(returns) - 1):
        as_of = BASE_MS + t * MINUTE_MS
        for (name, version), forecast in ((CHAMPION, champion_predicts), (CHALLENGER, challenger_predicts)):
            predicted = float(forecast(returns[t]))
            board.on_prediction(Prediction(
                symbol="BTCUSDT", model_name=name, model_version=version, horizon=1, as_of_ms=as_of,
                target_time_ms=as_of + MINUTE_MS, predicted_return=predicted,
                predicted_price=closes[t] * math.exp(predicted), direction="flat", emitted_ms=as_of), closes[t])
        board.on_candle("BTCUSDT", as_of + MINUTE_MS, float(closes[t + 1]))
        decisions += promotion.decisions(board, CHAMPION, [CHALLENGER], now_ms=as_of)
    return decisions


def _ar1(n: int, phi: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 0.001, n)
    returns = np.zeros(n)
    for t in range(1, n):
        returns[t] = phi * returns[t - 1] + noise[t]
    return returns


def _fitted_ar1(train: np.ndarray) -> float:
    """The least-squares AR(1) coefficient learnt from a training stretch."""
    return float(train[1:] @ train[:-1] / (train[:-1] @ train[:-1]))


def test_a_challenger_that_learnt_a_learnable_process_is_promoted():
    process = _ar1(4000, phi=0.4, seed=3)
    phi = _fitted_ar1(process[:2000])  # learnt on the past, served on what follows
    decisions = _replay(process[2000:], champion_predicts=lambda last: 0.3 * phi * last,
                        challenger_predicts=lambda last: phi * last)
    assert decisions and decisions[-1].promote
    first = next(d for d in decisions if d.promote)
    assert first.count >= MIN_COUNT and first.p_value < ALPHA and first.challenger_mae < first.champion_mae


@pytest.mark.parametrize("seed", range(8))
def test_on_a_random_walk_a_challenger_is_never_promoted(seed: int):
    walk = np.random.default_rng(seed).normal(0, 0.001, 4000)
    phi = _fitted_ar1(walk[:2000])  # whatever it learns is noise
    decisions = _replay(walk[2000:], champion_predicts=lambda last: 0.0, challenger_predicts=lambda last: phi * last)
    assert len(decisions) >= 5  # decided again and again, never promoted
    assert not any(d.promote for d in decisions)
