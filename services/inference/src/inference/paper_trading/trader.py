"""Every paper book of the symbols served here, fed candles and predictions. Pure logic, no I/O.

One book per (model name, model version, symbol): the champion's version, each challenger version,
and the persistence baseline, the do-nothing reference, which the candles themselves drive (it
forecasts a zero return, so it always stays flat). A book starts at its model's first forecast's
close and is marked as far as its model's forecasts reach: a model that stops forecasting (a
challenger removed) leaves its book where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tickcast.contracts import Prediction
from tickcast.paper_trading import PaperBook, book_field

from inference.model import BASELINE_NAME, BASELINE_VERSION
from inference.paper_trading.book import BookState, Point, Waiting, act, mark
from inference.paper_trading.closes import RecentCloses
from inference.paper_trading.signal import Signal, signal_of


@dataclass(frozen=True)
class CurvePoint:
    """A point of one book's curve, and the book it belongs to."""

    model_name: str
    model_version: str
    symbol: str
    point: Point


class PaperTrader:
    def __init__(self, fee_bps: float, allow_short: bool, interval_ms: int, closes_kept: int = 1440) -> None:
        self._fee_bps = fee_bps
        self._allow_short = allow_short
        self._interval_ms = interval_ms
        self._books: dict[str, BookState] = {}
        self._by_symbol: dict[str, set[str]] = {}
        self._closes = RecentCloses(closes_kept)
        self._changed: dict[str, BookState] = {}
        self._points: list[CurvePoint] = []

    def book(self, model_name: str, model_version: str, symbol: str) -> PaperBook | None:
        """The document of a book as it is now."""
        book = self._books.get(book_field(model_name, model_version, symbol))
        return None if book is None else book.document()

    @property
    def books(self) -> list[PaperBook]:
        return [book.document() for book in self._books.values()]

    def on_candle(self, symbol: str, open_ms: int, close: float) -> None:
        self._closes.add(symbol, open_ms, close)
        for field in sorted(self._by_symbol.get(symbol, ())):
            if self._books[field].pending:
                self._advance(self._books[field])
        self._receive(self._ensure(BASELINE_NAME, BASELINE_VERSION, symbol), open_ms, Signal(0.0))

    def on_prediction(self, prediction: Prediction) -> None:
        book = self._ensure(prediction.model_name, prediction.model_version, prediction.symbol)
        self._receive(book, prediction.as_of_ms, signal_of(prediction))

    def restore(self, books: Iterable[PaperBook]) -> None:
        """Take back stored books not held here (a book in memory is never older than its stored copy)."""
        for book in books:
            if book.field in self._books:
                continue
            self._add(BookState.of(book))
            known = book.marked_open_ms is not None and book.last_close is not None
            if known and self._closes.at(book.symbol, book.marked_open_ms) is None:  # type: ignore[arg-type]
                self._closes.add(book.symbol, book.marked_open_ms, book.last_close)  # type: ignore[arg-type]

    def forget(self, symbols: Iterable[str]) -> None:
        gone = set(symbols)
        for symbol in gone:
            for field in self._by_symbol.pop(symbol, set()):
                self._books.pop(field, None)
                self._changed.pop(field, None)
            self._closes.forget(symbol)
        self._points = [p for p in self._points if p.symbol not in gone]

    def drain(self) -> tuple[dict[str, str], list[CurvePoint]]:
        """The JSON of each book changed, by field, and the curve points made, since the last drain."""
        books = {field: book.to_json() for field, book in self._changed.items()}
        points, self._points, self._changed = self._points, [], {}
        return books, points

    def _receive(self, book: BookState, as_of_ms: int, signal: Signal) -> None:
        """A forecast: acted on at its candle's close, now or once that close is known; late if passed."""
        if as_of_ms <= book.decided_as_of_ms or any(p.as_of_ms == as_of_ms for p in book.pending):
            return  # seen already
        self._changed[book.field] = book
        if book.marked_open_ms is not None and as_of_ms < book.marked_open_ms:
            book.decided_as_of_ms = as_of_ms  # the book has moved past its close: never applied in the past
            book.late_forecasts += 1
            return
        waiting = Waiting(as_of_ms, signal.expected_return, signal.p_up, signal.p_down)
        book.pending = sorted([*book.pending, waiting], key=lambda p: p.as_of_ms)
        self._advance(book)

    def _advance(self, book: BookState) -> None:
        """Mark the book through the known closes up to each waiting forecast's, and act on it there.

        A book moves only as far as its model's forecasts reach, so the order in which candles and
        forecasts arrive (a batch, a backlog, a replay) does not change its numbers.
        """
        newest = self._closes.newest(book.symbol)
        self._changed[book.field] = book
        while book.pending and newest is not None and book.pending[0].as_of_ms <= newest:
            waiting, book.pending = book.pending[0], book.pending[1:]  # replaced, never changed in place
            for open_ms, close in self._closes.between(book.symbol, book.marked_open_ms, waiting.as_of_ms):
                if book.marked_open_ms is None and open_ms != waiting.as_of_ms:
                    continue  # a book starts at its first forecast's close
                self._record(book, mark(book, open_ms, open_ms + self._interval_ms, close))
            if book.marked_open_ms != waiting.as_of_ms:
                book.late_forecasts += 1  # its candle's close is not known (a gap): not acted on
                book.decided_as_of_ms = waiting.as_of_ms
                continue
            self._record(book, act(book, waiting.as_of_ms,
                                   Signal(waiting.expected_return, waiting.p_up, waiting.p_down)))

    def _ensure(self, model_name: str, model_version: str, symbol: str) -> BookState:
        field = book_field(model_name, model_version, symbol)
        book = self._books.get(field)
        if book is None:
            book = BookState(model_name=model_name, model_version=model_version, symbol=symbol,
                             fee_bps=self._fee_bps, allow_short=self._allow_short)
            self._add(book)
        return book

    def _add(self, book: BookState) -> None:
        self._books[book.field] = book
        self._by_symbol.setdefault(book.symbol, set()).add(book.field)

    def _record(self, book: BookState, point: Point | None) -> None:
        if point is not None:
            self._points.append(CurvePoint(book.model_name, book.model_version, book.symbol, point))
