"""/health reflects the freshness of the data, not only that the processes answer: the age of each symbol's
last trade (from the end of the real trades topic) and how far its newest candle (in the real Redis) lags."""

from __future__ import annotations

import time

import pytest

from gateway.config import GatewaySettings
from tickcast.contracts import Trade
from tickcast.kafka import CheckedProducer
from tickcast.topics import Topic

pytestmark = pytest.mark.integration

MINUTE_MS = 60_000


def _trade(symbol: str, trade_id: int, at_ms: int) -> Trade:
    return Trade(symbol=symbol, trade_id=trade_id, price=100.0, quantity=0.5, quote_quantity=50.0,
                 timestamp_ms=at_ms, is_buyer_maker=False, source="synthetic")


def test_health_is_degraded_naming_each_stale_symbol_and_how_old_its_data_is(
    kafka_settings, topics, redis_settings, store_writer, start_gateway, http_client, wait_until
) -> None:
    now = int(time.time() * 1000)
    minute = now - now % MINUTE_MS
    producer = CheckedProducer(kafka_settings)
    # BTCUSDT: a trade that just arrived, and the candle of the minute before.
    producer.send(topics(Topic.TRADES), _trade("BTCUSDT", 1, now - 2_000), timestamp_ms=now - 1_000)
    # ETHUSDT: its last trade arrived ten minutes ago.
    producer.send(topics(Topic.TRADES), _trade("ETHUSDT", 1, now - 10 * MINUTE_MS), timestamp_ms=now - 10 * MINUTE_MS)
    # SOLUSDT: trades arrive, but its newest candle ended 20 minutes before them (the candles stopped).
    producer.send(topics(Topic.TRADES), _trade("SOLUSDT", 1, now - 1_000), timestamp_ms=now - 1_000)
    producer.flush()
    t0_index = lambda at_ms: (at_ms - store_writer.candle(index=0).open_time_ms) // MINUTE_MS  # noqa: E731
    store_writer.add_candles(
        store_writer.candle("BTCUSDT", index=t0_index(minute - MINUTE_MS)),
        store_writer.candle("ETHUSDT", index=t0_index(minute - 11 * MINUTE_MS)),
        store_writer.candle("SOLUSDT", index=t0_index(minute - 21 * MINUTE_MS)),
    )

    settings = GatewaySettings(stale_after_s=60, freshness_interval_s=0.2)
    with http_client(start_gateway(settings)) as http:
        def health() -> dict:
            response = http.get("/health")
            assert response.status_code == 200  # the API answers: degraded, not down
            return response.json()

        wait_until(lambda: {f["symbol"] for f in health()["freshness"] if f["last_trade_time_ms"]}
                   == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}, 20)
        body = health()
        by_symbol = {item["symbol"]: item for item in body["freshness"]}
        print(f"\n/health: {body['status']} {body['problems']}")

    assert body["status"] == "degraded"
    btc, eth, sol = by_symbol["BTCUSDT"], by_symbol["ETHUSDT"], by_symbol["SOLUSDT"]
    assert not btc["stale"] and btc["reason"] is None and btc["last_trade_age_s"] < 60
    assert btc["last_trade_time_ms"] == now - 2_000 and btc["last_candle_close_ms"] == minute

    assert eth["stale"] and eth["reason"].startswith("no trade received for 10 min")
    assert eth["last_trade_age_s"] >= 600

    assert sol["stale"] and "1m candles 20 min" in sol["reason"] and "behind the trades" in sol["reason"]
    assert sol["last_trade_age_s"] < 60 and sol["candles_behind_trades_s"] >= 20 * 60

    assert sorted(p.split(":")[0] for p in body["problems"]) == ["ETHUSDT", "SOLUSDT"]


def test_health_says_when_the_trades_topic_cannot_be_read(
    redis_settings, unused_port, start_gateway, http_client, wait_until, monkeypatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{unused_port}")
    with http_client(start_gateway(GatewaySettings(freshness_interval_s=0.2))) as http:
        wait_until(lambda: "could not be read" in " ".join(http.get("/health").json()["problems"]), 30)
        body = http.get("/health").json()
    assert body["status"] == "degraded"
    assert body["problems"][0].startswith("age of the last trades unknown: the trades topic could not be read")
