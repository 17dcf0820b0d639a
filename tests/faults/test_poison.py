"""Poison messages on every input topic go to ``<topic>.dlq`` with the reason, the stream goes on,
and each service counts them on its Prometheus ``/metrics`` endpoint.

trades -> candle builder, candles -> feature pipeline and inference, features -> inference,
symbol-requests -> the live trade producer (against a local fake of the exchange).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from integration.trade_producer.fake_binance import FakeBinance
from support.kafka import consume, produce_raw
from support.services import (
    MINUTE_MS,
    Stack,
    free_port,
    http_text,
    metric_value,
    produce,
    read_all,
    stopped_at_exit,
    wait_until,
)
from tickcast.contracts import Candle, ContractError, DeadLetter, FeatureVector, Prediction, Trade
from tickcast.control import SymbolRequest
from tickcast.features import FEATURE_NAMES, FEATURE_SET_VERSION
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

POISON = {
    Topic.TRADES: [
        (b"BTCUSDT", b"this is not json"),
        (b"BTCUSDT", (b'{"symbol": "BTCUSDT", "trade_id": 1, "price": -5, "quantity": 1, "quote_quantity": 1, '
                      b'"timestamp_ms": 1767225600000, "is_buyer_maker": false, "source": "synthetic"}')),
    ],
    Topic.CANDLES: [
        (b"BTCUSDT", b"\xff\xfe binary"),
        (b"BTCUSDT", b'{"symbol": "BTCUSDT", "interval": "1m", "open_time_ms": 1767225600001}'),
    ],
    Topic.FEATURES: [
        (b"BTCUSDT", b"[1, 2, 3]"),
        (b"BTCUSDT", (b'{"symbol": "BTCUSDT", "interval": "1m", "timestamp_ms": 1767225600000, '
                      b'"feature_set_version": "x", "values": {}}')),
    ],
    Topic.SYMBOL_REQUESTS: [
        (b"x", b'{"symbol": "sol usdt"}'),
        (b"SOLUSDT", b"{}"),
    ],
}


def _trade(symbol: str, trade_id: int, minute: int) -> Trade:
    return Trade(symbol=symbol, trade_id=trade_id, price=100.0 + minute, quantity=0.5, quote_quantity=50.0 + minute / 2,
                 timestamp_ms=BASE_MS + minute * MINUTE_MS + 1_000, is_buyer_maker=False, source="synthetic")


def _candle(symbol: str, minute: int) -> Candle:
    close = 50.0 + minute
    open_time = BASE_MS + minute * MINUTE_MS
    return Candle(symbol=symbol, interval="1m", open_time_ms=open_time, close_time_ms=open_time + MINUTE_MS - 1,
                  open=close, high=close + 1, low=close - 1, close=close, volume=1.0, quote_volume=close,
                  trade_count=3, taker_buy_base_volume=0.5, taker_buy_quote_volume=close / 2, vwap=close)


def _vector(symbol: str, minute: int) -> FeatureVector:
    return FeatureVector(symbol=symbol, interval="1m", timestamp_ms=BASE_MS + minute * MINUTE_MS,
                         feature_set_version=FEATURE_SET_VERSION, values={name: 0.01 for name in FEATURE_NAMES},
                         close=_candle(symbol, minute).close)


def _parse_candle(record) -> Candle | None:
    try:
        return Candle.parse(record.value)
    except ContractError:
        return None


def test_poison_goes_to_dead_letters_with_reasons_and_the_streams_go_on(
    kafka_settings: KafkaSettings, topics: TopicNames, redis_settings, namespace: str, tmp_path: Path,
    record_property,
) -> None:
    ports = {name: free_port() for name in ("candle-builder", "feature-pipeline", "inference", "trade-producer")}
    stack = Stack(tmp_path, namespace)
    with FakeBinance({"BTCUSDT": 1, "SOLUSDT": 1}) as exchange:
        builder = stack.candle_builder(METRICS_PORT=str(ports["candle-builder"]))
        pipeline = stack.feature_pipeline(METRICS_PORT=str(ports["feature-pipeline"]))
        inference = stack.inference(INFERENCE_METRICS_PORT=str(ports["inference"]))
        producer = stack.service(
            "trade-producer", "trade_producer", "live", "--symbols", "BTCUSDT",
            TRADE_PRODUCER_METRICS_PORT=str(ports["trade-producer"]),
            TRADE_PRODUCER_BINANCE_API_URL=exchange.api_url, TRADE_PRODUCER_BINANCE_STREAM_URL=exchange.stream_url,
            TRADE_PRODUCER_RECONNECT_INITIAL_SECONDS="0.2", TRADE_PRODUCER_RECONNECT_MAX_SECONDS="1",
        )
        services = (builder, pipeline, inference, producer)
        with stopped_at_exit(*services):
            for service in services:
                service.start()

            def metrics(name: str) -> str:
                return http_text(f"http://127.0.0.1:{ports[name]}/metrics") or ""

            for name in ports:
                wait_until(lambda name=name: metrics(name), 120, f"{name} /metrics", services)
            exchange.wait_for_subscribers(1, timeout=120)

            # Valid input before and after the poison: the streams must carry on past it.
            produce(kafka_settings, topics(Topic.TRADES), [_trade("ETHUSDT", 1, 0)])
            produce(kafka_settings, topics(Topic.CANDLES), [_candle("ETHUSDT", 0)])
            for topic, messages in POISON.items():
                produce_raw(kafka_settings, topics(topic), messages)
            produce(kafka_settings, topics(Topic.TRADES), [_trade("ETHUSDT", 2, 1), _trade("ETHUSDT", 3, 2)])
            produce(kafka_settings, topics(Topic.CANDLES), [_candle("ETHUSDT", 1)])
            produce(kafka_settings, topics(Topic.FEATURES), [_vector("ETHUSDT", 0), _vector("ETHUSDT", 1)])
            request = SymbolRequest(symbol="SOLUSDT", requested_at_ms=int(time.time() * 1000), lookback_minutes=0)
            produce(kafka_settings, topics(Topic.SYMBOL_REQUESTS), [request])

            # Dead letters: each poison message once, on its topic's DLQ, with the reason.
            expected_letters = {Topic.TRADES: 2, Topic.CANDLES: 4, Topic.FEATURES: 2, Topic.SYMBOL_REQUESTS: 2}
            letters: dict[Topic, list[DeadLetter]] = {}
            for topic, count in expected_letters.items():
                records = consume(kafka_settings, topics.dlq(topic), expected=count, timeout=180, idle=3.0)
                letters[topic] = [DeadLetter.parse(record.value) for record in records]

            # The streams went on: candles after the poison, vectors fed on, predictions made, the
            # requested symbol streamed.
            def valid_candles() -> set[tuple[str, int, bool]]:
                records = consume(kafka_settings, topics(Topic.CANDLES), timeout=10, idle=1.0)
                # The poison stays on the topic; the valid candles around it are what matters here.
                return {(c.symbol, c.open_time_ms, c.trade_count == 1) for c in map(_parse_candle, records) if c}

            # Built from the trades (one trade each) by the candle builder, around the poison:
            wait_until(lambda: {("ETHUSDT", BASE_MS, True), ("ETHUSDT", BASE_MS + MINUTE_MS, True)} <= valid_candles(),
                       120, "candles of the trades around the poison", services)
            wait_until(lambda: {p.as_of_ms for p in read_all(kafka_settings, topics(Topic.PREDICTIONS), Prediction,
                                                              idle=1.0) if p.symbol == "ETHUSDT"}
                       >= {BASE_MS, BASE_MS + MINUTE_MS}, 120, "predictions after the poison", services)
            exchange.wait_for_subscribers(1, symbols={"BTCUSDT", "SOLUSDT"}, timeout=120)
            exchange.trade("SOLUSDT", 3)
            wait_until(lambda: any(r.key == b"SOLUSDT" for r in consume(kafka_settings, topics(Topic.TRADES),
                                                                          timeout=10, idle=1.0)),
                       60, "trades of the requested symbol", services)

            # Counts on /metrics.
            def counted() -> dict[str, float]:
                return {
                    "candle_builder_rejected": metric_value(metrics("candle-builder"),
                                                            "candle_builder_trades_rejected_total"),
                    "feature_pipeline_rejected": metric_value(metrics("feature-pipeline"),
                                                              "feature_pipeline_candles_total", outcome="rejected"),
                    "inference_refused_features": metric_value(metrics("inference"), "inference_refused_total",
                                                               topic=Topic.FEATURES.value),
                    "inference_refused_candles": metric_value(metrics("inference"), "inference_refused_total",
                                                              topic=Topic.CANDLES.value),
                    "trade_producer_rejected": metric_value(metrics("trade-producer"),
                                                            "trade_producer_rejected_messages_total", source="control"),
                }

            expected_counts = {"candle_builder_rejected": 2, "feature_pipeline_rejected": 2,
                               "inference_refused_features": 2, "inference_refused_candles": 2,
                               "trade_producer_rejected": 2}
            try:
                wait_until(lambda: counted() == expected_counts, 60, "the dead letters counted", services)
            except AssertionError:
                pass  # compared below, with the numbers in the message
            counts = counted()
            for service in services:
                service.assert_alive()

    assert counts == expected_counts, counts
    for topic, found in letters.items():
        assert len(found) == expected_letters[topic], (topic, found)
        assert {letter.source_topic for letter in found} == {topics(topic)}
        assert all(letter.reason and letter.error_type for letter in found)
        payloads = {letter.payload for letter in found}
        for _key, value in POISON[topic]:
            assert value.decode(errors="replace") in payloads, (topic, value)
    assert {letter.service for letter in letters[Topic.CANDLES]} == {"feature_pipeline", "inference"}
    assert any("price" in letter.reason for letter in letters[Topic.TRADES])
    figures = {**counts, **{f"dlq_{topic.value}": len(found) for topic, found in letters.items()},
               "reasons": {topic.value: sorted({letter.reason[:60] for letter in found}) for topic, found in letters.items()}}
    print(f"\npoison: {figures}")
    for name, value in figures.items():
        record_property(name, value)
