"""Kafka clients with defaults that lose nothing.

Producers are idempotent with ``acks=all`` and every delivery report is
checked; consumers never auto-commit, so an offset is committed only after the
work for it is done. Topic creation is idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tickcast.contracts import Contract, DeadLetter
from tickcast.rate_limited_log import RateLimitedLog
from tickcast.retry import DEFAULT_DEADLINE_S, retry_transient
from tickcast.settings import KafkaSettings
from tickcast.topics import TopicSpec

log = structlog.get_logger(__name__)
# One line per kind of refusal per interval: every refused message is in its dead-letter topic.
REFUSED_LOG = RateLimitedLog(log, "messages refused (in the dead-letter topic)")
# A broker away fails every message in flight at once; flush() raises with all of them.
DELIVERY_FAILED_LOG = RateLimitedLog(log, "delivery failed", level="error")

M = TypeVar("M", bound=Contract)

PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,  # no duplicates from internal retries
    # The Java client's partitioner, also used by faust and quixstreams: one symbol lands in the
    # same partition number on every topic, whichever client wrote it.
    "partitioner": "murmur2_random",
    "acks": "all",
    "compression.type": "lz4",
    "linger.ms": 5,
    "batch.num.messages": 10_000,
    "queue.buffering.max.messages": 500_000,
    "delivery.timeout.ms": 120_000,
}

CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,  # commit only after the work is done
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    "isolation.level": "read_committed",  # never see aborted transactional writes
}


class DeliveryError(RuntimeError):
    """At least one message was not acknowledged by the broker."""


def producer_config(settings: KafkaSettings, **overrides: Any) -> dict[str, Any]:
    return {**settings.client_config(), **PRODUCER_DEFAULTS, **overrides}


def consumer_config(settings: KafkaSettings, group_id: str, **overrides: Any) -> dict[str, Any]:
    return {**settings.client_config(), **CONSUMER_DEFAULTS, "group.id": group_id, **overrides}


BACKPRESSURE_POLL_S = 0.05


def produce_with_backpressure(producer: Producer, topic: str, value: bytes, **kwargs: Any) -> None:
    """``producer.produce``, waiting while librdkafka's local queue is full instead of failing.

    A full queue raises ``BufferError``: serving delivery reports (``poll``) makes room, then
    the same message is handed over again. Blocks the calling thread while it waits.
    """
    while True:
        try:
            producer.produce(topic, value, **kwargs)
            return
        except BufferError:
            producer.poll(BACKPRESSURE_POLL_S)


DeliveryCallback = Callable[[KafkaError | None, Message], None]


class CheckedProducer:
    """A producer that counts every delivery report and fails loudly on loss.

    ``flush()`` raises :class:`DeliveryError` if any message was not delivered,
    so a caller that flushes before committing its input offsets can never
    commit past a message that was lost.
    """

    def __init__(self, settings: KafkaSettings, **overrides: Any) -> None:
        self._producer = Producer(producer_config(settings, **overrides))
        self.delivered = 0
        self.failed: list[tuple[str, KafkaError]] = []

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.delivered += 1
        else:
            self.failed.append((message.topic() or "?", error))
            DELIVERY_FAILED_LOG.record(error.name(), topic=message.topic(), key=message.key(), error=str(error))

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Mapping[str, bytes] | None = None,
        timestamp_ms: int | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": self._on_delivery}
        if headers:
            kwargs["headers"] = list(headers.items())
        if timestamp_ms is not None:
            kwargs["timestamp"] = timestamp_ms
        produce_with_backpressure(self._producer, topic, **kwargs)
        self._producer.poll(0)

    def try_produce(
        self, topic: str, value: bytes, key: bytes | None = None, on_delivery: DeliveryCallback | None = None
    ) -> bool:
        """Hand one message over without waiting: False, at once, when librdkafka's local queue is full.

        For an event loop that must not block: the caller decides how to wait. Delivery reports
        are served either way (they are what frees room). ``on_delivery`` runs after this
        producer's own accounting of the report.
        """
        try:
            self._producer.produce(topic, value, key, on_delivery=self._callback(on_delivery))
        except BufferError:
            self._producer.poll(0)
            return False
        self._producer.poll(0)
        return True

    def produce_values(
        self, topic: str, key: bytes, values: Sequence[bytes], on_delivery: DeliveryCallback | None = None
    ) -> None:
        """Hand over many values of one key, in order, waiting while the local queue is full.

        Delivery reports are served once at the end rather than per message, which is what
        makes a tight loop cheap; blocks the calling thread while the queue is full.
        """
        callback = self._callback(on_delivery)
        for value in values:
            produce_with_backpressure(self._producer, topic, value, key=key, on_delivery=callback)
        self._producer.poll(0)

    def _callback(self, on_delivery: DeliveryCallback | None) -> DeliveryCallback:
        if on_delivery is None:
            return self._on_delivery

        def account_then_call(error: KafkaError | None, message: Message) -> None:
            self._on_delivery(error, message)
            on_delivery(error, message)

        return account_then_call

    def send(self, topic: str, message: Contract, timestamp_ms: int | None = None) -> None:
        """Produce a contract message keyed by its symbol."""
        self.produce(topic, message.to_json_bytes(), key=message.key, timestamp_ms=timestamp_ms)

    def poll(self, timeout: float = 0) -> int:
        return self._producer.poll(timeout)

    def flush(self, timeout: float = 30.0) -> None:
        remaining = self._producer.flush(timeout)
        if remaining:
            raise DeliveryError(f"{remaining} message(s) still undelivered after {timeout}s")
        if self.failed:
            topic, error = self.failed[0]
            count = len(self.failed)
            self.failed.clear()
            raise DeliveryError(f"{count} message(s) not delivered; first to {topic!r}: {error}")

    def __len__(self) -> int:
        return len(self._producer)


def dead_letter(
    message: Message,
    reason: str,
    error_type: str,
    service: str,
) -> DeadLetter:
    """Wrap a refused Kafka message with the reason it was refused."""
    return make_dead_letter(
        source_topic=message.topic() or "",
        partition=message.partition(),
        offset=message.offset(),
        key=message.key(),
        value=message.value(),
        reason=reason,
        error_type=error_type,
        service=service,
    )


def make_dead_letter(
    *,
    source_topic: str,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    error_type: str,
    service: str,
    symbol: str | None = None,
) -> DeadLetter:
    """The one way to build a :class:`DeadLetter`: the raw message as text, the reason, the time.

    ``symbol`` defaults to the message key (every message is keyed by symbol).
    """
    key_text = key.decode(errors="replace") if key else None
    return DeadLetter(
        symbol=symbol or key_text,
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        message_key=key_text,
        payload=(value or b"").decode(errors="replace"),
        reason=reason,
        error_type=error_type,
        service=service,
        failed_at_ms=int(time.time() * 1000),
    )


def ensure_topics(settings: KafkaSettings, specs: Iterable[TopicSpec], timeout: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet; safe to repeat. Returns those created."""
    admin = AdminClient(settings.client_config())
    wanted = list(specs)
    existing = set(retry_transient("list the topics", lambda: admin.list_topics(timeout=timeout).topics))
    new = [
        NewTopic(spec.name, spec.partitions, spec.replication_factor, config=dict(spec.config))
        for spec in wanted
        if spec.name not in existing
    ]
    if not new:
        return []
    created = []
    for name, future in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            # Another process may have created it between list and create.
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    for topic in new:  # every partition led, so that the first read of it is answered
        topic_partitions(admin, topic.topic, deadline_s=timeout)
    return created


