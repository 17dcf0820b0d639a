"""Every paper book of the symbols served here, fed candles and predictions. Pure logic, no I/O.

One book per (model name, model version, symbol): the champion's version, each challenger version,
and the persistence baseline, the do-nothing reference, which the candles themselves drive (it
forecasts a zero return, so it always stays flat). A book starts at the newest close known for its
symbol when its model's first forecast arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tickcast.contracts import Prediction
from tickcast.paper_trading import PaperBook, PaperPoint, book_field

from inference.model import BASELINE_NAME, BASELINE_VERSION
from inference.paper_trading.book import decide, mark
from inference.paper_trading.signal import Signal, signal_of


@dataclass(frozen=True)
class CurvePoint:
    """A point of one book's curve, and the book it belongs to."""

    model_name: str
    model_version: str
    symbol: str
    point: PaperPoint


class PaperTrader:
    def __init__(self, fee_bps: float, allow_short: bool, interval_ms: int) -> None:
        self._fee_bps = fee_bps
        self._allow_short = allow_short
        self._interval_ms = interval_ms
        self._books: dict[str, PaperBook] = {}
        self._by_symbol: dict[str, set[str]] = {}
        self._closes: dict[str, tuple[int, float]] = {}  # symbol -> newest (open_ms, close)
        self._changed: dict[str, PaperBook] = {}
        self._points: list[CurvePoint] = []

    def book(self, model_name: str, model_version: str, symbol: str) -> PaperBook | None:
        return self._books.get(book_field(model_name, model_version, symbol))

    @property
    def books(self) -> list[PaperBook]:
        return list(self._books.values())

    def on_candle(self, symbol: str, open_ms: int, close: float) -> None:
        newest = self._closes.get(symbol)
        if newest is None or open_ms > newest[0]:
            self._closes[symbol] = (open_ms, close)
        for field in sorted(self._by_symbol.get(symbol, ())):
            self._record(self._books[field], mark(self._books[field], open_ms, open_ms + self._interval_ms, close))
        baseline = self._ensure(BASELINE_NAME, BASELINE_VERSION, symbol)
        self._record(baseline, decide(baseline, open_ms, Signal(0.0)))

    def on_prediction(self, prediction: Prediction) -> None:
        book = self._ensure(prediction.model_name, prediction.model_version, prediction.symbol)
        self._record(book, decide(book, prediction.as_of_ms, signal_of(prediction)))

    def restore(self, books: Iterable[PaperBook]) -> None:
        """Take back stored books not held here (a book in memory is never older than its stored copy)."""
        for book in books:
            if book.field in self._books:
                continue
            self._add(book)
            if book.marked_open_ms is not None and book.last_close is not None:
                newest = self._closes.get(book.symbol)
                if newest is None or book.marked_open_ms > newest[0]:
                    self._closes[book.symbol] = (book.marked_open_ms, book.last_close)

    def forget(self, symbols: Iterable[str]) -> None:
        for symbol in symbols:
            for field in self._by_symbol.pop(symbol, set()):
                self._books.pop(field, None)
                self._changed.pop(field, None)
            self._closes.pop(symbol, None)
        gone = set(symbols)
        self._points = [p for p in self._points if p.symbol not in gone]

    def drain(self) -> tuple[list[PaperBook], list[CurvePoint]]:
        """Books changed and curve points made since the last drain (copies: later changes do not leak in)."""
        books = [book.model_copy(deep=True) for book in self._changed.values()]
        points, self._points, self._changed = self._points, [], {}
        return books, points

    def _ensure(self, model_name: str, model_version: str, symbol: str) -> PaperBook:
        field = book_field(model_name, model_version, symbol)
        book = self._books.get(field)
        if book is None:
            book = PaperBook(model_name=model_name, model_version=model_version, symbol=symbol,
                             fee_bps=self._fee_bps, allow_short=self._allow_short)
            self._add(book)
            if (newest := self._closes.get(symbol)) is not None:
                self._record(book, mark(book, newest[0], newest[0] + self._interval_ms, newest[1]))
        return book

    def _add(self, book: PaperBook) -> None:
        self._books[book.field] = book
        self._by_symbol.setdefault(book.symbol, set()).add(book.field)

    def _record(self, book: PaperBook, point: PaperPoint | None) -> None:
        self._changed[book.field] = book  # a forecast waiting for its close changes the book too
        if point is not None:
            self._points.append(CurvePoint(book.model_name, book.model_version, book.symbol, point))
