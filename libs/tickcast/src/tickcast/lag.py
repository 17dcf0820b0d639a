"""Consumer-group lag, measured from the broker and exported as Prometheus gauges.

Each service reads Kafka through a different client (quixstreams, faust, confluent-kafka),
so the lag is not taken from the clients: a daemon thread asks the broker, every
``METRICS_LAG_INTERVAL_S`` seconds, for the group's committed offsets and the log bounds of
the topics it reads, and sets

- ``tickcast_consumer_lag{group,topic,partition}``: messages not yet committed by the group;
- ``tickcast_consumer_group_lag{group}``: their sum over the group's partitions;
- ``tickcast_consumer_lag_last_success_timestamp_seconds{group}``: when that was last measured,
  so a value that stopped updating (broker away) is visible as stale;
- ``tickcast_consumer_lag_errors_total{group}``: measurements that failed.

The end of a partition is its last stable offset (``read_committed``), where the group's
consumers can read up to: messages of a transaction still open are not lag yet. A transaction's
commit marker takes an offset of its own that no consumer commits past, so a fully consumed
partition whose last write was a transaction shows a lag of 1 (the marker), not 0.

The group's committed offsets are asked through a consumer handle of the group (it never
subscribes, so it never joins the group), not through the admin API: librdkafka's admin
``ListConsumerGroupOffsets`` dereferences the client's consumer-group object, which an admin
client does not have, when the broker answers "not coordinator" (librdkafka issue #5040, open
in 2.12). A fresh broker answers that while it creates and loads ``__consumer_offsets``, so the
first services started against one died of a segmentation fault in ``rdk:main``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from confluent_kafka import Consumer, IsolationLevel, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from prometheus_client import Counter, Gauge
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickcast.settings import KafkaSettings

log = structlog.get_logger(__name__)

CONSUMER_LAG = Gauge(
    "tickcast_consumer_lag",
    "Messages of a partition the consumer group has not committed yet (log end minus committed offset).",
    ["group", "topic", "partition"],
)
CONSUMER_GROUP_LAG = Gauge(
    "tickcast_consumer_group_lag", "Sum of tickcast_consumer_lag over the group's partitions.", ["group"]
)
LAG_LAST_SUCCESS = Gauge(
    "tickcast_consumer_lag_last_success_timestamp_seconds",
    "Unix time of the last successful lag measurement (a stale value stops advancing).",
    ["group"],
)
LAG_ERRORS = Counter(
    "tickcast_consumer_lag_errors_total", "Lag measurements that failed (broker away, timeout).", ["group"]
)


class LagSettings(BaseSettings):
    """``METRICS_LAG_*``: how often the consumer lag is asked of the broker."""

    model_config = SettingsConfigDict(env_prefix="METRICS_LAG_", env_file=".env", extra="ignore")

    interval_s: float = Field(15.0, ge=0, description="Seconds between lag measurements; 0 turns them off.")


# --- the computation, no I/O ----------------------------------------------------------------


@dataclass(frozen=True)
class PartitionOffsets:
    """What the broker says about one partition the group reads."""

    topic: str
    partition: int
    committed: int | None  # None: the group has never committed on this partition
    low: int  # first offset still in the log (retention moves it up)
    end: int  # last stable offset: the end a read_committed consumer can reach


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    lag: int


def partition_lag(committed: int | None, low: int, end: int) -> int:
    """Messages from where the group resumes to the end of the partition.

    Without a committed offset, or with one that retention has already deleted, the group
    starts at the earliest offset still there (``auto.offset.reset=earliest``), so everything
    left in the log is lag. A committed offset past the end (it can be ahead of the last stable
    offset while a transaction is open) is no lag.
    """
    resume = low if committed is None or committed < low else committed
    return max(0, end - resume)


def lags(offsets: Iterable[PartitionOffsets]) -> list[PartitionLag]:
    return [PartitionLag(o.topic, o.partition, partition_lag(o.committed, o.low, o.end)) for o in offsets]


def committed_or_none(offsets: Mapping[tuple[str, int], int], key: tuple[str, int]) -> int | None:
    """The broker's "no committed offset" is a negative sentinel (OFFSET_INVALID)."""
    offset = offsets.get(key, -1)
    return offset if offset >= 0 else None


# --- asking the broker ----------------------------------------------------------------------


