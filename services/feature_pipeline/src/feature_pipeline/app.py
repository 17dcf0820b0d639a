"""The faust application: candles -> feature vectors -> ``features``, the feature store and the DLQ.

Per batch of candles (``take_events``) the agent computes every vector, publishes the
vectors and dead letters (waiting for the broker's acks) and hands the batch to the
store writer. The writer upserts the vectors into the feature store, then records the
new per-symbol candle buffers in the table, then acks the batch's events: each event holds
one extra reference until then, so faust's ack at the end of the agent's loop body
does not make it committable. faust commits only acked offsets, after flushing its
producer (the changelog), so a committed candle always has its vector stored and its
buffer in the changelog. The store write is off the candle -> vector path, and the
writer merges the batches waiting for it into one write.

A crash in between replays the candles: the store write is an idempotent upsert, a
buffer that already holds a candle ignores it, and a vector already on ``features`` (the
topic's tail is read back when partitions are assigned) is stored but not published again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import faust
import structlog
from faust.types import EventT

from feature_pipeline import SERVICE, metrics
from feature_pipeline.broker_auth import broker_credentials
from feature_pipeline.config import Settings
from feature_pipeline.faust_patch import recovery_running_for_s
from feature_pipeline.symbol_progress import warming_reports
from tickcast.settings import RedisSettings
from tickcast.symbol_progress import SymbolProgress
from tickcast.symbol_status import SymbolStatusBoard
from feature_pipeline.processing import (
    BatchOutcome,
    RawCandle,
    SymbolState,
    compute_batch,
    drop_published,
    merge_in_order,
    offset_holes,
    parse_batch,
    state_key,
)
from tickcast.store import FeatureStore
from feature_pipeline.topic_reader import read_published, read_range
from tickcast.contracts import Candle, DeadLetter, FeatureVector
from tickcast.kafka import CheckedProducer, make_dead_letter
from tickcast.logging import configure_logging
from tickcast.periodic_summary import PeriodicSummary
from tickcast.rate_limited_log import RateLimitedLog
from tickcast.topics import Topic, TopicNames

log = structlog.get_logger(__name__)
# Every refused candle is counted and dead-lettered; its warning is folded, per kind, per interval.
REFUSED_LOG = RateLimitedLog(log, "candles refused (in the dead-letter topic)")
# Each batch is logged at debug level; the console gets one progress line per LOG_SUMMARY_INTERVAL_S.
PROGRESS = PeriodicSummary(log, "candles processed")

STATE_TABLE = "candle-windows"  # the table of candle buffers; its changelog topic keeps this old name


@dataclass(frozen=True)
class StoreJob:
    """A processed batch waiting for the store writer."""

    vectors: list[FeatureVector]
    buffers: dict[bytes, tuple[int, bytes]]  # state key -> (changelog partition, encoded state)
    events: list[EventT]


QUIET_LIBRARY_LOGGERS = ("faust", "mode", "aiokafka", "feast")


def quiet_library_loggers() -> None:
    """Their start-up, recovery and group notices (some fifty lines per start) drown the stack's
    console: warnings and errors still show, LOG_LEVEL=DEBUG shows everything."""
    if logging.getLogger().getEffectiveLevel() >= logging.INFO:
        for name in QUIET_LIBRARY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


class StructlogWorker(faust.Worker):
    """faust's worker, with its log records rendered like every other Tickcast log."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        super().__init__(app, loglevel=settings.log_level, quiet=True)
        self._settings = settings

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        configure_logging(self._settings.log_level, self._settings.log_format, service=SERVICE)
        quiet_library_loggers()


def build_app(settings: Settings, feature_store: FeatureStore) -> faust.App:
    """The worker's app. The store is opened beforehand: an agent that blocks while events
    queue up is where faust can drop events (a flow suspension cancels a blocked delivery).
    """
    return FeaturePipeline(settings, feature_store).app


