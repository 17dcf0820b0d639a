"""The accounting of one paper book: marking at candle closes, acting on forecasts, fees. Pure logic.

No look-ahead: a forecast made as of a candle is acted on at that candle's close, and the position it
sets earns the return from that close to the next one. A forecast arriving after the next close was
marked is too late to act on: it is counted, never applied in the past. Candles and forecasts already
seen (a replay after a restart) change nothing, so replaying the topics gives the same numbers.

Returns are simple returns of the close: a long earns close/previous - 1, a short the opposite; a
position change of size d (long->flat 1, short->long 2) pays ``fee_bps`` x d of the equity.
Buy-and-hold buys at the book's first close (paying one side's fee) and holds.
"""

from __future__ import annotations

from tickcast.paper_trading import PaperBook, PaperPoint, PendingDecision

from inference.paper_trading.signal import Signal, target_position


def mark(book: PaperBook, open_ms: int, close_ms: int, close: float) -> PaperPoint | None:
    """Mark the book at the close of the candle opening at ``open_ms``, then act on its forecast if waiting.

    Returns the curve point at that close, or None for a candle already marked.
    """
    if book.marked_open_ms is not None and open_ms <= book.marked_open_ms:
        return None
    if book.last_close is None:
        book.started_ms = close_ms
        fee = book.fee_bps / 10_000
        book.buy_hold_equity -= fee * book.buy_hold_equity
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
    waiting = [p for p in book.pending if p.as_of_ms > book.decided_as_of_ms]
    late = [p for p in waiting if p.as_of_ms < open_ms]
    if late:
        book.late_forecasts += len(late)
        book.decided_as_of_ms = max(p.as_of_ms for p in late)
    book.pending = [p for p in waiting if p.as_of_ms >= open_ms]
    now = [p for p in book.pending if p.as_of_ms == open_ms]
    if now:
        _act(book, open_ms, Signal(now[0].expected_return, now[0].p_up, now[0].p_down))
    return point(book)


def decide(book: PaperBook, as_of_ms: int, signal: Signal) -> PaperPoint | None:
    """Act on a forecast made as of the candle opening at ``as_of_ms``: now, later, or never (too late).

    Returns the curve point when the position was acted on now.
    """
    if as_of_ms <= book.decided_as_of_ms or any(p.as_of_ms == as_of_ms for p in book.pending):
        return None  # seen already
    if book.marked_open_ms is None or as_of_ms > book.marked_open_ms:
        book.pending = sorted([*book.pending, PendingDecision(as_of_ms=as_of_ms, expected_return=signal.expected_return,
                                                              p_up=signal.p_up, p_down=signal.p_down)],
                              key=lambda p: p.as_of_ms)
        return None
    if as_of_ms < book.marked_open_ms:
        book.late_forecasts += 1
        book.decided_as_of_ms = as_of_ms
        return None
    _act(book, as_of_ms, signal)
    return point(book)


def point(book: PaperBook) -> PaperPoint:
    assert book.marked_close_ms is not None
    return PaperPoint(time_ms=book.marked_close_ms, equity=book.equity, buy_hold_equity=book.buy_hold_equity,
                      position=book.position)


def _act(book: PaperBook, as_of_ms: int, signal: Signal) -> None:
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
    book.pending = [p for p in book.pending if p.as_of_ms > as_of_ms]
    _update_drawdowns(book)


def _update_drawdowns(book: PaperBook) -> None:
    book.peak_equity = max(book.peak_equity, book.equity)
    book.max_drawdown = max(book.max_drawdown, 1.0 - book.equity / book.peak_equity)
    book.buy_hold_peak = max(book.buy_hold_peak, book.buy_hold_equity)
    book.buy_hold_max_drawdown = max(book.buy_hold_max_drawdown, 1.0 - book.buy_hold_equity / book.buy_hold_peak)
