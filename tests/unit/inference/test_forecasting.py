"""Feature vectors to predictions: timing, prices, directions, baseline, refusals, batching."""

from __future__ import annotations

import math

import pytest

from inference.forecasting import Forecaster, direction_of
from inference.model import BASELINE_NAME, BASELINE_VERSION, PersistenceBaseline, ServedModel
from unit.inference.linear_models import BASE_MS, MINUTE_MS, LinearModel, vector

BASELINE = PersistenceBaseline(interval="1m", horizon=5)
NOW = BASE_MS + 10**7


def forecaster(model, dead_band: float = 0.0005) -> Forecaster:
    return Forecaster(ServedModel(model, 0), BASELINE, dead_band)


def test_prediction_is_made_at_the_close_of_the_vectors_candle():
    model = LinearModel("m", "1", weight=2.0)
    batch = forecaster(model).forecast([vector("BTCUSDT", 3, ret_1=0.004, close=200.0)], now_ms=BASE_MS + 10**6)
    (forecast,) = batch.forecasts
    prediction = forecast.prediction
    assert prediction.as_of_ms == BASE_MS + 3 * MINUTE_MS
    assert prediction.target_time_ms == prediction.as_of_ms + 5 * MINUTE_MS
    assert prediction.predicted_return == pytest.approx(0.008, rel=1e-6)
    assert prediction.predicted_price == pytest.approx(200.0 * math.exp(0.008), rel=1e-6)
    assert prediction.direction == "up"
    assert (prediction.model_name, prediction.model_version, prediction.horizon) == ("m", "1", 5)
    assert forecast.base_close == 200.0


@pytest.mark.parametrize(("log_return", "expected"), [(0.0006, "up"), (0.0005, "flat"), (-0.0005, "flat"),
                                                      (-0.00051, "down"), (0.0, "flat")])
def test_direction_has_a_dead_band(log_return, expected):
    assert direction_of(log_return, 0.0005) == expected


def test_without_champion_every_prediction_is_the_labelled_baseline():
    batch = forecaster(BASELINE).forecast([vector("BTCUSDT", 0, close=50.0), vector("ETHUSDT", 0, fs="other")], NOW)
    assert [f.prediction.model_name for f in batch.forecasts] == [BASELINE_NAME, BASELINE_NAME]
    assert {f.prediction.model_version for f in batch.forecasts} == {BASELINE_VERSION}
    assert batch.forecasts[0].prediction.predicted_price == 50.0
    assert batch.forecasts[0].prediction.direction == "flat"
    assert not batch.refusals  # the baseline needs no particular feature set


def test_one_model_call_for_all_symbols_of_a_batch():
    model = LinearModel("m", "1", weight=1.0)
    vectors = [vector(f"S{i:03d}X", 0, ret_1=i / 10_000) for i in range(50)]
    batch = forecaster(model, dead_band=0).forecast(vectors, NOW)
    assert model.calls == [50]
    assert [f.prediction.predicted_return for f in batch.forecasts] == pytest.approx([i / 10_000 for i in range(50)])


def test_lag_window_model_serves_baseline_until_its_window_is_full():
    model = LinearModel("conv", "4", weight=1.0, lag_window=3)
    served = forecaster(model, dead_band=0)
    labels = []
    for step, ret in enumerate([0.001, 0.002, 0.003, 0.004]):
        (forecast,) = served.forecast([vector("BTCUSDT", step, ret_1=ret)], NOW).forecasts
        labels.append((forecast.prediction.model_name, forecast.prediction.predicted_return))
    assert labels[:2] == [(BASELINE_NAME, 0.0), (BASELINE_NAME, 0.0)]
    assert labels[2] == ("conv", pytest.approx(0.002))  # mean of 0.001..0.003
    assert labels[3] == ("conv", pytest.approx(0.003))


def test_a_gap_in_the_stream_restarts_the_window():
    model = LinearModel("conv", "4", weight=1.0, lag_window=2)
    served = forecaster(model)
    served.forecast([vector("BTCUSDT", 0), vector("BTCUSDT", 1)], NOW)
    (after_gap,) = served.forecast([vector("BTCUSDT", 3)], NOW).forecasts
    assert after_gap.prediction.model_name == BASELINE_NAME


def test_same_symbol_twice_in_a_batch_sees_its_own_history():
    model = LinearModel("conv", "4", weight=1.0, lag_window=2)
    batch = forecaster(model, dead_band=0).forecast(
        [vector("BTCUSDT", 0, ret_1=0.001), vector("BTCUSDT", 1, ret_1=0.003)], NOW)
    assert [f.prediction.model_name for f in batch.forecasts] == [BASELINE_NAME, "conv"]
    assert batch.forecasts[1].prediction.predicted_return == pytest.approx(0.002)
    assert model.calls == [1]


def test_mismatched_feature_set_is_refused_and_the_rest_served():
    model = LinearModel("m", "7", weight=1.0, feature_set_version="fs-a")
    batch = forecaster(model).forecast(
        [vector("BTCUSDT", 0), vector("ETHUSDT", 0, fs="fs-b"), vector("SOLUSDT", 0)], NOW)
    assert [f.index for f in batch.forecasts] == [0, 2]
    (refusal,) = batch.refusals
    assert refusal.index == 1 and refusal.error_type == "FeatureSetMismatch"
    assert "'fs-b'" in refusal.reason and "'fs-a'" in refusal.reason and "m v7" in refusal.reason


def test_missing_close_and_missing_features_are_refused():
    model = LinearModel("m", "1", weight=1.0, feature_names=["ret_1", "rsi_14"])
    no_close = vector("BTCUSDT", 0).model_copy(update={"close": None})
    batch = forecaster(model).forecast([no_close, vector("ETHUSDT", 0)], NOW)
    assert [(r.index, r.error_type) for r in batch.refusals] == [(0, "MissingClose"), (1, "MissingFeatures")]
    assert "rsi_14" in batch.refusals[1].reason


def test_non_finite_model_output_is_refused_not_published():
    model = LinearModel("m", "1", weight=float("inf"))
    batch = forecaster(model).forecast([vector("BTCUSDT", 0, ret_1=0.001)], NOW)
    assert not batch.forecasts
    assert batch.refusals[0].error_type == "NonFiniteOutput"


def test_swap_takes_effect_on_the_next_batch_and_keeps_windows():
    first = LinearModel("m", "1", weight=1.0)
    second = LinearModel("m", "2", weight=-1.0, lag_window=2)
    served = forecaster(first, dead_band=0)
    served.forecast([vector("BTCUSDT", 0, ret_1=0.002)], NOW)
    served.swap(ServedModel(second, 1))
    (forecast,) = served.forecast([vector("BTCUSDT", 1, ret_1=0.004)], NOW).forecasts
    assert (forecast.prediction.model_version, forecast.prediction.predicted_return) == ("2", pytest.approx(-0.003))


@pytest.mark.parametrize("source", ["binance", "replay", "synthetic", "unknown"])
def test_a_prediction_says_where_the_prices_it_was_made_from_came_from(source: str) -> None:
    model = LinearModel("m", "1", weight=2.0)
    made_from = vector("BTCUSDT", 3, close=200.0).model_copy(update={"source": source})
    for served in (forecaster(model), forecaster(BASELINE)):  # the champion and the baseline alike
        (forecast,) = served.forecast([made_from], now_ms=BASE_MS + 10**6).forecasts
        assert forecast.prediction.source == source