class FeaturePipeline:
    """The faust app of one worker and the state its agent, store writer and rebalance hooks share.

    The app's agent, task, timer and signal handlers are this object's bound methods, so the
    app keeps it alive.
    """

    def __init__(self, settings: Settings, feature_store: FeatureStore) -> None:
        self.settings = settings
        self.feature_store = feature_store
        names = TopicNames(settings.kafka)
        self.app = app = _faust_app(settings)
        self.candles = app.topic(names(Topic.CANDLES), key_serializer="raw", value_serializer="raw")
        # Vectors and dead letters go through the project's checked librdkafka producer: batched,
        # idempotent, partitioned like every other Tickcast producer, and flushed per batch.
        self.producer = CheckedProducer(settings.kafka)
        self.features_topic = names(Topic.FEATURES)
        self.dead_letter_topic = names.dlq(Topic.CANDLES)
        self.buffers = app.Table(
            STATE_TABLE,
            key_type=bytes,  # bytes -> the "raw" codec: the buffer encodes itself compactly
            value_type=bytes,
            partitions=settings.kafka.partitions,
        )
        # Buffers computed by the agent, ahead of the table until their batch is stored.
        self.latest: dict[bytes, SymbolState] = {}
        # Newest vector on the features topic per symbol: after a crash between publishing a batch
        # and storing it, its candles come again, and their vectors must not be published twice.
        self.published: dict[bytes, int] = {}
        # Published but possibly unstored: the batches queued for the writer, the one it writes,
        # the one waiting to be queued.
        self.unstored_per_partition = (settings.feature_pending_batches + 2) * settings.feature_batch_max
        self.pending: asyncio.Queue[StoreJob] = asyncio.Queue(maxsize=settings.feature_pending_batches)

        # Requested symbols' warm-up on their status record (the board reads and writes Redis and Kafka).
        self.symbol_progress = SymbolProgress(SymbolStatusBoard(settings.kafka, RedisSettings(), "feature_pipeline"))
        app.agent(self.candles)(self.compute_features)
        app.task(self.store_writer)
        app.timer(interval=5.0)(self.recovery_watchdog)
        app.on_partitions_revoked.connect(self.forget_buffers)
        app.on_partitions_assigned.connect(self.read_back_published)

    def _reread(self, holes: dict[int, tuple[int, int]]) -> list[tuple[RawCandle, Candle]]:
        recovered = []
        for partition, (first, last) in holes.items():
            messages = read_range(self.settings.kafka, self.candles.get_topic_name(), partition, first, last)
            recovered += parse_batch(messages)[0]
        log.warning("undelivered candles re-read from the topic", holes=holes, candles=len(recovered))
        return recovered

    async def compute_features(self, stream: faust.StreamT) -> None:
        settings = self.settings
        batches = stream.take_events(settings.feature_batch_max, within=settings.feature_batch_within_s)
        async for events in batches:
            await self._handle_batch(events)

    async def _handle_batch(self, events: Sequence[EventT]) -> None:
        started = time.perf_counter()
        messages = [
            RawCandle(
                event.message.key, event.message.value or b"", event.message.partition, event.message.offset
            )
            for event in events
        ]
        parsed, rejected = parse_batch(messages)
        states: dict[bytes, SymbolState] = {}
        for message, candle in parsed:
            key = state_key(candle.symbol, candle.interval)
            if key in states:
                continue
            if key in self.latest:  # newer than the table while its batch waits for the store
                states[key] = self.latest[key]
            elif (blob := self.buffers.get(key)) is not None:
                if (state := SymbolState.decode(blob, message.partition)) is not None:
                    states[key] = state
        loop = asyncio.get_running_loop()
        holes = offset_holes(parsed, states)
        if holes:
            recovered = await loop.run_in_executor(None, self._reread, holes)
            parsed = merge_in_order(parsed, recovered)
            metrics.REREAD.inc(len(recovered))
        compute_started = time.perf_counter()
        outcome: BatchOutcome = await loop.run_in_executor(None, compute_batch, parsed, states.get)
        outcome.rejected = rejected
        publish_started = time.perf_counter()
        for vector in drop_published(outcome.vectors, self.published):
            self.producer.send(self.features_topic, vector)
        for refused in outcome.rejected:
            letter = _dead_letter(
                refused.message, refused.reason, refused.error_type, self.candles.get_topic_name()
            )
            self.producer.send(self.dead_letter_topic, letter)
            REFUSED_LOG.record(refused.error_type, partition=refused.message.partition,
                               offset=refused.message.offset, reason=refused.reason)
        REFUSED_LOG.flush()
        await loop.run_in_executor(None, self.producer.flush)  # raises if any message was not delivered
        reports = warming_reports(outcome.states, outcome.vectors, self.settings.status_interval)
        await loop.run_in_executor(None, self.symbol_progress.report, reports)
        for key, state in outcome.states.items():
            self.latest[key] = state
        for event in events:
            event.message.incref()  # released by the store writer once the batch is stored
        snapshots = {key: (state.partition, state.encode()) for key, state in outcome.states.items()}
        await self.pending.put(StoreJob(outcome.vectors, snapshots, list(events)))
        finished = time.perf_counter()
        _record(outcome, finished - started)
        PROGRESS.add(candles=len(messages), vectors=len(outcome.vectors), rejected=len(outcome.rejected))
        log.debug(
            "batch processed",
            candles=len(messages),
            vectors=len(outcome.vectors),
            rejected=len(outcome.rejected),
            pushed=dict(outcome.pushed),
            read_s=round(compute_started - started, 4),
            compute_s=round(publish_started - compute_started, 4),
            publish_s=round(finished - publish_started, 4),
            waiting_jobs=self.pending.qsize(),
        )

    async def store_writer(self) -> None:
        loop = asyncio.get_running_loop()
        pending = self.pending
        while True:
            jobs = [await pending.get()]
            while not pending.empty():
                jobs.append(pending.get_nowait())
            vectors = [vector for job in jobs for vector in job.vectors]
            started = time.perf_counter()
            try:
                if vectors:
                    await loop.run_in_executor(None, self.feature_store.write, vectors)
            except Exception as error:  # the batch stays unacked: it is replayed after the restart
                log.exception("feature store write failed", vectors=len(vectors))
                await self.app.crash(error)
                return
            metrics.STORE_WRITE_SECONDS.observe(time.perf_counter() - started)
            for job in jobs:
                for key, (partition, blob) in job.buffers.items():
                    # Explicit partition: the buffer lives in the changelog partition of its candles.
                    self.buffers.data[key] = blob
                    self.buffers.send_changelog(partition, key, blob)
            for job in jobs:
                for event in job.events:
                    event.ack()
            PROGRESS.add(batches=0, stored=len(vectors))
            log.debug(
                "vectors stored",
                vectors=len(vectors),
                batches=len(jobs),
                seconds=round(time.perf_counter() - started, 4),
            )

    async def recovery_watchdog(self) -> None:
        # A recovery that stalls is not resumed by faust (see faust_patch); a fresh worker is.
        stalled_s = recovery_running_for_s(self.app.tables.recovery)
        if stalled_s is not None and stalled_s > self.settings.faust_recovery_stall_s:
            log.error("table recovery stalled: the worker exits to be restarted", stalled_s=round(stalled_s))
            await self.app.crash(RuntimeError(f"table recovery stalled for {stalled_s:.0f} s"))

    async def forget_buffers(self, app: faust.App, revoked: set, **kwargs: object) -> None:  # noqa: ARG002
        self.latest.clear()  # the table is the truth once partitions move
        self.published.clear()

    async def read_back_published(
        self, app: faust.App, assigned: set, **kwargs: object  # noqa: ARG002
    ) -> None:
        tail = await asyncio.get_running_loop().run_in_executor(
            None, read_published, self.settings.kafka, self.features_topic, self.unstored_per_partition
        )
        self.published.clear()
        self.published.update(tail)