# --- start-up reads: passing broker errors retried up to a deadline (tickcast.retry) ----------


def topic_partitions(
    client: Consumer | AdminClient, topic: str, deadline_s: float = DEFAULT_DEADLINE_S, timeout: float = 10.0
) -> list[int]:
    """The partition numbers of ``topic``, in order, once the broker knows the topic and its leaders."""

    def read() -> list[int]:
        metadata = client.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None:
            raise KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, f"no topic {topic!r} yet"))
        if metadata.error is not None:
            raise KafkaException(metadata.error)
        for partition in metadata.partitions.values():
            if partition.leader < 0:  # just created, or its leader is being elected
                raise KafkaException(partition.error or KafkaError(KafkaError.LEADER_NOT_AVAILABLE))
        return sorted(metadata.partitions)

    return retry_transient(f"partitions of topic {topic!r}", read, deadline_s)


def watermark_offsets(
    consumer: Consumer, partition: TopicPartition, deadline_s: float = DEFAULT_DEADLINE_S,
    timeout: float = 10.0,
) -> tuple[int, int]:
    """(low, high) offsets of one partition, asked of its leader."""
    return retry_transient(
        f"watermarks of {partition.topic}[{partition.partition}]",
        lambda: consumer.get_watermark_offsets(partition, timeout=timeout),
        deadline_s,
    )


def committed_offsets(
    consumer: Consumer, partitions: list[TopicPartition], deadline_s: float = DEFAULT_DEADLINE_S,
    timeout: float = 10.0,
) -> list[TopicPartition]:
    """The consumer's group's committed offsets of ``partitions`` (OFFSET_INVALID where none)."""

    def read() -> list[TopicPartition]:
        answer = consumer.committed(partitions, timeout=timeout)
        for position in answer:
            if position.error is not None:
                raise KafkaException(position.error)
        return answer

    topics = sorted({p.topic for p in partitions})
    return retry_transient(f"committed offsets of group on {', '.join(topics)}", read, deadline_s)


def parse_or_dead_letter(
    model: type[M],
    message: Message,
    producer: CheckedProducer,
    dlq_topic: str,
    service: str,
) -> M | None:
    """Parse a consumed message, or send it to ``dlq_topic`` with the reason and return None.

    The caller flushes ``producer`` before committing the offset, so a refused
    message is never lost either.
    """
    from tickcast.contracts import ContractError

    try:
        return model.parse(message.value() or b"")
    except ContractError as exc:
        letter = dead_letter(message, str(exc), type(exc).__name__, service)
        producer.send(dlq_topic, letter)
        REFUSED_LOG.record(type(exc).__name__, topic=message.topic(), partition=message.partition(),
                           offset=message.offset(), reason=str(exc))
        return None
