"""The accounting of one paper book: marking at candle closes, acting on forecasts, fees. Pure logic.

No look-ahead: a forecast made as of a candle is acted on at that candle's close, and the position it
sets earns the return from that close to the next one. Closes and forecasts already seen (a replay
after a restart) change nothing, so replaying the topics gives the same numbers.

Returns are simple returns of the close: a long earns close/previous - 1, a short the opposite; a
position change of size d (long->flat 1, short->long 2) pays ``fee_bps`` x d of the equity.
Buy-and-hold buys at the book's first close (paying one side's fee) and holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields

from tickcast.paper_trading import PaperBook, book_field

from inference.paper_trading.signal import Signal, target_position


@dataclass(frozen=True, slots=True)
class Waiting:
    """A forecast waiting for its candle's close (``PendingDecision`` in the document)."""

    as_of_ms: int
    expected_return: float
    p_up: float | None = None
    p_down: float | None = None


@dataclass(frozen=True, slots=True)
class Point:
    """A curve point (``PaperPoint`` in the document)."""

    time_ms: int
    equity: float
    buy_hold_equity: float
    position: int

    def to_json(self) -> str:
        return json.dumps({"time_ms": self.time_ms, "equity": self.equity, "buy_hold_equity": self.buy_hold_equity,
                           "position": self.position})


_FIELDS: tuple[str, ...] = ()  # BookState's field names, set below


@dataclass(slots=True)
class BookState:
    """The working copy of a ``PaperBook``: the same fields, in a plain dataclass, because it changes at
    every close of every book (pydantic's checked attribute writes cost several times more)."""

    model_name: str
    model_version: str
    symbol: str
    fee_bps: float
    allow_short: bool
    started_ms: int | None = None
    marked_open_ms: int | None = None
    marked_close_ms: int | None = None
    last_close: float | None = None
    position: int = 0
    decided_as_of_ms: int = 0
    pending: list[Waiting] = field(default_factory=list)  # replaced, never changed in place
    equity: float = 1.0
    peak_equity: float = 1.0
    max_drawdown: float = 0.0
    buy_hold_equity: float = 1.0
    buy_hold_peak: float = 1.0
    buy_hold_max_drawdown: float = 0.0
    turnover: float = 0.0
    fees_paid: float = 0.0
    trades: int = 0
    candles_marked: int = 0
    candles_in_market: int = 0
    late_forecasts: int = 0

    @property
    def field(self) -> str:
        return book_field(self.model_name, self.model_version, self.symbol)

    def to_json(self) -> str:
        """The stored document, ``PaperBook`` JSON (written directly: this runs for every book at every close)."""
        values = {name: getattr(self, name) for name in _FIELDS}
        values["pending"] = [{"as_of_ms": w.as_of_ms, "expected_return": w.expected_return, "p_up": w.p_up,
                              "p_down": w.p_down} for w in self.pending]
        return json.dumps(values)

    def document(self) -> PaperBook:
        return PaperBook.model_validate_json(self.to_json())

    @classmethod
    def of(cls, document: PaperBook) -> BookState:
        values = {name: getattr(document, name) for name in _FIELDS}
        values["pending"] = [Waiting(p.as_of_ms, p.expected_return, p.p_up, p.p_down) for p in document.pending]
        return cls(**values)


_FIELDS = tuple(f.name for f in fields(BookState))


def mark(book: BookState, open_ms: int, close_ms: int, close: float) -> Point | None:
    """Mark the book at the close of the candle opening at ``open_ms``; None for a candle already marked."""
    if book.marked_open_ms is not None and open_ms <= book.marked_open_ms:
        return None
    if book.last_close is None:
        book.started_ms = close_ms
        book.buy_hold_equity -= book.fee_bps / 10_000 * book.buy_hold_equity
    else:
        move = close / book.last_close - 1.0
        book.equity *= 1.0 + book.position * move
        book.buy_hold_equity *= 1.0 + move
        book.candles_marked += 1
        book.candles_in_market += book.position != 0
    book.last_close = close
    book.marked_open_ms = open_ms
    book.marked_close_ms = close_ms
    _update_drawdowns(book)
    return point(book)


def act(book: BookState, as_of_ms: int, signal: Signal) -> Point:
    """Take the position a forecast asks for, at the close the book is marked at (its as_of candle's)."""
    assert book.marked_open_ms == as_of_ms, "a forecast acts at its own candle's close"
    target = target_position(signal, book.position, book.fee_bps, book.allow_short)
    change = abs(target - book.position)
    if change:
        fee = book.fee_bps / 10_000 * change * book.equity
        book.equity -= fee
        book.fees_paid += fee
        book.turnover += change
        book.trades += 1
        book.position = target
    book.decided_as_of_ms = as_of_ms
    _update_drawdowns(book)
    return point(book)


def point(book: BookState) -> Point:
    assert book.marked_close_ms is not None
    return Point(book.marked_close_ms, book.equity, book.buy_hold_equity, book.position)


def _update_drawdowns(book: BookState) -> None:
    book.peak_equity = max(book.peak_equity, book.equity)
    book.max_drawdown = max(book.max_drawdown, 1.0 - book.equity / book.peak_equity)
    book.buy_hold_peak = max(book.buy_hold_peak, book.buy_hold_equity)
    book.buy_hold_max_drawdown = max(book.buy_hold_max_drawdown, 1.0 - book.buy_hold_equity / book.buy_hold_peak)
