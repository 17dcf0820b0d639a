"""Distribution forecasts attached to predictions, and the version-2 Prediction contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.distribution import CloseHistories, DistributionAttacher
from tickcast.contracts import ContractError, FeatureVector, Prediction
from tickcast.forecast import baselines as base
from tickcast.forecast.forecaster_set import HISTORY_CLOSES, ForecasterSet, ServedForecaster
from tickcast.forecast.quantiles import LEVELS

MINUTE = 60_000
START = 1_704_067_200_000


def forecaster_set() -> ForecasterSet:
    last_hour = base.LastHourVolatility(5)
    served = {h: {"distribution": ServedForecaster("distribution", h, False, base.ScaledStudentT(h, base.LastHourVolatility(h), 4.0, 0.8)),
                  "volatility": ServedForecaster("volatility", h, True, base.GarchVolatility(h, 1e-8, 0.05, 0.9)),
                  "probability": ServedForecaster("probability", h, False, base.TrailingFrequency(h, 5e-4, 0.3, 0.25))}
              for h in (1, 5)}
    del last_hour
    return ForecasterSet("1m", MINUTE, 5e-4, served, "tickcast-forecast-btcusdt-1m", "7")


def vector(symbol: str, minute: int, close: float) -> FeatureVector:
    return FeatureVector(symbol=symbol, interval="1m", timestamp_ms=START + minute * MINUTE,
                         feature_set_version="fs-x", values={"a": 1.0}, close=close, source="replay")


def prediction_for(v: FeatureVector) -> Prediction:
    return Prediction(symbol=v.symbol, interval="1m", model_name="m", model_version="1", horizon=5,
                      as_of_ms=v.timestamp_ms, target_time_ms=v.timestamp_ms + 5 * MINUTE, predicted_return=0.0,
                      predicted_price=v.close, direction="flat", emitted_ms=v.timestamp_ms + 61_000, source="replay")


def test_a_day_of_history_gives_every_horizon_its_forecasts_labelled_with_the_forecaster() -> None:
    rng = np.random.default_rng(0)
    histories = CloseHistories(MINUTE)
    attacher = DistributionAttacher(forecaster_set(), histories)
    closes = {s: 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, HISTORY_CLOSES + 2))) for s in ("AAAUSDT", "BBBUSDT")}
    for minute in range(HISTORY_CLOSES):
        for symbol in closes:
            histories.push(vector(symbol, minute, closes[symbol][minute]))
    batch = [vector(s, HISTORY_CLOSES + k, closes[s][HISTORY_CLOSES + k]) for k in range(2) for s in closes]
    out = attacher.attach(batch, [prediction_for(v) for v in batch])
    for v, prediction in zip(batch, out, strict=True):
        assert prediction is not None and prediction.schema_version == 2
        assert [f.horizon for f in prediction.forecasts] == [1, 5]
        five = prediction.forecasts[1]
        assert five.target_time_ms == v.timestamp_ms + 5 * MINUTE
        assert five.return_quantiles == sorted(five.return_quantiles) and len(five.return_quantiles) == len(LEVELS)
        assert five.price_quantiles[3] == pytest.approx(v.close * np.exp(five.return_quantiles[3]))
        assert (five.p_up, five.p_down) == (0.3, 0.25)
        assert five.forecasters == {"distribution": "baseline student_t",
                                    "volatility": "tickcast-forecast-btcusdt-1m v7 garch",
                                    "probability": "baseline trailing_frequency"}
        # wider for the longer horizon
        one = prediction.forecasts[0]
        assert five.return_quantiles[-1] - five.return_quantiles[0] > one.return_quantiles[-1] - one.return_quantiles[0]
        assert Prediction.parse(prediction.to_json_bytes()) == prediction


def test_a_symbol_without_enough_history_gets_its_point_prediction_without_forecasts() -> None:
    attacher = DistributionAttacher(forecaster_set(), CloseHistories(MINUTE))
    batch = [vector("NEWUSDT", m, 100.0 + m) for m in range(3)]
    out = attacher.attach(batch, [prediction_for(v) for v in batch])
    assert all(p is not None and p.forecasts == [] for p in out)


def test_a_gap_is_kept_as_missing_candles_and_a_replayed_candle_is_ignored() -> None:
    histories = CloseHistories(MINUTE, length=5)
    assert histories.push(vector("AUSDT", 0, 1.0)) and histories.push(vector("AUSDT", 3, 2.0))
    assert not histories.push(vector("AUSDT", 3, 9.0))
    row = histories.row("AUSDT")
    assert np.isnan(row[0]) and row[1] == 1.0 and np.isnan(row[2:4]).all() and row[4] == 2.0


def test_version_1_predictions_still_parse_and_crossing_quantiles_are_refused() -> None:
    old = prediction_for(vector("AUSDT", 0, 100.0)).model_dump() | {"schema_version": 1}
    del old["forecasts"]
    parsed = Prediction.parse(json.dumps(old))
    assert parsed.schema_version == 1 and parsed.forecasts == []
    bad = prediction_for(vector("AUSDT", 0, 100.0)).model_dump() | {"forecasts": [{
        "horizon": 5, "target_time_ms": START + 5 * MINUTE, "return_quantiles": [0.1, 0.0, 0, 0, 0, 0, 0],
        "price_quantiles": [1.0] * 7, "p_up": 0.3, "p_down": 0.3, "dead_band": 0.0005, "forecast_volatility": 0.01,
        "forecasters": {}}]}
    with pytest.raises(ContractError, match="non-decreasing"):
        Prediction.parse(bad)
    with pytest.raises(ContractError, match="schema_version"):
        Prediction.parse(old | {"schema_version": 3})


def test_matured_forecasts_are_scored_with_the_close_at_their_target_time() -> None:
    from inference.distribution_scoring import DistributionScorer

    histories = CloseHistories(MINUTE)
    scorer = DistributionScorer(histories, window=10)
    attacher = DistributionAttacher(forecaster_set(), histories, scorer)
    closes = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 1e-3, HISTORY_CLOSES + 6)))
    for minute in range(HISTORY_CLOSES):
        histories.push(vector("AUSDT", minute, closes[minute]))
    made = vector("AUSDT", HISTORY_CLOSES, closes[HISTORY_CLOSES])
    [prediction] = attacher.attach([made], [prediction_for(made)])
    assert prediction is not None and scorer.drain_changes() == []
    later = [vector("AUSDT", HISTORY_CLOSES + k, closes[HISTORY_CLOSES + k]) for k in range(1, 6)]
    attacher.attach(later, [None] * len(later))  # closes only: the horizons 1 and 5 mature on the way
    changes = {(s.symbol, s.horizon, s.target, s.forecaster): s.scores | {"count": float(s.count)}
               for s in scorer.drain_changes()}
    five = prediction.forecasts[1]
    outcome = np.log(closes[HISTORY_CLOSES + 5] / closes[HISTORY_CLOSES])
    realized = np.sum(np.diff(np.log(closes[HISTORY_CLOSES:HISTORY_CLOSES + 6])) ** 2)
    distribution = changes[("AUSDT", 5, "distribution", "baseline student_t")]
    q = np.asarray(five.return_quantiles)
    assert distribution["coverage_80"] == float(q[1] <= outcome <= q[5]) and distribution["count"] == 1.0
    volatility = changes[("AUSDT", 5, "volatility", "tickcast-forecast-btcusdt-1m v7 garch")]
    ratio = realized / five.forecast_volatility**2
    assert volatility["qlike"] == pytest.approx(ratio - np.log(ratio) - 1)
    brier = changes[("AUSDT", 5, "probability", "baseline trailing_frequency")]["brier"]
    assert brier == pytest.approx((0.3 - float(outcome > 5e-4)) ** 2)
    assert ("AUSDT", 1, "distribution", "baseline student_t") in changes


def test_scores_rebuilt_from_the_predictions_and_closes_equal_the_live_ones() -> None:
    """After a restart the scorer gets the closes and the predictions back from the topics: the rebuilt
    scores are those the live scorer had, and a forecast not matured yet is scored when its candle comes."""
    from inference.distribution_scoring import DistributionScorer

    closes = 100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 1e-3, HISTORY_CLOSES + 40)))
    histories = CloseHistories(MINUTE)
    live = DistributionScorer(histories, window=50)
    attacher = DistributionAttacher(forecaster_set(), histories, live)
    for minute in range(HISTORY_CLOSES):
        histories.push(vector("AUSDT", minute, closes[minute]))
    made = []
    for minute in range(HISTORY_CLOSES, HISTORY_CLOSES + 30):
        v = vector("AUSDT", minute, closes[minute])
        [p] = attacher.attach([v], [prediction_for(v)])
        made.append(p)
    live_scores = {s.field: s for s in live.snapshot()}
    assert live_scores and all(s.count > 0 for s in live_scores.values())

    restored = CloseHistories(MINUTE)  # the features topic read back: the same closes
    for minute in range(HISTORY_CLOSES + 30):
        restored.push(vector("AUSDT", minute, closes[minute]))
    rebuilt = DistributionScorer(restored, window=50)
    assert rebuilt.rebuild(made) > 0
    rebuilt_scores = {s.field: s for s in rebuilt.snapshot()}
    assert rebuilt_scores.keys() == live_scores.keys()
    for field, score in live_scores.items():
        assert rebuilt_scores[field].count == score.count
        assert rebuilt_scores[field].last_target_time_ms == score.last_target_time_ms
        assert rebuilt_scores[field].scores == pytest.approx(score.scores)
    assert rebuilt.rebuild(made) > 0  # a second assignment rebuilds: replaced, never counted twice
    assert {s.field: s.count for s in rebuilt.snapshot()} == {f: s.count for f, s in live_scores.items()}

    # The pending forecasts (made in the last minutes, not matured) are scored with the next close, in both.
    nxt = vector("AUSDT", HISTORY_CLOSES + 30, closes[HISTORY_CLOSES + 30])
    attacher.attach([nxt], [None])
    restored.push(nxt)
    rebuilt.on_vector(nxt)
    assert {s.field: s.count for s in rebuilt.drain_changes()} == {s.field: s.count for s in live.drain_changes()}


def test_close_histories_keep_the_last_closes_on_the_grid_through_many_shifts_and_gaps() -> None:
    """The buffer shifts back many times; its rows always equal the plain list of closes on the grid."""
    rng = np.random.default_rng(3)
    histories = CloseHistories(MINUTE, length=7)
    expected: list[float] = []
    minute = 0
    for _ in range(200):
        gap = int(rng.choice([0, 0, 0, 1, 3, 9]))
        minute += 1 + gap
        close = float(rng.uniform(90, 110))
        assert histories.push(vector("AUSDT", minute, close))
        assert not histories.push(vector("AUSDT", minute, close + 1))  # replayed: ignored
        expected += [float("nan")] * gap + [close]
        want = ([float("nan")] * 7 + expected)[-7:]
        np.testing.assert_array_equal(histories.row("AUSDT"), np.asarray(want))
    assert histories.last_ms("AUSDT") == vector("AUSDT", minute, 1.0).timestamp_ms
    assert np.isnan(histories.row("BUSDT")).all()
