"""The quixstreams side of the candle builder: trades in, candles and dead letters out.

Why not quixstreams' own ``tumbling_window``
-------------------------------------------
Its windows close only when a newer message arrives (for the key, or with
``closing_strategy="partition"`` for the partition); they know nothing of gap
fills; one window definition serves one interval; and late messages reach a
logging callback, not the stream. So this operator keeps quixstreams for what it
does well, consuming, the transactional state store, exactly-once checkpoints,
and adds the windows of :mod:`candle_builder.windowing` on top:

* **Record path** (:meth:`CandleOperator.on_message`, an ``sdf.update`` step):
  parse the trade, put it in its window, and produce the candles its timestamp
  closes. Refused messages go to the dead-letter topic.
* **Clock path** (:meth:`CandleOperator.tick`, run by the application loop
  between messages and while idle, via the dataframe registry's periodic tasks):
  a partition that receives nothing, and has nothing unread on the broker, has
  its watermark advanced by the wall time it has been idle, which closes windows
  of symbols that stopped trading. (For old trades, a replay or a backlog, the
  partition must first stay idle ``backlog_idle_ms``.) It also
  commits the checkpoint early once candles are waiting, so they become visible
  to ``read_committed`` readers within a fraction of a second instead of at the
  next regular commit.

Exactly once
------------
Candles, dead letters, window state and input offsets all go through the
application's transactional producer and state store, so they commit in one
Kafka transaction per checkpoint. The windows live in memory between commits:
serialising them into the state store on every trade would cost a third of the
throughput. quixstreams has no pre-commit hook, so the operator wraps the
processing context's ``commit_checkpoint`` (:mod:`candle_builder.quixstreams_patch`), the one
function every checkpoint commit goes through (periodic, forced, on partition revoke, at shutdown), and
writes the windows that changed into the checkpoint's state transaction right
before the commit. A partition's windows are reloaded from the store whenever
it is (re)assigned, so after a crash they are exactly those of the last commit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import structlog
from confluent_kafka import TopicPartition
from pydantic import ValidationError
from quixstreams.context import message_context
from quixstreams.dataframe import StreamingDataFrame
from quixstreams.models.messagecontext import MessageContext
from quixstreams.state.base import State, Store, StorePartition
from tickcast.contracts import Candle, ContractError, Trade
from tickcast.kafka import committed_offsets, make_dead_letter
from tickcast.rate_limited_log import RateLimitedLog

from candle_builder import SERVICE, metrics
from candle_builder.quixstreams_patch import run_before_each_commit
from candle_builder.windowing import (
    PartitionCandleBuilder,
    RefusedTrade,
    WindowPlan,
    check_not_in_future,
)

log = structlog.get_logger(__name__)
# Every refused trade is counted and dead-lettered; its warning is folded, per kind, per interval.
REFUSED_LOG = RateLimitedLog(log, "trades refused (in the dead-letter topic)")

STATE_PREFIX = b"candle-builder"
# Trades this close to the clock are live; older ones come from a replay or a backlog.
LIVE_LAG_MS = 60_000
META_KEY = "meta"


@dataclass(frozen=True)
class OperatorConfig:
    plan: WindowPlan
    trades_topic: str
    candles_topic: str
    dead_letter_topic: str
    max_future_ms: int
    tick_s: float
    emit_commit_gap_s: float
    backlog_idle_ms: int


@dataclass
class _Partition:
    """One assigned partition: its builder, the store partition it was loaded from, its idle clock."""

    store_partition: StorePartition
    builder: PartitionCandleBuilder
    # Last time a trade arrived or unread trades were known to wait on the broker.
    last_active: float = field(default_factory=time.monotonic)
    # Where reading started on assignment; needed until the first message sets a position.
    start_offset: int | None = None


class _Counts:
    """Per-message counters kept as plain ints and published to Prometheus on each tick."""

    __slots__ = ("accepted", "late", "trades_in")

    def __init__(self) -> None:
        self.trades_in = self.accepted = self.late = 0


def parse_trade(value: bytes | None) -> Trade:
    """A trade from a message value; :class:`ContractError` says what is wrong."""
    if value is None:
        raise ContractError("Trade", "<payload>", None, "empty message (tombstone)")
    try:
        return Trade.model_validate_json(value)
    except ValidationError:
        return Trade.parse(value)  # raises the ContractError that names field and value


def open_key(symbol: str) -> str:
    return f"open:{symbol}"


def series_key(symbol: str) -> str:
    return f"series:{symbol}"


def load_builder(state: State, plan: WindowPlan) -> PartitionCandleBuilder:
    meta = state.get(META_KEY)
    if not meta:
        return PartitionCandleBuilder(plan)
    symbols = meta["symbols"]
    return PartitionCandleBuilder.restore(
        plan,
        meta,
        open_states={symbol: state.get(open_key(symbol)) for symbol in symbols},
        series_states={symbol: state.get(series_key(symbol)) for symbol in symbols},
    )


def save_changes(state: State, builder: PartitionCandleBuilder) -> None:
    """Write what changed in ``builder`` into the checkpoint's state transaction."""
    if builder.dirty_open:
        for symbol in builder.dirty_open:
            state.set(open_key(symbol), builder.symbols[symbol].open_state())
        builder.dirty_open.clear()
    if builder.dirty_series:
        for symbol in builder.dirty_series:
            state.set(series_key(symbol), builder.symbols[symbol].series_state())
        builder.dirty_series.clear()
    if builder.dirty_meta:
        state.set(META_KEY, builder.meta_state())
        builder.dirty_meta = False