def _faust_app(settings: Settings) -> faust.App:
    brokers = ";".join(f"kafka://{server}" for server in settings.kafka.bootstrap_servers.split(","))
    datadir = settings.faust_app_dir()
    datadir.parent.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.app_id(),
        broker=brokers,
        broker_credentials=broker_credentials(settings.kafka),
        store="memory://",  # rebuilt from the changelog topic at start; no local disk state to lose
        datadir=str(datadir),
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        broker_commit_interval=settings.faust_commit_interval_s,
        broker_session_timeout=settings.faust_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.faust_session_timeout_s / 3),
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=settings.faust_web_port > 0,
        web_port=settings.faust_web_port or 6066,
        table_standby_replicas=0,
    )


def _dead_letter(message: RawCandle, reason: str, error_type: str, topic: str) -> DeadLetter:
    return make_dead_letter(
        source_topic=topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        reason=reason,
        error_type=error_type,
        service=SERVICE,
    )


def _record(outcome: BatchOutcome, seconds: float) -> None:
    for outcome_name, count in outcome.pushed.items():
        metrics.CANDLES.labels(outcome_name).inc(count)
    if outcome.rejected:
        metrics.CANDLES.labels("rejected").inc(len(outcome.rejected))
    metrics.GAP_FILLED.inc(outcome.filled)
    metrics.VECTORS.inc(len(outcome.vectors))
    metrics.BATCH_SECONDS.observe(seconds)
