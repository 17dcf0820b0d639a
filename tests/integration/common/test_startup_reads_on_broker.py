"""Start-up reads against the real broker: a topic that appears while the read waits is read."""

from __future__ import annotations

import threading
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from tickcast.kafka import ensure_topics, topic_partitions, watermark_offsets
from tickcast.retry import BrokerNotReady
from tickcast.settings import KafkaSettings
from tickcast.topics import TopicSpec


def consumer_of(settings: KafkaSettings) -> Consumer:
    return Consumer({**settings.client_config(), "group.id": f"probe-{uuid.uuid4().hex}"})


def test_a_topic_created_during_the_read_is_read(kafka_settings: KafkaSettings, namespace: str):
    name = f"{namespace}late-topic"
    creator = threading.Timer(1.5, lambda: ensure_topics(kafka_settings, [TopicSpec(name, partitions=2, replication_factor=1)]))
    consumer = consumer_of(kafka_settings)
    creator.start()
    try:
        partitions = topic_partitions(consumer, name, deadline_s=30, timeout=2)
        assert partitions == [0, 1]
        assert [watermark_offsets(consumer, TopicPartition(name, p), deadline_s=30) for p in partitions] == [
            (0, 0), (0, 0)
        ]
    finally:
        creator.join()
        consumer.close()


def test_a_topic_that_never_comes_fails_with_what_to_do(kafka_settings: KafkaSettings, namespace: str):
    consumer = consumer_of(kafka_settings)
    try:
        with pytest.raises(BrokerNotReady, match="make topics"):
            topic_partitions(consumer, f"{namespace}never-created", deadline_s=2, timeout=1)
    finally:
        consumer.close()
