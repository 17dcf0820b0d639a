"""Predictions carry the forecaster set's distributions on the topic and in Redis, and a restarted
service restores each symbol's close history from the features topic (real broker, real Redis)."""

from __future__ import annotations

import json

import pytest

from inference.service import InferenceService
from integration.inference.harness import running, wait_for
from support.kafka import consume
from tickcast.contracts import Prediction
from tickcast.forecast import baselines as base
from tickcast.forecast.forecaster_set import ForecasterSet, ServedForecaster
from tickcast.topics import Topic
from unit.inference.linear_models import MINUTE_MS, InMemoryChampions, candle, vector

pytestmark = pytest.mark.integration

SYMBOLS = ["BTCUSDT", "ETHUSDT"]
# Student-t on the last hour's variance: a forecast as soon as half an hour of returns is known.
WARM = 31


class InMemoryForecasterSets:
    name = "tickcast-forecast-test-1m"

    def __init__(self) -> None:
        served = {h: {
            "distribution": ServedForecaster("distribution", h, False,
                                             base.ScaledStudentT(h, base.LastHourVolatility(h), 4.0, 0.8)),
            "volatility": ServedForecaster("volatility", h, True, base.GarchVolatility(h, 1e-9, 0.05, 0.9)),
            "probability": ServedForecaster("probability", h, False, base.TrailingFrequency(h, 5e-4, 0.3, 0.2)),
        } for h in (1, 5, 15)}
        self.forecaster_set = ForecasterSet("1m", MINUTE_MS, 5e-4, served, self.name, "4")

    def version(self) -> str:
        return "4"

    def load(self, version: str) -> ForecasterSet:
        return self.forecaster_set


def close_at(symbol: str, step: int) -> float:
    wiggle = 0.002 if (step * 7 + len(symbol)) % 3 else -0.0015
    return 100.0 * (1 + wiggle) ** (step % 5)


def test_distributions_on_the_topic_and_in_redis_and_history_restored_after_a_restart(
    inference_settings, kafka_settings, topics, send, redis_client, keys
):
    first = [vector(s, step, ret_1=0.0, close=close_at(s, step)) for step in range(WARM + 10) for s in SYMBOLS]
    with running(InferenceService(inference_settings, InMemoryChampions("m"), InMemoryForecasterSets())):
        send(Topic.FEATURES, first)
        records = consume(kafka_settings, topics(Topic.PREDICTIONS), expected=len(first), timeout=60)
    published = [Prediction.parse(record.value) for record in records]
    assert len(published) == len(first)
    for prediction in published:
        step = (prediction.as_of_ms - first[0].timestamp_ms) // MINUTE_MS
        assert prediction.schema_version == 2
        if step < WARM - 1:
            assert prediction.forecasts == [], step  # not a half hour of returns yet
        else:
            assert [f.horizon for f in prediction.forecasts] == [1, 5, 15], step
            band = prediction.forecasts[1]
            assert band.return_quantiles == sorted(band.return_quantiles) and band.p_up == 0.3
            assert band.forecasters["volatility"] == "tickcast-forecast-test-1m v4 garch"
            assert band.forecasters["distribution"] == "baseline student_t"
    latest = Prediction.parse(redis_client.get(keys.latest_prediction("BTCUSDT")))
    assert [f.horizon for f in latest.forecasts] == [1, 5, 15]
    served = json.loads(redis_client.hget(keys.served_model(), "forecasters"))  # shown by /models
    assert (served["name"], served["version"], served["horizons"]) == ("tickcast-forecast-test-1m", "4", [1, 5, 15])
    assert served["served"]["h5"]["volatility"] == "tickcast-forecast-test-1m v4 garch"

    # A new process of the same group: the closes before its committed offset are read back, so the
    # very next vectors get their forecasts (a fresh history of two closes would give none).
    later = [vector(s, step, ret_1=0.0, close=close_at(s, step)) for step in range(WARM + 10, WARM + 12)
             for s in SYMBOLS]
    with running(InferenceService(inference_settings, InMemoryChampions("m"), InMemoryForecasterSets())):
        send(Topic.FEATURES, later)
        records = consume(kafka_settings, topics(Topic.PREDICTIONS), expected=len(first) + len(later), timeout=60)
    after = [Prediction.parse(record.value) for record in records][len(first):]
    assert len(after) == len(later)
    assert all([f.horizon for f in p.forecasts] == [1, 5, 15] for p in after)


def _forecast_scores(redis_client, keys) -> dict[str, dict]:
    return {field: json.loads(value) for field, value in redis_client.hgetall(keys.forecast_live_scores()).items()}


def test_live_forecast_scores_survive_a_restart_and_an_emptied_redis(
    inference_settings, kafka_settings, topics, send, redis_client, keys
):
    first = [vector(s, step, ret_1=0.0, close=close_at(s, step)) for step in range(WARM + 20) for s in SYMBOLS]
    settings = inference_settings.model_copy(update={"rebuild_check_seconds": 0.2})
    with running(InferenceService(settings, InMemoryChampions("m"), InMemoryForecasterSets())):
        send(Topic.CANDLES, [candle(s, step, close_at(s, step)) for step in range(WARM + 20) for s in SYMBOLS])
        send(Topic.FEATURES, first)
        consume(kafka_settings, topics(Topic.PREDICTIONS), expected=len(first), timeout=60)
        wait_for(lambda: len(_forecast_scores(redis_client, keys)) == 18, what="3 targets x 3 horizons x 2 symbols")
        before = _forecast_scores(redis_client, keys)
        # Redis emptied while the service runs: the scores come back, the same, without a new candle.
        for key in redis_client.scan_iter(match=f"{keys.prefix}*"):
            redis_client.delete(key)
        wait_for(lambda: _forecast_scores(redis_client, keys) == before, timeout=30,
                 what="the live forecast scores written again after a flush")
    # Forecasts made from step WARM - 1 on: those of horizon 5 made up to step WARM + 14 matured.
    h5 = before["BTCUSDT|5|distribution|baseline student_t"]
    assert h5["count"] == 16 and set(h5["scores"]) == {"coverage_80", "coverage_90", "pinball"}
    assert 0 <= h5["scores"]["coverage_80"] <= h5["scores"]["coverage_90"] <= 1
    assert before["ETHUSDT|15|volatility|tickcast-forecast-test-1m v4 garch"]["count"] == 6
    assert "brier" in before["BTCUSDT|1|probability|baseline trailing_frequency"]["scores"]

    # Redis loses everything of this stack; a new process rebuilds the scores from the topics (the
    # predictions and the closes), then scores one more candle on top: nothing lost, nothing doubled.
    for key in redis_client.scan_iter(match=f"{keys.prefix}*"):
        redis_client.delete(key)
    later = [vector(s, WARM + 20, ret_1=0.0, close=close_at(s, WARM + 20)) for s in SYMBOLS]
    with running(InferenceService(settings, InMemoryChampions("m"), InMemoryForecasterSets())):
        send(Topic.CANDLES, [candle(s, WARM + 20, close_at(s, WARM + 20)) for s in SYMBOLS])
        send(Topic.FEATURES, later)
        consume(kafka_settings, topics(Topic.PREDICTIONS), expected=len(first) + len(later), timeout=60)
    after = _forecast_scores(redis_client, keys)
    assert after.keys() == before.keys()
    for field, score in before.items():
        assert after[field]["count"] == score["count"] + 1, field
        assert after[field]["last_target_time_ms"] == score["last_target_time_ms"] + MINUTE_MS, field