class CandleOperator:
    """Turns the trades of a ``StreamingDataFrame`` into candles; see the module docstring."""

    def __init__(self, sdf: StreamingDataFrame, config: OperatorConfig) -> None:
        self._config = config
        self._context = sdf.processing_context
        self._stream_id = sdf.stream_id
        self._store: Store | None = None
        self._partitions: dict[int, _Partition] = {}
        self._states: dict[int, State] = {}
        self._states_checkpoint: object = None
        self._counts = _Counts()
        self._grace_s = config.plan.grace_ms / 1000
        # Candles produced but not yet committed, and in which checkpoint.
        self._unpublished = False
        self._unpublished_checkpoint: object = None
        self._last_forced_commit = 0.0
        self._next_tick = 0.0
        self._now_ms = int(time.time() * 1000)  # wall clock, refreshed every tick

        sdf.register_store()
        sdf.update(self.on_message, metadata=True)
        self._context.dataframe_registry.register_periodic_task(self.tick)
        self._wrap_commit()

    # --- record path -----------------------------------------------------------------------

    def on_message(self, value: bytes | None, key: bytes | None, _timestamp: int, _headers: Any) -> None:
        context = message_context()
        number = context.partition
        partition = self._partitions.get(number)
        if partition is None or partition.store_partition is not self._get_store().partitions.get(number):
            partition = self._partition(number)
        partition.last_active = time.monotonic()
        self._counts.trades_in += 1
        try:
            trade = parse_trade(value)
            if trade.timestamp_ms - self._now_ms > self._config.max_future_ms:
                # The cached clock can only be behind: confirm with the real one before refusing.
                check_not_in_future(trade, int(time.time() * 1000), self._config.max_future_ms)
            candles = partition.builder.add(trade)
        except ContractError as exc:
            self._dead_letter(context, key, value, str(exc), "ContractError")
            metrics.TRADES_REJECTED.labels("ContractError").inc()
            return
        except RefusedTrade as exc:
            self._dead_letter(context, key, value, str(exc), exc.error_type, symbol=trade.symbol)
            if exc.error_type == "LateTrade":
                self._counts.late += 1
            else:
                metrics.TRADES_REJECTED.labels(exc.error_type).inc()
            return
        self._counts.accepted += 1
        if candles:
            self._emit(candles)

    # --- clock path ------------------------------------------------------------------------

    def tick(self) -> None:
        """Called by the run loop after every message and every empty poll: keep it cheap."""
        now = time.monotonic()
        if self._unpublished:
            self._publish_if_due(now)
        if now < self._next_tick:
            return
        self._next_tick = now + self._config.tick_s
        self._now_ms = int(time.time() * 1000)
        if self._context.state_manager.recovery_required:
            return
        self._close_idle_partitions(now)
        self._publish_counts()

    def _close_idle_partitions(self, now: float) -> None:
        wall_ms = time.time() * 1000
        for number in list(self._get_store().partitions):
            partition = self._partition(number)
            builder = partition.builder
            if builder.max_ts is None:
                continue
            metrics.WATERMARK_LAG.labels(str(number)).set((wall_ms - builder.max_ts) / 1000)
            if self._has_unread(number, partition):
                # Busy, not idle: this process was slow (a commit, a CPU stall), the stream was not.
                partition.last_active = now
                continue
            # Nothing arrived or waited for `idle` seconds: event time has moved on by as much.
            idle_ms = int((now - partition.last_active) * 1000)
            behind_ms = wall_ms - idle_ms - builder.max_ts  # how old the newest trade was when it came
            if behind_ms > LIVE_LAG_MS and idle_ms < self._config.backlog_idle_ms:
                # Old trades (a replay, a backlog): a pause of the feeder must not pass for the
                # market going quiet, as their event time runs much faster than the clock.
                continue
            candles = builder.advance(builder.max_ts + idle_ms)
            if candles:
                log.debug("idle windows closed", partition=number, candles=len(candles), idle_ms=idle_ms)
                self._emit(candles)

    def _has_unread(self, number: int, partition: _Partition) -> bool:
        """Whether the broker holds trades of this partition not read yet (cached, no round trip)."""
        consumer = self._context.consumer
        topic_partition = TopicPartition(self._config.trades_topic, number)
        low, high = consumer.get_watermark_offsets(topic_partition, cached=True)
        if high < 0:
            return True  # no fetch answered yet: assume trades may be waiting
        # The position skips transaction markers, so it equals `high` when all is read.
        position = consumer.position([topic_partition])[0].offset
        if position < 0:  # nothing read since assignment
            if partition.start_offset is None:
                committed = committed_offsets(consumer, [topic_partition], timeout=5)[0].offset
                partition.start_offset = committed if committed >= 0 else low
            position = partition.start_offset
        return position < high

    def _publish_if_due(self, now: float) -> None:
        checkpoint = self._context.checkpoint
        if checkpoint is not self._unpublished_checkpoint:
            self._unpublished = False  # the regular commit already published them
            return
        if now - self._last_forced_commit < self._config.emit_commit_gap_s:
            return
        self._last_forced_commit = now
        self._unpublished = False
        self._context.commit_checkpoint(force=True)

    # --- output ----------------------------------------------------------------------------

    def _emit(self, candles: list[Candle]) -> None:
        producer = self._context.producer
        topic = self._config.candles_topic
        wall_s = time.time()
        for candle in candles:
            producer.produce(topic=topic, value=candle.to_json_bytes(), key=candle.key)
            metrics.CANDLES_OUT.labels(candle.interval, "gap_fill" if candle.is_gap_fill else "trades").inc()
            metrics.WINDOW_CLOSE_LAG.observe(wall_s - (candle.close_time_ms + 1) / 1000 - self._grace_s)
        if not self._unpublished:
            self._unpublished = True
            self._unpublished_checkpoint = self._context.checkpoint

    def _dead_letter(
        self,
        context: MessageContext,
        key: bytes | None,
        value: bytes | None,
        reason: str,
        error_type: str,
        symbol: str | None = None,
    ) -> None:
        letter = make_dead_letter(
            source_topic=context.topic,
            partition=context.partition,
            offset=context.offset,
            key=key,
            value=value,
            reason=reason,
            error_type=error_type,
            service=SERVICE,
            symbol=symbol,
        )
        REFUSED_LOG.record(error_type, reason=reason, topic=context.topic, partition=context.partition,
                           offset=context.offset)
        self._context.producer.produce(
            topic=self._config.dead_letter_topic, value=letter.to_json_bytes(), key=key
        )

    def _publish_counts(self) -> None:
        REFUSED_LOG.flush()
        counts = self._counts
        if counts.trades_in:
            metrics.TRADES_IN.inc(counts.trades_in)
            metrics.TRADES_ACCEPTED.inc(counts.accepted)
            metrics.TRADES_LATE.inc(counts.late)
            counts.trades_in = counts.accepted = counts.late = 0
        skipped = sum(partition.builder.skipped_gap_windows for partition in self._partitions.values())
        if skipped:
            metrics.GAP_WINDOWS_SKIPPED.inc(skipped)
            for partition in self._partitions.values():
                partition.builder.skipped_gap_windows = 0

    # --- state -----------------------------------------------------------------------------

    def _wrap_commit(self) -> None:
        """Save the changed windows into the checkpoint right before it commits (see module doc)."""
        run_before_each_commit(self._context, self._save_windows)

    def _save_windows(self) -> None:
        assigned = self._get_store().partitions
        for number, partition in list(self._partitions.items()):
            if assigned.get(number) is not partition.store_partition:
                del self._partitions[number]  # revoked: its state is the new owner's now
                continue
            save_changes(self._state(number), partition.builder)

    def _get_store(self) -> Store:
        if self._store is None:
            self._store = self._context.state_manager.get_store(stream_id=self._stream_id)
        return self._store

    def _state(self, number: int) -> State:
        """The state of partition ``number`` inside the current checkpoint's transaction."""
        checkpoint = self._context.checkpoint
        if checkpoint is not self._states_checkpoint:
            self._states = {}
            self._states_checkpoint = checkpoint
        state = self._states.get(number)
        if state is None:
            transaction = checkpoint.get_store_transaction(stream_id=self._stream_id, partition=number)
            state = self._states[number] = transaction.as_state(prefix=STATE_PREFIX)
        return state

    def _partition(self, number: int) -> _Partition:
        """The builder of a partition, (re)loaded from the store when it was (re)assigned."""
        store_partition = self._get_store().partitions[number]
        partition = self._partitions.get(number)
        if partition is None or partition.store_partition is not store_partition:
            builder = load_builder(self._state(number), self._config.plan)
            partition = self._partitions[number] = _Partition(store_partition, builder)
            log.info(
                "partition loaded",
                partition=number,
                symbols=len(builder.symbols),
                watermark=builder.max_ts,
                closed_through=builder.closed_through,
            )
        return partition
