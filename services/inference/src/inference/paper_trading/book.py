"""The accounting of one paper book: marking at candle closes, acting on forecasts, fees. Pure logic.

No look-ahead: a forecast made as of a candle is acted on at that candle's close, and the position it
sets earns the return from that close to the next one. Closes and forecasts already seen (a replay
after a restart) change nothing, so replaying the topics gives the same numbers.

Returns are simple returns of the close: a long earns close/previous - 1, a short the opposite; a
position change of size d (long->flat 1, short->long 2) pays ``fee_bps`` x d of the equity.
Buy-and-hold buys at the book's first close (paying one side's fee) and holds.
"""

from __future__ import annotations

from tickcast.paper_trading import PaperBook, PaperPoint

from inference.paper_trading.signal import Signal, target_position


def mark(book: PaperBook, open_ms: int, close_ms: int, close: float) -> PaperPoint | None:
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


def act(book: PaperBook, as_of_ms: int, signal: Signal) -> PaperPoint:
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


def point(book: PaperBook) -> PaperPoint:
    assert book.marked_close_ms is not None
    return PaperPoint(time_ms=book.marked_close_ms, equity=book.equity, buy_hold_equity=book.buy_hold_equity,
                      position=book.position)


def _update_drawdowns(book: PaperBook) -> None:
    book.peak_equity = max(book.peak_equity, book.equity)
    book.max_drawdown = max(book.max_drawdown, 1.0 - book.equity / book.peak_equity)
    book.buy_hold_peak = max(book.buy_hold_peak, book.buy_hold_equity)
    book.buy_hold_max_drawdown = max(book.buy_hold_max_drawdown, 1.0 - book.buy_hold_equity / book.buy_hold_peak)
