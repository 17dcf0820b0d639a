"""Reading back the last trade id per symbol from the tail of the trades topic."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames
from trade_producer.dedupe import id_space
from trade_producer.topic_tail import read_high_water_marks

pytestmark = pytest.mark.integration


def _trade_json(symbol: str, trade_id: int, aggregate: bool = False) -> bytes:
    ids = (
        f'"first_trade_id":{trade_id * 3},"last_trade_id":{trade_id * 3 + 2}'
        if aggregate
        else ('"first_trade_id":null,"last_trade_id":null')
    )
    return (
        f'{{"schema_version":1,"symbol":"{symbol}","trade_id":{trade_id},"price":1.0,"quantity":1.0,'
        f'"quote_quantity":1.0,"timestamp_ms":1704067200000,"is_buyer_maker":true,"source":"replay",{ids}}}'
    ).encode()


def test_marks_come_from_far_back_in_the_partition_and_per_id_kind(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    topic = topics(Topic.TRADES)
    producer = Producer({**kafka_settings.client_config(), "enable.idempotence": True})
    records = [(b"BTCUSDT", _trade_json("BTCUSDT", i)) for i in (10, 11, 12)]
    records += [(b"BTCUSDT", _trade_json("BTCUSDT", 7, aggregate=True))]
    records += [(b"ETHUSDT", _trade_json("ETHUSDT", i)) for i in range(100, 160)]
    records += [(b"ETHUSDT", b"not json"), (b"SOLUSDT", _trade_json("SOLUSDT", 5))]
    for key, value in records:  # one partition, so BTCUSDT is 62 records behind the end
        producer.produce(topic, value, key, partition=0)
    assert producer.flush(30) == 0

    wanted = [id_space(s, False) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")] + [
        id_space("BTCUSDT", True)
    ]
    marks = read_high_water_marks(kafka_settings, topic, wanted, chunk=4)

    assert dict(marks.items()) == {
        ("BTCUSDT", "trade"): 12,
        ("BTCUSDT", "agg"): 7,
        ("ETHUSDT", "trade"): 159,
        ("SOLUSDT", "trade"): 5,
    }
