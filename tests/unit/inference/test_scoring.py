"""Live scoring: predictions meet the candle at their target time, in either order."""

from __future__ import annotations

import math

import pytest

from inference.scoring import LiveScorer, base_close_of
from tickcast.contracts import Prediction
from unit.inference.linear_models import BASE_MS, MINUTE_MS


def prediction(step: int, predicted_return: float, symbol: str = "BTCUSDT", model: str = "m",
               version: str = "1", close: float = 100.0) -> Prediction:
    as_of = BASE_MS + step * MINUTE_MS
    return Prediction(symbol=symbol, model_name=model, model_version=version, horizon=2, as_of_ms=as_of,
                      target_time_ms=as_of + 2 * MINUTE_MS, predicted_return=predicted_return,
                      predicted_price=close * math.exp(predicted_return),
                      direction="up" if predicted_return > 0.0005 else "down" if predicted_return < -0.0005
                      else "flat", emitted_ms=as_of + MINUTE_MS)


def test_candle_at_target_time_scores_the_prediction():
    scorer = LiveScorer(window=10, max_pending_per_symbol=10, dead_band=0.0005)
    scorer.on_prediction(prediction(0, 0.01), base_close=100.0)
    assert scorer.drain_changes() == []
    scorer.on_candle("BTCUSDT", BASE_MS + 1 * MINUTE_MS, 150.0)  # not the target candle
    assert scorer.drain_changes() == []
    scorer.on_candle("BTCUSDT", BASE_MS + 2 * MINUTE_MS, 102.0)
    (score,) = scorer.drain_changes()
    realised = math.log(102 / 100)
    assert score.mae == pytest.approx(abs(0.01 - realised))
    assert score.persistence_mae == pytest.approx(realised)
    assert score.skill == pytest.approx(1 - abs(0.01 - realised) / realised)
    assert score.hit_rate == 1.0 and score.count == 1
    assert scorer.pending("BTCUSDT") == 0


def test_candle_arriving_first_is_remembered():
    scorer = LiveScorer(window=10, max_pending_per_symbol=10, dead_band=0.0005)
    scorer.on_candle("BTCUSDT", BASE_MS + 2 * MINUTE_MS, 99.0)
    scorer.on_prediction(prediction(0, 0.01), base_close=100.0)
    (score,) = scorer.drain_changes()
    assert score.hit_rate == 0.0  # predicted up, went down
    assert score.skill is not None and score.skill < 0


def test_rolling_window_and_per_model_symbol_keys():
    scorer = LiveScorer(window=2, max_pending_per_symbol=10, dead_band=0.0)
    for step, predicted in enumerate([0.05, 0.0, 0.0]):
        scorer.on_prediction(prediction(step, predicted), base_close=100.0)
        scorer.on_candle("BTCUSDT", BASE_MS + (step + 2) * MINUTE_MS, 100.0)
    scorer.on_prediction(prediction(0, 0.0, symbol="ETHUSDT", model="other"), base_close=10.0)
    scorer.on_candle("ETHUSDT", BASE_MS + 2 * MINUTE_MS, 10.0)
    scores = {(s.model_name, s.symbol): s for s in scorer.drain_changes()}
    assert set(scores) == {("m", "BTCUSDT"), ("other", "ETHUSDT")}
    btc = scores[("m", "BTCUSDT")]
    assert btc.count == 2 and btc.mae == 0.0  # the 0.05 miss fell out of the window of 2
    assert btc.skill is None  # nothing moved: persistence was exact
    assert btc.hit_rate == 1.0


def test_pending_predictions_are_bounded_per_symbol():
    scorer = LiveScorer(window=10, max_pending_per_symbol=3, dead_band=0.0)
    for step in range(10):
        scorer.on_prediction(prediction(step, 0.0), base_close=100.0)
    assert scorer.pending("BTCUSDT") == 3
    scorer.on_candle("BTCUSDT", BASE_MS + 2 * MINUTE_MS, 100.0)  # target of step 0: dropped long ago
    assert scorer.drain_changes() == []
    scorer.forget({"BTCUSDT"})
    assert scorer.pending("BTCUSDT") == 0


def test_a_prediction_recovered_from_the_store_is_not_scored_twice():
    scorer = LiveScorer(window=10, max_pending_per_symbol=10, dead_band=0.0)
    made_here = prediction(0, 0.01)
    scorer.on_prediction(made_here, base_close=100.0)
    scorer.on_prediction(Prediction.parse(made_here.to_json_bytes()), base_close=base_close_of(made_here))
    scorer.on_prediction(prediction(0, 0.02, version="2"), base_close=100.0)  # another version: its own entry
    assert scorer.pending("BTCUSDT") == 2
    assert scorer.unrecovered(["BTCUSDT", "ETHUSDT"]) == ["BTCUSDT", "ETHUSDT"]
    scorer.mark_recovered(["BTCUSDT"])
    assert scorer.unrecovered(["BTCUSDT", "ETHUSDT"]) == ["ETHUSDT"]
    scorer.forget({"BTCUSDT"})
    assert scorer.unrecovered(["BTCUSDT"]) == ["BTCUSDT"]


def test_base_close_is_recovered_from_price_and_return():
    assert base_close_of(prediction(0, 0.013, close=123.45)) == pytest.approx(123.45, rel=1e-12)


def test_replaying_what_was_scored_already_counts_nothing_twice():
    scorer = LiveScorer(window=10, max_pending_per_symbol=10, dead_band=0.0)
    made = [prediction(step, 0.001 * step) for step in range(3)]
    candles = [(BASE_MS + (step + 2) * MINUTE_MS, 100.0 + step) for step in range(3)]
    for p, (open_time, close) in zip(made, candles, strict=True):
        scorer.on_prediction(p, base_close=100.0)
        scorer.on_candle("BTCUSDT", open_time, close)
    (first,) = scorer.drain_changes()
    for p, (open_time, close) in zip(made, candles, strict=True):  # the same again, as a rebuild replays them
        scorer.on_prediction(p, base_close=100.0)
        scorer.on_candle("BTCUSDT", open_time, close)
    assert scorer.drain_changes() == []
    assert scorer.pending("BTCUSDT") == 0
    (again,) = scorer.summaries(["BTCUSDT"])
    assert again == first and again.count == 3
    scorer.on_prediction(prediction(3, 0.0), base_close=100.0)  # a new one is scored as usual
    scorer.on_candle("BTCUSDT", BASE_MS + 5 * MINUTE_MS, 101.0)
    assert [s.count for s in scorer.drain_changes()] == [4]
