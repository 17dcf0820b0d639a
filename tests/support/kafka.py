"""Reading and writing topics from tests with a plain, independent client."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from tickcast.settings import KafkaSettings


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes
    partition: int
    offset: int
    headers: dict[str, bytes]


def produce_raw(settings: KafkaSettings, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
    producer = Producer({**settings.client_config(), "enable.idempotence": True})
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0, "test producer could not deliver"


def consume(
    settings: KafkaSettings,
    topic: str,
    expected: int | None = None,
    timeout: float = 30.0,
    idle: float = 2.0,
) -> list[Record]:
    """Read every partition of a topic from the start (committed transactions only).

    Partitions are assigned, not subscribed, so no group rebalance delays the read.

    Stops after ``expected`` records, or when nothing arrives for ``idle`` seconds
    once at least the expected count (or, with ``expected=None``, anything) is in,
    or at ``timeout``.
    """
    consumer = Consumer(
        {
            **settings.client_config(),
            "group.id": f"test-reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in partitions])
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    last_seen = time.monotonic()
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                done_waiting = expected is None and records and time.monotonic() - last_seen > idle
                if done_waiting or (expected is not None and len(records) >= expected
                                    and time.monotonic() - last_seen > idle):
                    break
                continue
            if message.error():
                continue
            last_seen = time.monotonic()
            records.append(
                Record(
                    key=message.key(),
                    value=message.value(),
                    partition=message.partition(),
                    offset=message.offset(),
                    headers={k: v for k, v in (message.headers() or [])},
                )
            )
    finally:
        consumer.close()
    return records


def delete_topics_with_prefix(bootstrap: str, prefix: str, timeout_s: float = 10.0) -> list[str]:
    """Delete a finished test's topics, so that the broker does not carry every test's partitions.

    One suite creates thousands of partitions; left in place they slow the broker's start, its
    metadata answers and its background work for every later test.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [name for name in admin.list_topics(timeout=timeout_s).topics if name.startswith(prefix)]
    if not names:
        return []
    for future in admin.delete_topics(names, operation_timeout=timeout_s).values():
        try:
            future.result()
        except KafkaException:
            pass  # already gone, or the broker is going away with the test session
    return names