class OffsetReader:
    """Committed offsets of one group and the bounds of its topics' partitions."""

    def __init__(self, kafka: KafkaSettings, group: str, timeout_s: float = 10.0) -> None:
        self._timeout = timeout_s
        self._closed = False
        quiet = {
            # Never create a topic by asking about it.
            "allow.auto.create.topics": False,
            # Connection failures are reported once by the monitor, not on every reconnect attempt.
            "log_level": 0,
        }
        self._admin = AdminClient({**kafka.client_config(), **quiet})
        self._committed = Consumer({
            **kafka.client_config(),
            **quiet,
            "group.id": group,
            "enable.auto.commit": False,
            # Offsets committed, as the admin API reports them (no wait for a pending transaction's offsets).
            "isolation.level": "read_uncommitted",
        })

    def read(self, topics: Sequence[str]) -> list[PartitionOffsets]:
        partitions = self._partitions(topics)
        if not partitions:
            return []
        answer = self._committed.committed([TopicPartition(t, p) for t, p in partitions], timeout=self._timeout)
        for tp in answer:
            if tp.error is not None:
                raise KafkaException(tp.error)
        committed = {(tp.topic, tp.partition): tp.offset for tp in answer}
        lows = self._list_offsets(partitions, OffsetSpec.earliest())
        ends = self._list_offsets(partitions, OffsetSpec.latest())
        return [
            PartitionOffsets(topic, partition, committed_or_none(committed, (topic, partition)),
                             lows[(topic, partition)], ends[(topic, partition)])
            for topic, partition in partitions
        ]

    def close(self) -> None:
        """Only once no thread reads any more: a librdkafka handle must not be closed under a caller."""
        if not self._closed:
            self._closed = True
            self._committed.close()

    def _partitions(self, topics: Sequence[str]) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        for topic in topics:
            metadata = self._admin.list_topics(topic=topic, timeout=self._timeout).topics.get(topic)
            if metadata is None or metadata.error is not None:
                continue  # not created yet: nothing to lag behind
            found.extend((topic, partition) for partition in sorted(metadata.partitions))
        return found

    def _list_offsets(self, partitions: Sequence[tuple[str, int]], spec: OffsetSpec) -> dict[tuple[str, int], int]:
        futures = self._admin.list_offsets(
            {TopicPartition(topic, partition): spec for topic, partition in partitions},
            isolation_level=IsolationLevel.READ_COMMITTED,
            request_timeout=self._timeout,
        )
        return {(tp.topic, tp.partition): future.result(self._timeout).offset for tp, future in futures.items()}


class LagMonitor:
    """Measures one group's lag on its input topics and keeps the gauges up to date."""

    def __init__(self, kafka: KafkaSettings, group: str, topics: Sequence[str], interval_s: float,
                 timeout_s: float | None = None) -> None:
        self.group = group
        self.topics = list(topics)
        self.interval_s = interval_s
        # Each request to the broker gives up within the pause between measurements (10 s at most).
        self._reader = OffsetReader(kafka, group, timeout_s or max(1.0, min(10.0, interval_s)))
        self._exported: set[tuple[str, str]] = set()
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def measure(self) -> list[PartitionLag] | None:
        """One measurement, exported; None (counted and logged, never raised) when it failed."""
        try:
            measured = lags(self._reader.read(self.topics))
        except (KafkaException, TimeoutError, OSError) as error:
            LAG_ERRORS.labels(group=self.group).inc()
            if not self._failing:  # once per outage, not every interval
                log.warning("consumer lag unavailable", group=self.group, topics=self.topics, error=str(error))
            self._failing = True
            return None
        if self._failing:
            log.info("consumer lag available again", group=self.group)
        self._failing = False
        self._export(measured)
        return measured

    def _export(self, measured: Sequence[PartitionLag]) -> None:
        current = {(item.topic, str(item.partition)) for item in measured}
        for topic, partition in self._exported - current:  # partitions no longer read
            CONSUMER_LAG.remove(self.group, topic, partition)
        for item in measured:
            CONSUMER_LAG.labels(group=self.group, topic=item.topic, partition=str(item.partition)).set(item.lag)
        self._exported = current
        CONSUMER_GROUP_LAG.labels(group=self.group).set(sum(item.lag for item in measured))
        LAG_LAST_SUCCESS.labels(group=self.group).set(time.time())

    def start(self) -> LagMonitor:
        LAG_ERRORS.labels(group=self.group)  # the error count exists (at 0) before the first failure
        self._thread = threading.Thread(target=self._loop, name=f"consumer-lag-{self.group}", daemon=True)
        self._thread.start()
        log.info("measuring consumer lag", group=self.group, topics=self.topics, every_s=self.interval_s)
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.measure()
            except Exception:  # an unexpected answer must not end the measurements for good
                LAG_ERRORS.labels(group=self.group).inc()
                log.exception("consumer lag measurement failed", group=self.group)
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            if self._thread.is_alive():
                return  # still inside a request: its handles stay open rather than freed under it
        self._reader.close()


def watch_consumer_lag(metrics_port: int, kafka: KafkaSettings, group: str, topics: Sequence[str],
                       settings: LagSettings | None = None) -> LagMonitor | None:
    """Export ``group``'s lag on ``topics`` from a daemon thread while ``/metrics`` is served.

    Nothing runs when metrics are not exposed (port 0) or ``METRICS_LAG_INTERVAL_S`` is 0.
    """
    interval = (settings or LagSettings()).interval_s
    if not metrics_port or not interval:
        return None
    return LagMonitor(kafka, group, topics, interval).start()

