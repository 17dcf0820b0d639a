"""Candles in, feature vectors out: the stream's per-batch logic, without any I/O.

Each candle is parsed, pushed into its symbol's :class:`CandleBuffer` and, once the
buffer holds every indicator's lookback, turned into a :class:`FeatureVector` by the same
computation the backfill uses. A payload that is not a valid candle becomes a
dead letter with the reason.

Every state also remembers the Kafka offset of its newest candle. When a symbol's
next candle leaves a hole in time *and* in offsets, the missing candles may be in
the topic but were not delivered (faust can drop queued events when it suspends
its flow for a seek or a rebalance): :func:`offset_holes` names the offset ranges
to re-read before anything is gap-filled, so a gap fill only ever stands for a
candle that does not exist.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tickcast.contracts import Candle, ContractError, FeatureVector
from tickcast.features import FEATURE_SET_VERSION, Bar, Pushed, CandleBuffer
from tickcast.features.buffer import IndicatorRow, feature_dict, finish_rows
from tickcast.intervals import interval_ms

_OFFSET = struct.Struct("<q")


@dataclass(frozen=True)
class RawCandle:
    """One message from the candles topic."""

    key: bytes | None
    value: bytes
    partition: int
    offset: int


@dataclass(frozen=True)
class Rejected:
    message: RawCandle
    reason: str
    error_type: str


@dataclass
class SymbolState:
    """A symbol's candle buffer and where its newest candle is in the candles topic."""

    buffer: CandleBuffer
    partition: int = -1
    offset: int = -1

    def encode(self) -> bytes:
        return _OFFSET.pack(self.offset) + self.buffer.encode()

    @classmethod
    def decode(cls, blob: bytes, partition: int) -> SymbolState | None:
        """None when the buffer was written by another feature-set version."""
        buffer = CandleBuffer.decode(blob[_OFFSET.size :])
        return None if buffer is None else cls(buffer, partition, _OFFSET.unpack_from(blob)[0])


@dataclass
class BatchOutcome:
    vectors: list[FeatureVector] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    states: dict[bytes, SymbolState] = field(default_factory=dict)
    pushed: Counter[str] = field(default_factory=Counter)
    filled: int = 0


def state_key(symbol: str, interval: str) -> bytes:
    return f"{symbol}:{interval}".encode()


def parse_batch(messages: Sequence[RawCandle]) -> tuple[list[tuple[RawCandle, Candle]], list[Rejected]]:
    """Valid candles (with their message) and the refused messages with the reason."""
    parsed: list[tuple[RawCandle, Candle]] = []
    rejected: list[Rejected] = []
    for message in messages:
        try:
            parsed.append((message, Candle.parse(message.value)))
        except ContractError as error:
            rejected.append(Rejected(message, str(error), "ContractError"))
    return parsed, rejected


def offset_holes(
    candles: Sequence[tuple[RawCandle, Candle]], states: dict[bytes, SymbolState]
) -> dict[int, tuple[int, int]]:
    """Per partition, the offset range ``[first, last)`` that may hold undelivered candles.

    A hole is where a symbol's next candle is more than one interval after its
    previous one while offsets were skipped in between.
    """
    newest: dict[bytes, tuple[int, int]] = {
        key: (state.buffer.last.open_time_ms, state.offset)
        for key, state in states.items()
        if state.buffer.last is not None and state.offset >= 0
    }
    holes: dict[int, tuple[int, int]] = {}
    for message, candle in sorted(candles, key=lambda pair: (pair[0].partition, pair[0].offset)):
        key = state_key(candle.symbol, candle.interval)
        if key in newest:
            open_time, offset = newest[key]
            skipped_time = candle.open_time_ms > open_time + interval_ms(candle.interval)
            if skipped_time and message.offset > offset + 1:
                first, last = holes.get(message.partition, (offset + 1, message.offset))
                holes[message.partition] = (min(first, offset + 1), max(last, message.offset))
        if key not in newest or message.offset > newest[key][1]:
            newest[key] = (candle.open_time_ms, message.offset)
    return holes


def merge_in_order(
    candles: Iterable[tuple[RawCandle, Candle]], recovered: Iterable[tuple[RawCandle, Candle]]
) -> list[tuple[RawCandle, Candle]]:
    """Both lists in topic order, each message once."""
    unique = {
        (message.partition, message.offset): (message, candle) for message, candle in [*recovered, *candles]
    }
    return [unique[position] for position in sorted(unique)]


def compute_batch(
    candles: Sequence[tuple[RawCandle, Candle]], load_state: Callable[[bytes], SymbolState | None]
) -> BatchOutcome:
    """Vectors for a batch of parsed candles, in topic order per symbol, and the new states."""
    outcome = BatchOutcome()
    ready: list[tuple[Candle, IndicatorRow]] = []
    for message, candle in candles:
        key = state_key(candle.symbol, candle.interval)
        state = (
            outcome.states.get(key)
            or load_state(key)
            or SymbolState(CandleBuffer(interval_ms(candle.interval)))
        )
        outcome.states[key] = state
        if message.offset <= state.offset:
            outcome.pushed[Pushed.DUPLICATE.value] += 1  # delivered again: already in the buffer
            continue
        filled_before = state.buffer.filled
        pushed = state.buffer.push(Bar.from_candle(candle))
        outcome.pushed[pushed.value] += 1
        outcome.filled += state.buffer.filled - filled_before
        state.partition, state.offset = message.partition, message.offset
        if pushed in (Pushed.DUPLICATE, Pushed.LATE):
            continue
        if (row := state.buffer.indicator_row()) is not None:
            ready.append((candle, row))
    # The element-wise part once for the whole batch: most of a vector's cost when done one by one.
    values, finite = finish_rows([row for _candle, row in ready])
    for (candle, _row), row_values, emit in zip(ready, values, finite, strict=True):
        if not emit:
            continue  # a value is not finite: never emitted
        outcome.vectors.append(
            FeatureVector(
                symbol=candle.symbol,
                interval=candle.interval,
                timestamp_ms=candle.open_time_ms,
                feature_set_version=FEATURE_SET_VERSION,
                values=feature_dict(row_values),
                close=candle.close,
                source=candle.source,
            )
        )
    return outcome


def drop_published(vectors: Sequence[FeatureVector], published: dict[bytes, int]) -> list[FeatureVector]:
    """The vectors newer than the last one published for their symbol; records them as published.

    After a crash between publishing a batch and storing it, its candles are processed
    again; ``published`` (read back from the features topic's tail at start-up) keeps
    their vectors from reaching the topic twice.
    """
    fresh = []
    for vector in vectors:
        key = state_key(vector.symbol, vector.interval)
        if vector.timestamp_ms > published.get(key, -1):
            published[key] = vector.timestamp_ms
            fresh.append(vector)
    return fresh


def process_batch(
    messages: Sequence[RawCandle], load_state: Callable[[bytes], SymbolState | None]
) -> BatchOutcome:
    """:func:`parse_batch` then :func:`compute_batch` (no re-reading)."""
    candles, rejected = parse_batch(messages)
    outcome = compute_batch(candles, load_state)
    outcome.rejected = rejected
    return outcome
