"""Every contract round-trips through the real broker; malformed messages reach the DLQ with a reason."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Consumer

from support.kafka import consume, produce_raw
from tickcast.contracts import Candle, DeadLetter, FeatureVector, Prediction, Trade
from tickcast.kafka import CheckedProducer, consumer_config, parse_or_dead_letter
from tickcast.topics import Topic, TopicNames

pytestmark = pytest.mark.integration

T0 = 1_704_067_200_000

SAMPLES = {
    Topic.TRADES: Trade(symbol="BTCUSDT", trade_id=7, price=42000.1, quantity=0.5, quote_quantity=21000.05,
                        timestamp_ms=T0 + 5, is_buyer_maker=True, source="replay"),
    Topic.CANDLES: Candle(symbol="ETHUSDT", interval="1m", open_time_ms=T0, close_time_ms=T0 + 59_999,
                          open=2300.0, high=2301.0, low=2299.5, close=2300.5, volume=3.0, quote_volume=6901.5,
                          trade_count=4, taker_buy_base_volume=1.0, taker_buy_quote_volume=2300.5, vwap=2300.5,
                          first_trade_id=1, last_trade_id=4),
    Topic.FEATURES: FeatureVector(symbol="BTCUSDT", interval="1m", timestamp_ms=T0, feature_set_version="fs-1",
                                  values={"rsi_14": 51.2}, close=42000.0),
    Topic.PREDICTIONS: Prediction(symbol="BTCUSDT", model_name="persistence", model_version="baseline",
                                  horizon=5, as_of_ms=T0, target_time_ms=T0 + 300_000, predicted_return=0.0,
                                  predicted_price=42000.0, direction="flat", emitted_ms=T0 + 60_500),
}


@pytest.mark.parametrize("topic", list(SAMPLES))
def test_contract_round_trips_keyed_by_symbol(kafka_settings, topics: TopicNames, topic: Topic):
    message = SAMPLES[topic]
    producer = CheckedProducer(kafka_settings)
    producer.send(topics(topic), message)
    producer.flush()
    assert producer.delivered == 1

    [record] = consume(kafka_settings, topics(topic), expected=1, idle=0.5)
    assert record.key == message.symbol.encode()
    assert type(message).parse(record.value) == message


def test_malformed_message_goes_to_dead_letter_topic_with_reason(kafka_settings, topics: TopicNames):
    good = SAMPLES[Topic.TRADES]
    bad = json.loads(good.to_json_bytes()) | {"price": "not-a-price"}
    produce_raw(kafka_settings, topics(Topic.TRADES), [
        (b"BTCUSDT", json.dumps(bad).encode()),
        (b"BTCUSDT", good.to_json_bytes()),
        (b"BTCUSDT", b"\xff garbage"),
    ])

    consumer = Consumer(consumer_config(kafka_settings, group_id=f"{kafka_settings.topic_prefix}reader"))
    consumer.subscribe([topics(Topic.TRADES)])
    producer = CheckedProducer(kafka_settings)
    parsed = []
    seen = 0
    while seen < 3:
        message = consumer.poll(10)
        assert message is not None, "broker returned nothing"
        if message.error():
            continue
        seen += 1
        trade = parse_or_dead_letter(Trade, message, producer, topics.dlq(Topic.TRADES), "test")
        if trade is not None:
            parsed.append(trade)
        producer.flush()
        consumer.store_offsets(message)
    consumer.commit(asynchronous=False)
    consumer.close()

    assert parsed == [good]
    letters = [DeadLetter.parse(r.value) for r in consume(kafka_settings, topics.dlq(Topic.TRADES), expected=2)]
    assert [letter.offset for letter in letters] == [0, 2]
    assert "Trade.price" in letters[0].reason and "not-a-price" in letters[0].reason
    assert "not valid JSON" in letters[1].reason
    assert all(letter.source_topic == topics(Topic.TRADES) for letter in letters)
    assert letters[0].message_key == "BTCUSDT"


def test_topic_creation_is_idempotent(kafka_settings):
    from tickcast.kafka import ensure_topics

    specs = TopicNames(kafka_settings).specs()
    assert ensure_topics(kafka_settings, specs) == []  # the fixture already made them



def test_a_full_local_queue_waits_instead_of_losing_messages(kafka_settings, topics: TopicNames):
    # A queue of two messages overflows at once: every produce past it must wait, none may fail.
    producer = CheckedProducer(kafka_settings, **{"queue.buffering.max.messages": 2})
    values = [f"{index}".encode() for index in range(50)]
    for value in values:
        producer.produce(topics(Topic.TRADES), value, key=b"BTCUSDT")
    producer.flush()
    assert producer.delivered == len(values)
    records = consume(kafka_settings, topics(Topic.TRADES), expected=len(values), idle=0.5)
    assert [record.value for record in records] == values
