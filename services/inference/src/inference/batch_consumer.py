"""The consumer side of inference: features and candles read in batches, rebalances handed on.

Range assignment gives one instance the same partition numbers of features and candles, so a
symbol's predictions and the candles that score them meet in one process. A revocation while a
batch is being gathered strands the messages already fetched from those partitions: they are
set aside (and the consumer rewound to them if the partition comes back at once), never processed
by an instance that no longer owns them.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from tickcast.kafka import consumer_config
from tickcast.rate_limited_log import RateLimitedLog
from tickcast.settings import KafkaSettings

log = structlog.get_logger(__name__)
CONSUMER_ERROR_LOG = RateLimitedLog(log, "consumer error")

Rebalance = Callable[[list[TopicPartition]], None]


class BatchConsumer:
    def __init__(self, kafka: KafkaSettings, group_id: str, session_timeout_ms: int, topics: list[str],
                 max_messages: int, linger_ms: int) -> None:
        self._kafka = kafka
        self._group_id = group_id
        self._session_timeout_ms = session_timeout_ms
        self._topics = topics
        self._max_messages = max_messages
        self._linger_s = linger_ms / 1000
        self._consumer: Consumer | None = None
        self._revoked: set[tuple[str, int]] = set()

    @property
    def client(self) -> Consumer:
        """The subscribed consumer: for committing offsets in a transaction and reading committed ones."""
        assert self._consumer is not None, "start() first"
        return self._consumer

    def start(self, on_assign: Rebalance, on_revoke: Rebalance) -> None:
        """Subscribe; ``on_assign`` / ``on_revoke`` run inside the consumer's poll, between two batches."""
        self._consumer = Consumer(consumer_config(
            self._kafka, self._group_id,
            **{"partition.assignment.strategy": "range", "session.timeout.ms": self._session_timeout_ms},
        ))

        def revoked(_consumer: Consumer, partitions: list[TopicPartition]) -> None:
            self._revoked.update((p.topic, p.partition) for p in partitions)
            on_revoke(partitions)

        self._consumer.subscribe(self._topics, on_assign=lambda _consumer, partitions: on_assign(partitions),
                                 on_revoke=revoked, on_lost=revoked)
        log.info("consuming", topics=self._topics, group=self._group_id)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()

    def next_batch(self) -> list[Message]:
        """The first message to arrive, and whatever arrives with it within the linger time."""
        consumer = self.client
        self._revoked.clear()  # only a revocation while this batch is gathered can strand its messages
        CONSUMER_ERROR_LOG.flush()
        first = consumer.poll(0.5)
        if first is None:
            return []
        more = self._max_messages - 1
        rest = consumer.consume(more, timeout=self._linger_s) if more else []
        return self._drop_revoked([m for m in [first, *rest] if not _is_noise(m)])

    def _drop_revoked(self, messages: list[Message]) -> list[Message]:
        """Set aside messages of partitions revoked while the batch was gathered; rewind those we got back."""
        if not self._revoked:
            return messages
        revoked, self._revoked = self._revoked, set()
        kept: list[Message] = []
        rewind: dict[tuple[str, int], int] = {}
        for message in messages:
            where = (message.topic() or "", message.partition() or 0)
            if where in revoked:
                rewind[where] = min(rewind.get(where, message.offset() or 0), message.offset() or 0)
            else:
                kept.append(message)
        owned = {(p.topic, p.partition) for p in self.client.assignment()}
        for (topic, partition), offset in rewind.items():
            if (topic, partition) in owned:
                self.client.seek(TopicPartition(topic, partition, offset))
        if rewind:
            log.info("dropped messages fetched before a rebalance", partitions=sorted(rewind))
        return kept


def _is_noise(message: Message) -> bool:
    """End-of-partition events and passing consumer errors (counted, logged once per interval)."""
    error = message.error()
    if error is None:
        return False
    if error.fatal():
        raise RuntimeError(f"fatal consumer error: {error}")
    if error.code() != KafkaError._PARTITION_EOF:
        CONSUMER_ERROR_LOG.record(error.name(), error=str(error))
    return True
