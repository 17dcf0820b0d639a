"""Where a requested symbol stands: the rules of its status record (pure) and the board that writes it.

Every stage of the way (gateway, trade producer, feature pipeline, inference) reports onto one
:class:`~tickcast.contracts.SymbolStatus` per symbol. The compacted ``symbol-status`` topic is the
source of truth; the Redis hash ``RedisKeys.symbol_status`` mirrors it for the gateway and is
rebuilt from the topic (:func:`read_statuses`) when it is lost.
"""

from __future__ import annotations

import time
from typing import Any

import redis
import structlog
from confluent_kafka import Consumer, KafkaException, TopicPartition

from tickcast.contracts import SYMBOL_STAGES, ContractError, DataSource, SymbolStage, SymbolStatus
from tickcast.kafka import CheckedProducer, DeliveryError, consumer_config, ensure_topics, watermark_offsets
from tickcast.rate_limited_log import RateLimitedLog
from tickcast.redis_keys import RedisKeys
from tickcast.settings import KafkaSettings, RedisSettings
from tickcast.topics import Topic, TopicNames

log = structlog.get_logger(__name__)
MIRROR_ERROR_LOG = RateLimitedLog(log, "symbol status not mirrored to Redis (the topic has it)")
TOPIC_ERROR_LOG = RateLimitedLog(log, "symbol status not written to its topic")

# A new request starts the way again (the gateway's "requested", the producer's "validating" of the request
# it took); any other report only moves forward (a late "warming" never hides "serving").
RESTARTING: frozenset[SymbolStage] = frozenset({"requested", "validating"})


def stage_rank(stage: SymbolStage) -> int:
    return SYMBOL_STAGES.index(stage)


def next_status(
    previous: SymbolStatus | None,
    symbol: str,
    stage: SymbolStage,
    now_ms: int,
    reported_by: str,
    **fields: Any,
) -> SymbolStatus | None:
    """The record after a report, or None when it says nothing new (or would move the symbol backwards).

    ``stage_since_ms`` is kept while the stage stays the same (progress reports), and fields not given
    (requested time, source, model) are carried over from the previous record.
    """
    if previous is not None and stage not in RESTARTING:
        if previous.stage == "refused":
            return None
        if stage != "refused" and previous.stage != "refused" and stage_rank(stage) < stage_rank(previous.stage):
            return None
    carried: dict[str, Any] = {}
    if previous is not None:
        carried = {"requested_at_ms": previous.requested_at_ms, "source": previous.source, "model": previous.model}
        if stage in RESTARTING:
            carried = {"requested_at_ms": previous.requested_at_ms} if stage != "requested" else {}
    merged = {**carried, **{k: v for k, v in fields.items() if v is not None}}
    merged.setdefault("detail", "")
    since = previous.stage_since_ms if previous is not None and previous.stage == stage else now_ms
    candidate = SymbolStatus(
        symbol=symbol, stage=stage, stage_since_ms=min(since, now_ms), updated_at_ms=now_ms,
        reported_by=reported_by, **merged,
    )
    if previous is not None and _same(previous, candidate):
        return None
    return candidate


def _same(first: SymbolStatus, second: SymbolStatus) -> bool:
    ignored = {"updated_at_ms", "reported_by"}
    return first.model_dump(exclude=ignored) == second.model_dump(exclude=ignored)


