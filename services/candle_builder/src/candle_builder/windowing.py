"""Event-time tumbling windows for every symbol of one Kafka partition: pure logic, no I/O.

How windows close
-----------------
All symbols of a partition share one *watermark*: the largest exchange
timestamp seen in the partition. Every interval is cut on one UTC-aligned base
grid (the greatest common divisor of the configured intervals, e.g. 1m for
``1m,5m,1h``). A base window ``[start, end)`` closes once
``watermark - grace >= end``; at that moment it closes for **every** symbol of
the partition, so a symbol that stopped trading still gets its candle (and
later, gap fills) as long as anything advances the watermark. When nothing at
all arrives, the I/O layer advances the watermark with the wall clock
(:meth:`PartitionCandleBuilder.advance`); this module does not read clocks.

A trade whose base window has already closed is *late* and refused with
:class:`LateTrade`. Lateness is decided on the base grid, so the candles of all
intervals agree with each other (five 1m candles always add up to their 5m one).

How larger intervals are built
------------------------------
Trades are aggregated once, into base windows. When a base window closes it is
folded into one :class:`IntervalSeries` per configured interval, which emits a
candle when its own window ends, and flat gap-fill candles at the previous close
for windows without trades. A series starts with the symbol's first trade;
nothing is invented before it. A jump of more than ``max_gap_fill_ms`` without
trades (e.g. a replay that skips days) is not filled: the series resumes after
it and the skipped windows are counted.

Persistence
-----------
The builder records which parts of its state changed (``dirty_*``) and can be
rebuilt from the JSON-able pieces it hands out, so the I/O layer can store them
in a transactional state store next to the input offsets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tickcast.contracts import Candle, DataSource, Trade
from tickcast.intervals import interval_ms

from candle_builder.accumulator import CandleAccumulator, gap_fill_candle


class RefusedTrade(ValueError):
    """A well-formed trade that cannot go into any candle; the reason says why."""

    error_type = "RefusedTrade"


class LateTrade(RefusedTrade):
    error_type = "LateTrade"


class FutureTrade(RefusedTrade):
    error_type = "FutureTrade"


@dataclass(frozen=True)
class WindowPlan:
    """Which candles to build and how long to wait for late trades."""

    intervals: tuple[str, ...]
    grace_ms: int
    max_gap_fill_ms: int

    def __post_init__(self) -> None:
        if not self.intervals:
            raise ValueError("at least one candle interval is needed")
        for interval in self.intervals:
            if interval.endswith("w"):
                # Epoch-aligned weeks start on a Thursday; the exchange's start on Monday.
                raise ValueError(f"weekly candles are not supported ({interval!r}); use days or less")
            interval_ms(interval)
        if self.grace_ms < 0:
            raise ValueError("grace_ms must be >= 0")

    @classmethod
    def of(cls, intervals: Iterable[str], grace_ms: int, max_gap_fill_ms: int | None = None) -> WindowPlan:
        """Intervals deduplicated and ordered by length; ``None`` = fill gaps of any length."""
        unique = sorted(set(intervals), key=interval_ms)
        return cls(tuple(unique), grace_ms, max_gap_fill_ms if max_gap_fill_ms is not None else 2**62)

    @property
    def spans(self) -> tuple[int, ...]:
        return tuple(interval_ms(interval) for interval in self.intervals)

    @property
    def base_ms(self) -> int:
        """The grid every interval is made of."""
        return math.gcd(*self.spans)


def check_not_in_future(trade: Trade, now_ms: int, max_ahead_ms: int) -> None:
    """Refuse a trade stamped too far ahead of the clock: it would close every open window at once."""
    ahead = trade.timestamp_ms - now_ms
    if ahead > max_ahead_ms:
        raise FutureTrade(
            f"trade {trade.trade_id} of {trade.symbol} is stamped {ahead} ms in the future "
            f"(limit {max_ahead_ms} ms); a unit or clock error would close every window"
        )


class IntervalSeries:
    """The candle series of one symbol in one interval: the window being filled and what was emitted."""

    __slots__ = (
        "acc", "interval", "last_close", "last_source", "max_gap_ms", "next_open", "span", "window_start",
    )

    def __init__(self, interval: str, max_gap_ms: int) -> None:
        self.interval = interval
        self.span = interval_ms(interval)
        self.max_gap_ms = max(max_gap_ms, self.span)
        self.window_start: int | None = None  # open time of the window being filled
        self.acc: CandleAccumulator | None = None
        self.last_close: float | None = None
        self.last_source: DataSource = "unknown"  # gap fills carry the previous candle's source
        self.next_open: int | None = None  # every window before this one has been emitted

    def fold(self, symbol: str, base_start: int, base: CandleAccumulator, out: list[Candle]) -> int:
        """Add a closed base window; emits the windows it proves finished. Returns gap windows skipped."""
        window_start = base_start - base_start % self.span
        if self.window_start is not None and window_start != self.window_start:
            self._emit_current(symbol, out)
        skipped = self._fill_gaps(symbol, window_start, out)
        if self.window_start is None or self.acc is None:
            self.window_start = window_start
            self.acc = base.copy()
        else:
            self.acc.merge(base)
        return skipped

    def flush(self, symbol: str, closed_through: int, out: list[Candle]) -> int:
        """Emit every window that ends at or before ``closed_through``. Returns gap windows skipped."""
        if self.window_start is not None and self.window_start + self.span <= closed_through:
            self._emit_current(symbol, out)
        if self.window_start is not None:
            return 0
        return self._fill_gaps(symbol, closed_through - closed_through % self.span, out)

    def _emit_current(self, symbol: str, out: list[Candle]) -> None:
        assert self.window_start is not None and self.acc is not None
        out.append(self.acc.to_candle(symbol, self.interval, self.window_start))
        self.last_close = self.acc.close
        self.last_source = self.acc.source
        self.next_open = self.window_start + self.span
        self.window_start = None
        self.acc = None

    def _fill_gaps(self, symbol: str, until: int, out: list[Candle]) -> int:
        """Flat candles for the empty windows in ``[next_open, until)``."""
        if self.next_open is None or self.last_close is None or until <= self.next_open:
            return 0
        missing = (until - self.next_open) // self.span
        start = self.next_open
        self.next_open = until
        if missing * self.span > self.max_gap_ms:
            return missing
        out.extend(
            gap_fill_candle(symbol, self.interval, start + index * self.span, self.last_close, self.last_source)
            for index in range(missing)
        )
        return 0

    def to_state(self) -> list[Any]:
        return [
            self.window_start,
            self.acc.to_list() if self.acc is not None else None,
            self.last_close,
            self.next_open,
            self.last_source,
        ]

    def load_state(self, state: list[Any]) -> None:
        # State written before sources were recorded has four values: its gap fills say "unknown".
        window_start, acc, self.last_close, self.next_open, *rest = state
        self.last_source = rest[0] if rest else "unknown"
        self.window_start = window_start
        self.acc = CandleAccumulator.from_list(acc) if acc is not None else None


class SymbolWindows:
    """One symbol's open base windows and its series in every interval."""

    __slots__ = ("open_windows", "series")

    def __init__(self, plan: WindowPlan) -> None:
        self.open_windows: dict[int, CandleAccumulator] = {}
        self.series = [IntervalSeries(interval, plan.max_gap_fill_ms) for interval in plan.intervals]

    def open_state(self) -> list[Any]:
        return [[start, acc.to_list()] for start, acc in self.open_windows.items()]

    def load_open_state(self, state: list[Any]) -> None:
        self.open_windows = {start: CandleAccumulator.from_list(acc) for start, acc in state}

    def series_state(self) -> dict[str, Any]:
        return {series.interval: series.to_state() for series in self.series}

    def load_series_state(self, state: dict[str, Any]) -> None:
        # An interval added since the state was written starts with the next trade.
        for series in self.series:
            if series.interval in state:
                series.load_state(state[series.interval])


