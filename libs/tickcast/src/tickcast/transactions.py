"""Exactly-once hand-over from a consumer to a producer: outputs and input offsets in one transaction.

A consumer reading with ``isolation.level=read_committed`` sees a transaction's
messages only once it commits, and the input offsets commit with them: after a
crash or a rebalance the inputs are read again exactly from where the last
committed outputs stop, so nothing is lost or produced twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from tickcast.kafka import CheckedProducer, DeliveryError
from tickcast.settings import KafkaSettings


def next_offsets(messages: Iterable[Message]) -> list[TopicPartition]:
    """Offsets to commit after ``messages``: one past the last of each partition."""
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (message.topic() or "", message.partition() or 0)
        last[key] = max(last.get(key, -1), message.offset() or 0)
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in sorted(last.items())]


# An open transaction of a crashed instance holds back read_committed readers of its
# partitions until it times out, so keep that short; deliveries must fit inside it.
TRANSACTION_DEFAULTS: dict[str, Any] = {"transaction.timeout.ms": 30_000, "delivery.timeout.ms": 30_000}


class TransactionalProducer(CheckedProducer):
    """A :class:`CheckedProducer` whose sends commit atomically with a consumer's offsets.

    ``transactional_id`` should be unique per running instance; fencing of a
    stale instance comes from the consumer group generation sent with the offsets.
    """

    def __init__(self, settings: KafkaSettings, transactional_id: str, timeout: float = 30.0,
                 **overrides: Any) -> None:
        super().__init__(settings, **{**TRANSACTION_DEFAULTS, "transactional.id": transactional_id, **overrides})
        self._producer.init_transactions(timeout)

    def begin(self) -> None:
        self._producer.begin_transaction()

    def commit(self, consumer: Consumer, offsets: list[TopicPartition], timeout: float = 30.0) -> None:
        """Commit what was sent since :meth:`begin` together with ``offsets`` of ``consumer``'s group."""
        if offsets:
            self._producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), timeout)
        self._producer.commit_transaction(timeout)
        if self.failed:
            count = len(self.failed)
            self.failed.clear()
            raise DeliveryError(f"{count} message(s) not delivered in a committed transaction")

    def abort(self, timeout: float = 30.0) -> None:
        self._producer.abort_transaction(timeout)
        self.failed.clear()