class SymbolStatusBoard:
    """Writes a service's reports: onto the compacted topic (flushed, it is rare), then into the Redis mirror.

    A report never stops the service that makes it: a broker or Redis away is logged (once per
    interval) and the next report carries the whole record again.
    """

    def __init__(self, kafka: KafkaSettings, redis_settings: RedisSettings | None, reported_by: str,
                 timeout_s: float = 10.0, create_topic: bool = True) -> None:
        self._topic = TopicNames(kafka)(Topic.SYMBOL_STATUS)
        self._kafka = kafka
        self._keys = RedisKeys(redis_settings.key_prefix) if redis_settings is not None else None
        self._redis = (redis.Redis.from_url(redis_settings.url, socket_timeout=timeout_s)
                       if redis_settings is not None else None)
        self._reported_by = reported_by
        self._timeout_s = timeout_s
        # A caller answering a request (the gateway) does not wait on topic creation: the stack creates it.
        self._create_topic = create_topic
        self._producer: CheckedProducer | None = None
        self._known: dict[str, SymbolStatus] = {}

    @property
    def topic(self) -> str:
        return self._topic

    def current(self, symbol: str) -> SymbolStatus | None:
        """The latest record this board knows: its own, else the Redis mirror's."""
        if symbol in self._known:
            return self._known[symbol]
        if self._redis is None or self._keys is None:
            return None
        try:
            raw = self._redis.hget(self._keys.symbol_status(), symbol)
        except redis.RedisError as error:
            MIRROR_ERROR_LOG.record(type(error).__name__, error=str(error))
            return None
        if raw is None:
            return None
        try:
            return SymbolStatus.parse(raw)
        except ContractError:
            return None

    def report(self, symbol: str, stage: SymbolStage, *, progress: float | None = None,
               source: DataSource | None = None, model: str | None = None, detail: str | None = None,
               requested_at_ms: int | None = None) -> SymbolStatus | None:
        """Record that ``symbol`` is at ``stage``; returns the record written, None when nothing changed."""
        status = next_status(
            self.current(symbol), symbol, stage, int(time.time() * 1000), self._reported_by,
            progress=progress, source=source, model=model, detail=detail, requested_at_ms=requested_at_ms,
        )
        if status is None:
            return None
        self._known[symbol] = status
        self._write(status)
        return status

    def report_if_followed(self, symbol: str, stage: SymbolStage, **fields: Any) -> SymbolStatus | None:
        """Like :meth:`report`, for a symbol that has a status record (was requested); others are left alone.

        Downstream stages see every symbol, most of them started with the stack: only requested ones
        have a way to follow.
        """
        if self.current(symbol) is None:
            return None
        return self.report(symbol, stage, **fields)

    def _write(self, status: SymbolStatus) -> None:
        try:
            if self._producer is None:
                # Idempotent: a stack started before the topic existed gets it at the first report.
                if self._create_topic:
                    ensure_topics(self._kafka, [s for s in TopicNames(self._kafka).specs() if s.name == self._topic])
                timeout_ms = max(1, int(self._timeout_s * 1000))
                self._producer = CheckedProducer(self._kafka, **{"linger.ms": 0, "delivery.timeout.ms": timeout_ms,
                                                                 "request.timeout.ms": min(timeout_ms, 30_000)})
            self._producer.send(self._topic, status)
            self._producer.flush(self._timeout_s)
        except (DeliveryError, KafkaException) as error:
            TOPIC_ERROR_LOG.record(type(error).__name__, topic=self._topic, error=str(error))
        if self._redis is not None and self._keys is not None:
            try:
                self._redis.hset(self._keys.symbol_status(), status.symbol, status.model_dump_json())
            except redis.RedisError as error:
                MIRROR_ERROR_LOG.record(type(error).__name__, error=str(error))
        log.info("symbol status", symbol=status.symbol, stage=status.stage, progress=status.progress,
                 source=status.source, model=status.model, detail=status.detail)

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.flush(self._timeout_s)
            except DeliveryError as error:
                TOPIC_ERROR_LOG.record(type(error).__name__, topic=self._topic, error=str(error))
        if self._redis is not None:
            self._redis.close()


def read_statuses(kafka: KafkaSettings, timeout_s: float = 10.0) -> dict[str, SymbolStatus]:
    """The latest record of every symbol on the topic, read from the start to its end (one partition)."""
    topic = TopicNames(kafka)(Topic.SYMBOL_STATUS)
    consumer = Consumer(consumer_config(kafka, group_id=f"{kafka.topic_prefix}symbol-status-reader",
                                        **{"enable.auto.commit": False}))
    latest: dict[str, SymbolStatus] = {}
    try:
        partition = TopicPartition(topic, 0)
        low, high = watermark_offsets(consumer, partition, timeout=timeout_s)
        if high <= low:
            return latest
        consumer.assign([TopicPartition(topic, 0, low)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            if message.value() is not None:
                try:
                    status = SymbolStatus.parse(message.value())
                    latest[status.symbol] = status
                except ContractError:
                    pass  # a record of a newer schema: the next one of that symbol replaces it
            if message.offset() + 1 >= high:
                break
    finally:
        consumer.close()
    return latest


def rebuild_mirror(kafka: KafkaSettings, redis_settings: RedisSettings, timeout_s: float = 10.0) -> int:
    """Write into the Redis hash every symbol's record from the topic that Redis lacks or holds older.

    A record written while this runs (newer ``updated_at_ms``) is kept. Returns how many were written.
    """
    statuses = read_statuses(kafka, timeout_s)
    if not statuses:
        return 0
    key = RedisKeys(redis_settings.key_prefix).symbol_status()
    client = redis.Redis.from_url(redis_settings.url, socket_timeout=timeout_s)
    try:
        held = client.hgetall(key)
        stale = {symbol: status.model_dump_json() for symbol, status in statuses.items()
                 if _updated_at(held.get(symbol.encode())) < status.updated_at_ms}
        if stale:
            client.hset(key, mapping=stale)
    finally:
        client.close()
    return len(stale)


def _updated_at(document: bytes | None) -> int:
    """When a mirrored record was written; -1 when there is none (or it no longer parses)."""
    if document is None:
        return -1
    try:
        return SymbolStatus.parse(document).updated_at_ms
    except ContractError:
        return -1
