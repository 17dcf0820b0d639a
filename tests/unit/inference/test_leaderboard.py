"""The live leaderboard: champion, challengers and persistence on the same matured predictions."""

from __future__ import annotations

import math

import pytest

from inference.leaderboard import PERSISTENCE, Leaderboard
from inference.model import BASELINE_NAME, BASELINE_VERSION
from tickcast.contracts import Prediction
from unit.inference.linear_models import BASE_MS, MINUTE_MS

CHAMPION = ("m", "1")
CHALLENGER = ("m", "2")


def prediction(step: int, predicted_return: float, version: str = "1", symbol: str = "BTCUSDT",
               model: str = "m", close: float = 100.0) -> Prediction:
    as_of = BASE_MS + step * MINUTE_MS
    return Prediction(symbol=symbol, model_name=model, model_version=version, horizon=1, as_of_ms=as_of,
                      target_time_ms=as_of + MINUTE_MS, predicted_return=predicted_return,
                      predicted_price=close * math.exp(predicted_return), direction="flat",
                      emitted_ms=as_of + MINUTE_MS)


def test_models_are_scored_on_the_rows_they_share():
    board = Leaderboard(window=10, max_pending_per_symbol=10, dead_band=0.0)
    board.on_prediction(prediction(0, 0.01), 100.0)  # the champion alone: not shared
    board.on_candle("BTCUSDT", BASE_MS + MINUTE_MS, 101.0)
    board.on_prediction(prediction(1, 0.02), 100.0)
    board.on_prediction(prediction(1, -0.01, version="2"), 100.0)
    board.on_candle("BTCUSDT", BASE_MS + 2 * MINUTE_MS, 99.0)
    standings = {s.label: s for s in board.standings(CHAMPION, [CHALLENGER])}
    assert set(standings) == {"m v1", "m v2", "persistence"}
    realised = math.log(99 / 100)
    assert all(s.count == 1 for s in standings.values())
    assert standings["m v1"].mae == pytest.approx(abs(0.02 - realised))
    assert standings["m v2"].mae == pytest.approx(abs(-0.01 - realised))
    assert standings["persistence"].mae == pytest.approx(abs(realised))
    assert standings["m v2"].skill == pytest.approx(1 - abs(-0.01 - realised) / abs(realised))
    assert standings["m v1"].hit_rate == 0.0 and standings["m v2"].hit_rate == 1.0
    assert standings["m v1"].role == "champion" and standings["persistence"].role == "baseline"
    # Without the challenger served, the champion's first row counts too.
    assert board.standings(CHAMPION, [])[0].count == 2


def test_hit_rate_has_a_wilson_interval_that_narrows_with_count():
    board = Leaderboard(window=1000, max_pending_per_symbol=10, dead_band=0.0)
    for step in range(400):
        board.on_prediction(prediction(step, 0.01), 100.0)
        board.on_candle("BTCUSDT", BASE_MS + (step + 1) * MINUTE_MS, 101.0 if step % 4 else 99.0)
        if step == 19:
            early = board.standings(CHAMPION, [])[0]
    late = next(s for s in board.standings(CHAMPION, []) if s.role == "champion")
    assert late.hit_rate == pytest.approx(0.75)
    assert late.hit_rate_low < 0.75 < late.hit_rate_high
    assert late.hit_rate_high - late.hit_rate_low < early.hit_rate_high - early.hit_rate_low


def test_a_replayed_prediction_or_candle_counts_once():
    board = Leaderboard(window=2, max_pending_per_symbol=10, dead_band=0.0)
    for _ in range(2):  # everything read twice, as after a restart
        for step in range(4):
            board.on_prediction(prediction(step, 0.01), 100.0)
            board.on_candle("BTCUSDT", BASE_MS + (step + 1) * MINUTE_MS, 100.0)
    (champion,) = [s for s in board.standings(CHAMPION, []) if s.role == "champion"]
    assert champion.count == 2  # the window, not four or eight
    assert board.matured_total == 4


def test_baseline_predictions_score_persistence_only():
    board = Leaderboard(window=10, max_pending_per_symbol=10, dead_band=0.0)
    board.on_prediction(prediction(0, 0.0, model=BASELINE_NAME, version=BASELINE_VERSION), 100.0)
    board.on_candle("BTCUSDT", BASE_MS + MINUTE_MS, 100.5)
    (persistence,) = board.standings(None, [])
    assert (persistence.model_name, persistence.model_version) == PERSISTENCE
    assert persistence.skill == 0.0


@pytest.mark.parametrize(("hits", "count"), [(0, 6), (6, 6), (3, 6), (1, 1)])
def test_the_wilson_interval_always_holds_the_rate(hits: int, count: int):
    from tickcast.hit_rate import hit_rate

    rate = hit_rate(hits, count)
    assert rate is not None and rate.low <= rate.rate <= rate.high
    assert 0.0 <= rate.low and rate.high <= 1.0
