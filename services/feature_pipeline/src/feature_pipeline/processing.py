"""Candles in, feature vectors out: the stream's per-batch logic, without any I/O.

Each candle is parsed, pushed into its symbol's :class:`SymbolWindow` and, once the
window's lookbacks are full, turned into a :class:`FeatureVector` by the same
computation the backfill uses. A payload that is not a valid candle becomes a
dead letter with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tickcast.contracts import Candle, ContractError, FeatureVector
from tickcast.features import FEATURE_SET_VERSION, Bar, Pushed, SymbolWindow
from tickcast.intervals import interval_ms


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
class BatchOutcome:
    vectors: list[FeatureVector] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # state key -> (window after the batch, partition of its last candle)
    states: dict[bytes, tuple[SymbolWindow, int]] = field(default_factory=dict)
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


def compute_batch(
    candles: Sequence[tuple[RawCandle, Candle]], load_state: Callable[[bytes], SymbolWindow | None]
) -> BatchOutcome:
    """Vectors for a batch of parsed candles, in message order per symbol, and the new states."""
    outcome = BatchOutcome()
    for message, candle in candles:
        key = state_key(candle.symbol, candle.interval)
        if key in outcome.states:
            window = outcome.states[key][0]
        else:
            window = load_state(key) or SymbolWindow(interval_ms(candle.interval))
        filled_before = window.filled
        pushed = window.push(Bar.from_candle(candle))
        outcome.pushed[pushed.value] += 1
        outcome.filled += window.filled - filled_before
        outcome.states[key] = (window, message.partition)
        if pushed in (Pushed.DUPLICATE, Pushed.LATE):
            continue
        values = window.values()
        if values is not None:
            outcome.vectors.append(
                FeatureVector(
                    symbol=candle.symbol,
                    interval=candle.interval,
                    timestamp_ms=candle.open_time_ms,
                    feature_set_version=FEATURE_SET_VERSION,
                    values=values,
                    close=candle.close,
                )
            )
    return outcome


def process_batch(
    messages: Sequence[RawCandle], load_state: Callable[[bytes], SymbolWindow | None]
) -> BatchOutcome:
    """:func:`parse_batch` then :func:`compute_batch`."""
    candles, rejected = parse_batch(messages)
    outcome = compute_batch(candles, load_state)
    outcome.rejected = rejected
    return outcome