class PartitionCandleBuilder:
    """Windows of every symbol in one partition, closed by the partition's event-time watermark."""

    def __init__(self, plan: WindowPlan) -> None:
        self.plan = plan
        self._base = plan.base_ms
        self._grace = plan.grace_ms
        self.symbols: dict[str, SymbolWindows] = {}
        self.max_ts: int | None = None  # largest exchange timestamp seen
        self.closed_through: int | None = None  # every base window ending at or before this is closed
        self._advance_at = 2**62  # max_ts at which the next base window closes
        self.skipped_gap_windows = 0
        # What changed since the I/O layer last stored it.
        self.dirty_meta = False
        self.dirty_open: set[str] = set()
        self.dirty_series: set[str] = set()

    # --- the record path -------------------------------------------------------------------

    def add(self, trade: Trade) -> list[Candle]:
        """Put a trade in its window; returns the candles its timestamp closes (often none).

        Raises :class:`LateTrade` when the trade's window has already closed.
        """
        ts = trade.timestamp_ms
        if self.closed_through is not None and ts < self.closed_through:
            window = ts - ts % self._base
            raise LateTrade(
                f"trade {trade.trade_id} of {trade.symbol} at {ts} belongs to window "
                f"[{window}, {window + self._base}) which closed when the watermark reached "
                f"{self.closed_through + self._grace} (grace {self._grace} ms)"
            )
        symbol = trade.symbol
        windows = self.symbols.get(symbol)
        if windows is None:
            windows = self.symbols[symbol] = SymbolWindows(self.plan)
            self.dirty_meta = True
        start = ts - ts % self._base
        accumulator = windows.open_windows.get(start)
        if accumulator is None:
            accumulator = windows.open_windows[start] = CandleAccumulator()
        accumulator.add(trade)
        self.dirty_open.add(symbol)

        if self.max_ts is None:
            self.max_ts = ts
            self._advance_at = start + self._base + self._grace
        elif ts > self.max_ts:
            self.max_ts = ts
        if ts >= self._advance_at:
            return self.advance(ts)
        return []

    # --- closing ---------------------------------------------------------------------------

    def advance(self, watermark_ms: int) -> list[Candle]:
        """Close every base window that ends at or before ``watermark_ms - grace``."""
        if not self.symbols:
            return []
        target = watermark_ms - self._grace
        boundary = target - target % self._base
        if self.closed_through is not None and boundary <= self.closed_through:
            return []
        out: list[Candle] = []
        for symbol, windows in self.symbols.items():
            emitted_before = len(out)
            closing = sorted(start for start in windows.open_windows if start + self._base <= boundary)
            for start in closing:
                base = windows.open_windows.pop(start)
                for series in windows.series:
                    self.skipped_gap_windows += series.fold(symbol, start, base, out)
            for series in windows.series:
                self.skipped_gap_windows += series.flush(symbol, boundary, out)
            if closing:
                self.dirty_open.add(symbol)
                self.dirty_series.add(symbol)
            elif len(out) != emitted_before:
                self.dirty_series.add(symbol)
        self.closed_through = boundary
        self._advance_at = boundary + self._base + self._grace
        self.dirty_meta = True
        return out

    # --- state -----------------------------------------------------------------------------

    def meta_state(self) -> dict[str, Any]:
        return {"max_ts": self.max_ts, "closed_through": self.closed_through, "symbols": list(self.symbols)}

    @classmethod
    def restore(
        cls,
        plan: WindowPlan,
        meta: dict[str, Any] | None,
        open_states: dict[str, list[Any]],
        series_states: dict[str, dict[str, Any]],
    ) -> PartitionCandleBuilder:
        """Rebuild a builder from what :meth:`meta_state` and the per-symbol states returned."""
        builder = cls(plan)
        if not meta:
            return builder
        builder.closed_through = meta["closed_through"]
        for symbol in meta["symbols"]:
            windows = builder.symbols[symbol] = SymbolWindows(plan)
            windows.load_open_state(open_states.get(symbol) or [])
            windows.load_series_state(series_states.get(symbol) or {})
        # The stored watermark is only rewritten when windows close; the newest trade
        # since then is still in an open window (which is written on every trade).
        seen = [acc.close_ts for windows in builder.symbols.values() for acc in windows.open_windows.values()]
        if meta["max_ts"] is not None:
            seen.append(meta["max_ts"])
        builder.max_ts = max(seen, default=None)
        if builder.closed_through is not None:
            builder._advance_at = builder.closed_through + builder._base + builder._grace
        elif builder.max_ts is not None:
            first = min(
                (start for windows in builder.symbols.values() for start in windows.open_windows),
                default=builder.max_ts - builder.max_ts % builder._base,
            )
            builder._advance_at = first + builder._base + builder._grace
        return builder
