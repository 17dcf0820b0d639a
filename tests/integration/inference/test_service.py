"""Features in, predictions out: on the topic, in Redis and on the pub/sub channel (real broker, real Redis)."""

from __future__ import annotations

import json
import math
import time
from collections import Counter

import pytest
from prometheus_client import REGISTRY
from inference.model import BASELINE_NAME, BASELINE_VERSION
from inference.service import InferenceService
from integration.inference.harness import running, wait_for
from support.kafka import consume, produce_raw
from tickcast.contracts import Candle, DeadLetter, Prediction, SymbolStatus
from tickcast.symbol_status import SymbolStatusBoard
from tickcast.topics import Topic
from unit.inference.linear_models import (
    BASE_MS,
    MINUTE_MS,
    InMemoryChampions,
    LinearModel,
    candle,
    ret_for,
    vector,
)

pytestmark = pytest.mark.integration

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]


def sample(name: str, **labels: str) -> float:
    """A metric's current value in this process's Prometheus registry (0 if never set)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def predictions_on_topic(kafka_settings, topics, expected: int) -> list[tuple[bytes | None, Prediction]]:
    records = consume(kafka_settings, topics(Topic.PREDICTIONS), expected=expected, timeout=60)
    return [(record.key, Prediction.parse(record.value)) for record in records]


def test_baseline_until_a_champion_exists_to_topic_redis_and_channel(
    inference_settings, kafka_settings, topics, send, redis_client, keys, live_channel
):
    registry = InMemoryChampions("m")  # no champion yet
    live = live_channel
    vectors = [vector(s, step, ret_1=ret_for(s, step), close=100.0 + step) for step in range(4) for s in SYMBOLS]
    # SOLUSDT was requested (POST /symbols): inference reports which model serves it; the others have no record.
    SymbolStatusBoard(kafka_settings, inference_settings.redis, "gateway").report("SOLUSDT", "requested",
                                                                                  requested_at_ms=BASE_MS)

    with running(InferenceService(inference_settings, registry)):
        send(Topic.FEATURES, vectors)
        published = predictions_on_topic(kafka_settings, topics, expected=len(vectors))
        wait_for(lambda: len(live) >= len(vectors), what="pub/sub messages")
        wait_for(lambda: SymbolStatus.parse(redis_client.hget(keys.symbol_status(), "SOLUSDT")).stage == "serving",
                 what="SOLUSDT's status to say serving")

    assert len(published) == len(vectors)
    assert all(key == p.symbol.encode() for key, p in published)
    assert {(p.model_name, p.model_version) for _, p in published} == {(BASELINE_NAME, BASELINE_VERSION)}
    assert sorted((p.symbol, p.as_of_ms) for _, p in published) == sorted((v.symbol, v.timestamp_ms) for v in vectors)
    assert all(p.predicted_price == 100.0 + (p.as_of_ms - BASE_MS) // MINUTE_MS for _, p in published)
    assert sorted((m["symbol"], m["as_of_ms"]) for m in live) == sorted((p.symbol, p.as_of_ms) for _, p in published)

    for symbol in SYMBOLS:
        latest = Prediction.parse(redis_client.get(keys.latest_prediction(symbol)))
        assert latest.as_of_ms == BASE_MS + 3 * MINUTE_MS
        history = redis_client.zrange(keys.prediction_history(symbol), 0, -1, withscores=True)
        assert [int(score) for _, score in history] == [BASE_MS + step * MINUTE_MS for step in range(4)]
        assert 0 < redis_client.ttl(keys.prediction_history(symbol)) <= inference_settings.history_ttl_seconds
    assert redis_client.smembers(keys.symbols()) == set(SYMBOLS)
    served = redis_client.hgetall(keys.served_model())
    assert (served["name"], served["version"]) == (BASELINE_NAME, BASELINE_VERSION)
    status = SymbolStatus.parse(redis_client.hget(keys.symbol_status(), "SOLUSDT"))
    assert status.model == f"{BASELINE_NAME} v{BASELINE_VERSION}" and "baseline" in status.detail
    assert status.requested_at_ms == BASE_MS and status.reported_by == "inference"
    assert set(redis_client.hkeys(keys.symbol_status())) == {"SOLUSDT"}


def test_champion_predictions_candles_and_live_scores(
    inference_settings, kafka_settings, topics, send, redis_client, keys
):
    model = LinearModel("m", "3", weight=2.0, bias=0.001)
    registry = InMemoryChampions("m")
    registry.register(model)
    registry.set_champion("3")
    closes = {step: 100.0 * math.exp(0.001 * step) for step in range(12)}  # steady 0.1% per minute
    vectors = [vector("BTCUSDT", step, ret_1=ret_for("BTCUSDT", step), close=closes[step]) for step in range(6)]
    candles = [candle("BTCUSDT", step, closes[step]) for step in range(12)]

    predictions_before = sample("inference_predictions_total", model_name="m", model_version="3")
    latencies_before = sample("inference_close_to_prediction_seconds_count")

    with running(InferenceService(inference_settings, registry)):
        send(Topic.FEATURES, vectors)
        published = predictions_on_topic(kafka_settings, topics, expected=len(vectors))
        send(Topic.CANDLES, candles)
        live_key = keys.live_metrics("m", "BTCUSDT")
        wait_for(lambda: redis_client.hget(live_key, "count") == "6", what="all six predictions scored")

    by_step = {(p.as_of_ms - BASE_MS) // MINUTE_MS: p for _, p in published}
    assert sorted(by_step) == list(range(6))
    for step, prediction in by_step.items():
        assert (prediction.model_name, prediction.model_version) == ("m", "3")
        assert prediction.predicted_return == pytest.approx(model.expected([ret_for("BTCUSDT", step)]), rel=1e-5)
        assert prediction.target_time_ms == prediction.as_of_ms + 5 * MINUTE_MS

    # Every realised 5-minute return is 0.005: the live MAE is the mean distance from it.
    live = redis_client.hgetall(live_key)
    expected_mae = sum(abs(p.predicted_return - 0.005) for p in by_step.values()) / 6
    assert float(live["mae"]) == pytest.approx(expected_mae, rel=1e-6)
    assert float(live["persistence_mae"]) == pytest.approx(0.005, rel=1e-6)
    assert float(live["skill"]) == pytest.approx(1 - expected_mae / 0.005, rel=1e-6)
    expected_hits = sum((p.predicted_return > 0.0005) for p in by_step.values()) / 6
    assert float(live["hit_rate"]) == pytest.approx(expected_hits)

    assert sample("inference_predictions_total", model_name="m", model_version="3") == predictions_before + 6
    assert sample("inference_close_to_prediction_seconds_count") == latencies_before + 6
    assert sample("inference_served_model_info", model_name="m", model_version="3", feature_set_version="fs-a") == 1
    assert sample("inference_live_mae", model_name="m", symbol="BTCUSDT") == pytest.approx(float(live["mae"]))
    assert sample("inference_live_hit_rate", model_name="m", symbol="BTCUSDT") == float(live["hit_rate"])

    stored = redis_client.zrange(keys.candles("BTCUSDT", "1m"), 0, -1, withscores=True)
    assert [int(score) for _, score in stored] == [c.open_time_ms for c in candles]
    assert Candle.parse(stored[-1][0]) == candles[-1]
    served = redis_client.hgetall(keys.served_model())
    assert (served["name"], served["version"], served["feature_set_version"]) == ("m", "3", "fs-a")


def test_mismatched_feature_set_goes_to_the_dead_letter_topic_and_the_stream_goes_on(
    inference_settings, kafka_settings, topics, send, redis_client, keys
):
    registry = InMemoryChampions("m")
    registry.register(LinearModel("m", "1", weight=1.0, feature_set_version="fs-a"))
    registry.set_champion("1")
    stream = [vector("BTCUSDT", 0), vector("BTCUSDT", 1, fs="fs-old"), vector("BTCUSDT", 2), vector("ETHUSDT", 2)]
    refused_before = sample("inference_refused_total", topic="features", reason="FeatureSetMismatch")

    with running(InferenceService(inference_settings, registry)):
        send(Topic.FEATURES, stream)
        published = predictions_on_topic(kafka_settings, topics, expected=3)
        dead = consume(kafka_settings, topics.dlq(Topic.FEATURES), expected=1, timeout=30)

    assert sorted((p.symbol, p.as_of_ms) for _, p in published) == [
        ("BTCUSDT", BASE_MS), ("BTCUSDT", BASE_MS + 2 * MINUTE_MS), ("ETHUSDT", BASE_MS + 2 * MINUTE_MS)]
    (letter,) = [DeadLetter.parse(record.value) for record in dead]
    assert letter.error_type == "FeatureSetMismatch"
    assert "'fs-old'" in letter.reason and "'fs-a'" in letter.reason
    assert letter.source_topic == topics(Topic.FEATURES) and letter.message_key == "BTCUSDT"
    assert json.loads(letter.payload)["feature_set_version"] == "fs-old"
    assert sample("inference_refused_total", topic="features", reason="FeatureSetMismatch") == refused_before + 1


def test_champion_swap_mid_stream_loses_and_repeats_nothing(
    inference_settings, kafka_settings, topics, send, redis_client, keys
):
    old, new = LinearModel("m", "1", weight=1.0), LinearModel("m", "2", weight=-3.0, bias=0.002)
    registry = InMemoryChampions("m")
    registry.register(old)
    registry.register(new)
    registry.set_champion("1")
    symbols = [f"S{i:02d}USDT" for i in range(20)]
    steps = 30

    with running(InferenceService(inference_settings, registry)):
        for step in range(steps):
            send(Topic.FEATURES, [vector(s, step, ret_1=ret_for(s, step)) for s in symbols])
            if step == steps // 2:
                registry.set_champion("2")  # the alias moves while vectors keep coming
            time.sleep(0.05)
        published = predictions_on_topic(kafka_settings, topics, expected=steps * len(symbols))

    inputs = Counter((p.symbol, p.as_of_ms) for _, p in published)
    assert len(inputs) == steps * len(symbols), "an input got no prediction"
    assert max(inputs.values()) == 1, "an input got two predictions"
    versions = Counter(p.model_version for _, p in published)
    assert versions["1"] > 0 and versions["2"] > 0 and set(versions) == {"1", "2"}
    models = {"1": old, "2": new}
    for _, prediction in published:
        step = (prediction.as_of_ms - BASE_MS) // MINUTE_MS
        expected = models[prediction.model_version].expected([ret_for(prediction.symbol, step)])
        assert prediction.predicted_return == pytest.approx(expected, rel=1e-5, abs=1e-9)
    # Once a symbol is served by the new champion it never goes back to the old one.
    for symbol in symbols:
        ordered = sorted((p.as_of_ms, p.model_version) for _, p in published if p.symbol == symbol)
        served = [version for _, version in ordered]
        assert served == sorted(served)
    assert redis_client.hget(keys.served_model(), "version") == "2"


def test_malformed_input_is_dead_lettered_and_other_intervals_skipped(
    inference_settings, kafka_settings, topics, send
):
    registry = InMemoryChampions("m")  # baseline: any feature set is fine
    five_minute = vector("BTCUSDT", 0, interval="5m", interval_ms=5 * MINUTE_MS)

    with running(InferenceService(inference_settings, registry)):
        produce_raw(kafka_settings, topics(Topic.FEATURES), [(b"BTCUSDT", b"{not json")])
        produce_raw(kafka_settings, topics(Topic.CANDLES), [(b"ETHUSDT", b'{"symbol": "ETHUSDT"}')])
        send(Topic.FEATURES, [five_minute, vector("BTCUSDT", 1)])
        published = predictions_on_topic(kafka_settings, topics, expected=1)
        features_dead = consume(kafka_settings, topics.dlq(Topic.FEATURES), expected=1, timeout=30)
        candles_dead = consume(kafka_settings, topics.dlq(Topic.CANDLES), expected=1, timeout=30)

    assert [(p.symbol, p.interval, p.as_of_ms) for _, p in published] == [("BTCUSDT", "1m", BASE_MS + MINUTE_MS)]
    (bad_vector,) = [DeadLetter.parse(record.value) for record in features_dead]
    assert bad_vector.payload == "{not json" and "not valid JSON" in bad_vector.reason
    (bad_candle,) = [DeadLetter.parse(record.value) for record in candles_dead]
    assert bad_candle.source_topic == topics(Topic.CANDLES) and bad_candle.error_type == "ContractError"
