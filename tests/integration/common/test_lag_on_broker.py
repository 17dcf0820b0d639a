"""The exported consumer lag is what a real group on the real broker has left to read."""

from __future__ import annotations

import threading
import uuid

import pytest
import structlog
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from prometheus_client import REGISTRY

from support.services import free_port, wait_until
from tickcast.contracts import Trade
from tickcast.kafka import consumer_config, ensure_topics, producer_config
from tickcast.lag import LagMonitor, LagSettings, watch_consumer_lag
from tickcast.settings import KafkaSettings
from tickcast.topics import TopicSpec
from tickcast.transactions import TRANSACTION_DEFAULTS

pytestmark = pytest.mark.integration

PARTITIONS = 2


def trade(trade_id: int) -> bytes:
    return Trade(symbol="BTCUSDT", trade_id=trade_id, price=42000.0, quantity=0.1, quote_quantity=4200.0,
                 timestamp_ms=1_704_067_200_000 + trade_id, is_buyer_maker=False,
                 source="synthetic").to_json_bytes()


def send(producer: Producer, topic: str, partition: int, count: int) -> None:
    """``count`` trades onto one chosen partition."""
    for trade_id in range(count):
        producer.produce(topic, trade(trade_id), key=b"BTCUSDT", partition=partition)


def exported_lag(group: str, topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value("tickcast_consumer_lag",
                                     {"group": group, "topic": topic, "partition": str(partition)})


def group_lag(group: str) -> float | None:
    return REGISTRY.get_sample_value("tickcast_consumer_group_lag", {"group": group})


@pytest.fixture
def topic(kafka_settings: KafkaSettings, namespace: str) -> str:
    name = f"{namespace}lag-{uuid.uuid4().hex[:6]}"
    ensure_topics(kafka_settings, [TopicSpec(name, PARTITIONS, 1)])
    return name


def consume(consumer: Consumer, topic: str, partition: int, count: int) -> list[Message]:
    """``count`` messages of one partition, from its start."""
    consumer.assign([TopicPartition(topic, partition, 0)])
    messages: list[Message] = []
    while len(messages) < count:
        message = consumer.poll(10)
        assert message is not None, f"only {len(messages)} of {count} messages arrived"
        assert message.error() is None, message.error()
        messages.append(message)
    return messages


def commit_after(consumer: Consumer, message: Message) -> None:
    consumer.commit(offsets=[TopicPartition(message.topic(), message.partition(), message.offset() + 1)],
                    asynchronous=False)


def test_lag_is_what_the_group_has_not_committed(kafka_settings: KafkaSettings, namespace: str, topic: str):
    produced, committed = 50, 20
    producer = Producer(producer_config(kafka_settings))
    send(producer, topic, 0, produced)
    send(producer, topic, 1, 7)
    assert producer.flush(30) == 0
    group = f"{namespace}lag-group"
    monitor = LagMonitor(kafka_settings, group, [topic], interval_s=1)

    # Never committed: the group would start at the beginning, so everything is lag.
    assert monitor.measure() is not None
    assert exported_lag(group, topic, 0) == produced
    assert exported_lag(group, topic, 1) == 7
    assert group_lag(group) == produced + 7

    consumer = Consumer(consumer_config(kafka_settings, group))
    try:
        messages = consume(consumer, topic, 0, produced)
        commit_after(consumer, messages[committed - 1])
        monitor.measure()
        assert exported_lag(group, topic, 0) == produced - committed
        assert group_lag(group) == produced - committed + 7

        commit_after(consumer, messages[-1])
        commit_after(consumer, consume(consumer, topic, 1, 7)[-1])
        monitor.measure()
        assert exported_lag(group, topic, 0) == 0
        assert exported_lag(group, topic, 1) == 0
        assert group_lag(group) == 0
        assert REGISTRY.get_sample_value("tickcast_consumer_lag_last_success_timestamp_seconds",
                                         {"group": group}) > 0
    finally:
        consumer.close()


def test_a_transactions_commit_marker_counts_as_one(kafka_settings: KafkaSettings, namespace: str, topic: str):
    """The marker after a transaction takes an offset no consumer commits past: a documented lag of 1."""
    group = f"{namespace}lag-tx"
    consumer = Consumer(consumer_config(kafka_settings, group))
    producer = Producer(producer_config(kafka_settings, **TRANSACTION_DEFAULTS,
                                        **{"transactional.id": f"{namespace}lag-tx-producer"}))
    try:
        producer.init_transactions(30)
        producer.begin_transaction()
        send(producer, topic, 0, 10)
        producer.commit_transaction(30)
        monitor = LagMonitor(kafka_settings, group, [topic], interval_s=1)
        monitor.measure()
        assert exported_lag(group, topic, 0) == 11  # ten messages and the marker

        commit_after(consumer, consume(consumer, topic, 0, 10)[-1])  # read_committed: the ten messages only
        monitor.measure()
        assert exported_lag(group, topic, 0) == 1
    finally:
        consumer.close()


def test_a_broker_that_is_away_is_counted_and_logged_once_never_raised(namespace: str):
    group = f"{namespace}lag-away"
    nowhere = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")  # nothing listens there
    monitor = LagMonitor(nowhere, group, ["trades"], interval_s=1, timeout_s=1)
    with structlog.testing.capture_logs() as logs:
        assert monitor.measure() is None
        assert monitor.measure() is None
    assert REGISTRY.get_sample_value("tickcast_consumer_lag_errors_total", {"group": group}) == 2
    warnings = [entry for entry in logs if entry["event"] == "consumer lag unavailable"]
    assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"
    assert group_lag(group) is None  # no made-up value while it was never measured


def test_the_background_thread_keeps_the_gauge_current(kafka_settings: KafkaSettings, namespace: str, topic: str):
    group = f"{namespace}lag-thread"
    assert watch_consumer_lag(0, kafka_settings, group, [topic]) is None  # /metrics not served: nothing runs
    assert watch_consumer_lag(9000, kafka_settings, group, [topic], LagSettings(interval_s=0)) is None
    monitor = watch_consumer_lag(9000, kafka_settings, group, [topic], LagSettings(interval_s=0.2))
    assert monitor is not None
    try:
        wait_until(lambda: group_lag(group) == 0, 20, "a first measurement of the empty topic")
        producer = Producer(producer_config(kafka_settings))
        send(producer, topic, 1, 12)
        assert producer.flush(30) == 0
        wait_until(lambda: group_lag(group) == 12, 20, "the thread to see the new messages")
    finally:
        monitor.stop()
    assert not any(thread.name == f"consumer-lag-{group}" for thread in threading.enumerate())
