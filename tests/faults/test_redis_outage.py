"""Redis stops and comes back: the gateway answers 503 with a reason meanwhile and recovers by
itself; inference keeps the predictions topic flowing and fills Redis again once it is back.
Redis keeps its data on disk; when it comes back without it, inference rebuilds it from the topics.

Uses a redis-server of the test's own (``infra/redis/redis.sh``, own port and folder), never the
shared test Redis. Feature vectors and candles are written straight onto inference's input topics.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from support.services import (
    MINUTE_MS,
    Stack,
    free_port,
    http_json,
    produce,
    read_all,
    stopped_at_exit,
    wait_until,
)
from tickcast.contracts import Candle, FeatureVector, Prediction
from tickcast.features import FEATURE_NAMES, FEATURE_SET_VERSION
from tickcast.redis_keys import RedisKeys
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SYMBOLS = ["BTCUSDT", "SOLUSDT"]
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _candle(symbol: str, minute: int) -> Candle:
    close = 100.0 + minute + (0.5 if symbol == "SOLUSDT" else 0.0)
    open_time = BASE_MS + minute * MINUTE_MS
    return Candle(symbol=symbol, interval="1m", open_time_ms=open_time, close_time_ms=open_time + MINUTE_MS - 1,
                  open=close - 0.2, high=close + 0.3, low=close - 0.4, close=close, volume=2.0,
                  quote_volume=2.0 * close, trade_count=7, taker_buy_base_volume=1.0,
                  taker_buy_quote_volume=close, vwap=close - 0.1)


def _vector(symbol: str, minute: int) -> FeatureVector:
    values = {name: 0.001 * ((index + minute) % 7) for index, name in enumerate(FEATURE_NAMES)}
    return FeatureVector(symbol=symbol, interval="1m", timestamp_ms=BASE_MS + minute * MINUTE_MS,
                         feature_set_version=FEATURE_SET_VERSION, values=values, close=_candle(symbol, minute).close)


def _send_minutes(settings: KafkaSettings, topics: TopicNames, minutes: range) -> None:
    produce(settings, topics(Topic.CANDLES), [_candle(s, m) for m in minutes for s in SYMBOLS])
    produce(settings, topics(Topic.FEATURES), [_vector(s, m) for m in minutes for s in SYMBOLS])


def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def _store_prediction(url: str, keys: RedisKeys, prediction: Prediction) -> None:
    """Write a prediction where inference writes it (``tickcast.redis_keys``), as inference does."""
    client = _redis_client(url)
    try:
        document = prediction.model_dump_json()
        client.zadd(keys.prediction_history(prediction.symbol), {document: prediction.as_of_ms})
        client.set(keys.latest_prediction(prediction.symbol), document)
        client.sadd(keys.symbols(), prediction.symbol)
    finally:
        client.close()


def _prediction(minute: int) -> Prediction:
    as_of = BASE_MS + minute * MINUTE_MS
    return Prediction(symbol="BTCUSDT", model_name="persistence-baseline", model_version="baseline", horizon=5,
                      as_of_ms=as_of, target_time_ms=as_of + 5 * MINUTE_MS, predicted_return=0.0,
                      predicted_price=100.0 + minute, direction="flat", emitted_ms=as_of + MINUTE_MS)


def test_gateway_answers_503_with_a_reason_while_redis_is_down_and_recovers_by_itself(
    own_redis, namespace: str, tmp_path: Path, record_property,
) -> None:
    stack = Stack(tmp_path, namespace, REDIS_URL=own_redis.url, REDIS_KEY_PREFIX=namespace)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gateway = stack.gateway(port, GATEWAY_LATEST_CACHE_TTL_S="0")
    keys = RedisKeys(namespace)
    figures: dict[str, object] = {}
    with stopped_at_exit(gateway):
        gateway.start()
        wait_until(lambda: http_json(f"{base}/health")[0] == 200, 120, "the gateway", [gateway])
        _store_prediction(own_redis.url, keys, _prediction(1))
        status, body = http_json(f"{base}/predictions/BTCUSDT/latest")
        assert status == 200 and Prediction.parse(body) == _prediction(1)

        own_redis.stop()
        assert not own_redis.answers()
        down_at = time.monotonic()
        for path in ("/health", "/predictions/BTCUSDT/latest", "/predictions/BTCUSDT?limit=5", "/candles/BTCUSDT",
                     "/symbols", "/models"):
            asked = time.monotonic()
            status, body = http_json(base + path, timeout=10)
            figures[f"503_seconds{path}"] = round(time.monotonic() - asked, 2)
            assert status == 503, (path, status, body)
            assert isinstance(body, dict) and "redis" in body.get("detail", "").lower(), (path, body)
        figures["detail"] = body["detail"]
        gateway.assert_alive()

        own_redis.start()  # with its data: it keeps an append-only file under its home
        back_at = time.monotonic()
        wait_until(lambda: http_json(f"{base}/health")[0] == 200, 60, "the gateway's health again", [gateway])
        figures["healthy_after_s"] = round(time.monotonic() - back_at, 2)
        status, body = http_json(f"{base}/predictions/BTCUSDT/latest")
        assert status == 200 and Prediction.parse(body) == _prediction(1), (status, body)

        own_redis.stop()
        own_redis.forget_data()
        own_redis.start()
        wait_until(lambda: http_json(f"{base}/health")[0] == 200, 60, "the gateway's health again", [gateway])
        status, body = http_json(f"{base}/predictions/BTCUSDT/latest")
        assert status == 404, (status, body)  # Redis came back empty, and the gateway says so
        _store_prediction(own_redis.url, keys, _prediction(2))
        status, body = http_json(f"{base}/predictions/BTCUSDT/latest")
        assert status == 200 and Prediction.parse(body) == _prediction(2)
        figures["outage_s"] = round(back_at - down_at, 1)
    print(f"\nredis outage, gateway: {figures}")
    for name, value in figures.items():
        record_property(name, value)


def test_inference_keeps_the_topic_flowing_while_redis_is_down_and_refills_it(
    kafka_settings: KafkaSettings, topics: TopicNames, own_redis, namespace: str, tmp_path: Path, record_property,
) -> None:
    stack = Stack(tmp_path, namespace, REDIS_URL=own_redis.url, REDIS_KEY_PREFIX=namespace)
    inference = stack.inference()
    keys = RedisKeys(namespace)
    figures: dict[str, object] = {}

    def redis_latest_minute(symbol: str) -> int | None:
        client = _redis_client(own_redis.url)
        try:
            raw = client.get(keys.latest_prediction(symbol))
        except redis.RedisError:
            return None
        finally:
            client.close()
        return None if raw is None else (Prediction.parse(raw).as_of_ms - BASE_MS) // MINUTE_MS

    def topic_has(minute: int) -> bool:
        predictions = read_all(kafka_settings, topics(Topic.PREDICTIONS), Prediction, idle=1.0)
        wanted = {(s, BASE_MS + minute * MINUTE_MS) for s in SYMBOLS}
        return wanted <= {(p.symbol, p.as_of_ms) for p in predictions}

    with stopped_at_exit(inference):
        inference.start()
        _send_minutes(kafka_settings, topics, range(10))
        wait_until(lambda: all(redis_latest_minute(s) == 9 for s in SYMBOLS), 180, "predictions in Redis",
                   [inference])

        own_redis.stop()
        down_at = time.monotonic()
        _send_minutes(kafka_settings, topics, range(10, 20))
        wait_until(lambda: topic_has(19), 120, "predictions on the topic while Redis is down", [inference])
        figures["topic_flowing_while_down_after_s"] = round(time.monotonic() - down_at, 1)

        own_redis.start()  # with what it had on disk
        back_at = time.monotonic()
        _send_minutes(kafka_settings, topics, range(20, 25))
        wait_until(lambda: all(redis_latest_minute(s) == 24 for s in SYMBOLS), 180, "Redis refilled", [inference])
        figures["redis_refilled_after_s"] = round(time.monotonic() - back_at, 1)
        inference.assert_alive()

        own_redis.stop()
        own_redis.forget_data()
        own_redis.start()  # empty: nothing new arrives, the topics alone fill it again
        back_at = time.monotonic()
        wait_until(lambda: all(redis_latest_minute(s) == 24 for s in SYMBOLS), 120, "Redis rebuilt from the topics",
                   [inference])
        figures["empty_redis_rebuilt_after_s"] = round(time.monotonic() - back_at, 1)
        client = _redis_client(own_redis.url)
        try:
            assert client.smembers(keys.symbols()) == {s.encode() for s in SYMBOLS}
            assert all(client.zcard(keys.prediction_history(s)) == 25 for s in SYMBOLS)
            assert all(client.zcard(keys.candles(s, "1m")) == 25 for s in SYMBOLS)
            assert client.hget(keys.served_model(), "name") is not None
        finally:
            client.close()
        inference.assert_alive()

    predictions = read_all(kafka_settings, topics(Topic.PREDICTIONS), Prediction)
    seen = [(p.symbol, p.as_of_ms) for p in predictions]
    assert len(seen) == len(set(seen)), "a prediction was published twice"
    assert set(seen) == {(s, BASE_MS + m * MINUTE_MS) for s in SYMBOLS for m in range(25)}, \
        "a prediction was lost around the outage"
    figures["predictions"] = len(predictions)
    print(f"\nredis outage, inference: {figures}")
    for name, value in figures.items():
        record_property(name, value)
