"""POST /symbols puts a SymbolRequest on the real broker's symbol-requests topic, behind optional API keys."""

from __future__ import annotations

import httpx
import pytest

from gateway.config import GatewaySettings
from support.kafka import consume
from tickcast.control import SymbolRequest
from tickcast.topics import Topic

pytestmark = pytest.mark.integration


def test_a_requested_symbol_lands_on_the_topic_keyed_by_symbol(
    redis_settings, kafka_settings, topics, start_gateway, store_writer, live_feed_listening
) -> None:
    store_writer.add_candles(store_writer.candle("BTCUSDT"))
    gateway = start_gateway(GatewaySettings(redis=redis_settings, kafka=kafka_settings))

    with httpx.Client(base_url=gateway.url, timeout=30.0) as client:
        new = client.post("/symbols", json={"symbol": "SOLUSDT", "lookback_minutes": 120})
        known = client.post("/symbols", json={"symbol": "BTCUSDT"})

    assert new.status_code == 202
    assert new.json()["already_known"] is False
    assert known.status_code == 202
    assert known.json()["already_known"] is True
    [first, second] = consume(kafka_settings, topics(Topic.SYMBOL_REQUESTS), expected=2)
    assert first.key == b"SOLUSDT"
    request = SymbolRequest.parse(first.value)
    assert (request.symbol, request.lookback_minutes) == ("SOLUSDT", 120)
    assert request.requested_at_ms == new.json()["requested_at_ms"]
    assert second.key == b"BTCUSDT"
    assert SymbolRequest.parse(second.value).lookback_minutes is None


def test_with_api_keys_configured_a_request_needs_one_of_them(
    redis_settings, kafka_settings, topics, start_gateway, live_feed_listening
) -> None:
    settings = GatewaySettings(redis=redis_settings, kafka=kafka_settings, api_keys="key-one,key-two")
    gateway = start_gateway(settings)

    with httpx.Client(base_url=gateway.url, timeout=30.0) as client:
        missing = client.post("/symbols", json={"symbol": "SOLUSDT"})
        wrong = client.post("/symbols", json={"symbol": "SOLUSDT"}, headers={"X-API-Key": "key-three"})
        accepted = client.post("/symbols", json={"symbol": "ADAUSDT"}, headers={"X-API-Key": "key-two"})
        # Reads stay open.
        assert client.get("/symbols").status_code == 200

    assert missing.status_code == wrong.status_code == 401
    assert "X-API-Key" in missing.json()["detail"]
    assert accepted.status_code == 202
    [record] = consume(kafka_settings, topics(Topic.SYMBOL_REQUESTS), expected=1)
    assert SymbolRequest.parse(record.value).symbol == "ADAUSDT"


def test_a_malformed_request_is_a_422_and_nothing_is_produced(
    redis_settings, kafka_settings, topics, start_gateway, live_feed_listening
) -> None:
    gateway = start_gateway(GatewaySettings(redis=redis_settings, kafka=kafka_settings))

    with httpx.Client(base_url=gateway.url, timeout=30.0) as client:
        for body in (
            {"symbol": "sol/usdt"},
            {"symbol": "SOLUSDT", "lookback_minutes": -1},
            {"symbol": "SOLUSDT", "x": 1},
        ):
            assert client.post("/symbols", json=body).status_code == 422, body
        assert client.post("/symbols", json={"symbol": "XRPUSDT"}).status_code == 202

    # Only the valid request reached the topic.
    assert [r.key for r in consume(kafka_settings, topics(Topic.SYMBOL_REQUESTS), expected=1)] == [b"XRPUSDT"]


def test_without_a_live_feed_listening_a_request_is_a_409_that_says_why_and_nothing_is_produced(
    redis_settings, kafka_settings, topics, start_gateway
) -> None:
    gateway = start_gateway(GatewaySettings(redis=redis_settings, kafka=kafka_settings))

    with httpx.Client(base_url=gateway.url, timeout=30.0) as client:
        response = client.post("/symbols", json={"symbol": "SOLUSDT"})

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "no trade producer takes symbol requests" in detail and "make live" in detail
    assert consume(kafka_settings, topics(Topic.SYMBOL_REQUESTS), expected=None, timeout=3, idle=1.0) == []


def test_a_broker_that_does_not_answer_is_a_503_with_a_message(
    redis_settings, kafka_settings, start_gateway, unused_port: int
) -> None:
    unreachable = kafka_settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{unused_port}"})
    gateway = start_gateway(GatewaySettings(redis=redis_settings, kafka=unreachable, kafka_timeout_s=1.0))

    with httpx.Client(base_url=gateway.url, timeout=30.0) as client:
        response = client.post("/symbols", json={"symbol": "SOLUSDT"})

    assert response.status_code == 503
    assert response.json()["detail"].startswith("Kafka did not acknowledge the request for 'SOLUSDT'")
