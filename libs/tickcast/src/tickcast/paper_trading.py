"""Paper trading, as stored by inference and served by the gateway: one book per (model, symbol).

Simulated only: a long/flat (optionally short) position taken from a model's forecasts, marked
at the candle closes, net of a fee per side, beside buy-and-hold of the same symbol. Never advice.

A book's numbers are in units of its starting capital (equity starts at 1.0). ``combine_books``
makes the equal-weight portfolio of a model over its symbols: each symbol one equal sleeve.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PAPER_TRADING_NOTICE = "paper trading — simulated, not investment advice"

Position = Annotated[int, Field(ge=-1, le=1, description="-1 short, 0 flat, 1 long (whole equity).")]


class PaperPoint(BaseModel):
    """One point of a book's equity curve, at a candle close (after any position change there)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_ms: int = Field(description="Close time of the candle: its open time plus the interval.")
    equity: float = Field(description="Strategy equity, starting capital = 1.0, net of fees.")
    buy_hold_equity: float = Field(description="Buy-and-hold equity from the book's first close, net of one entry fee.")
    position: Position


class PendingDecision(BaseModel):
    """A forecast made as of a candle whose close the book has not marked yet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of_ms: int
    expected_return: float
    p_up: float | None = None
    p_down: float | None = None


class PaperBook(BaseModel):
    """The state and the figures of one model's paper portfolio on one symbol (the stored document)."""

    model_config = ConfigDict(extra="forbid")

    model_name: str
    model_version: str
    symbol: str
    fee_bps: float = Field(description="Fee per side, basis points of the traded notional.")
    allow_short: bool
    started_ms: int | None = Field(None, description="Close time of the first candle marked.")
    marked_open_ms: int | None = Field(None, description="Open time of the last candle marked.")
    marked_close_ms: int | None = Field(None, description="Close time of the last candle marked.")
    last_close: float | None = None
    position: Position = 0
    decided_as_of_ms: int = Field(0, description="as_of_ms of the newest forecast acted on (or dropped).")
    pending: list[PendingDecision] = Field(default_factory=list)
    equity: float = 1.0
    peak_equity: float = 1.0
    max_drawdown: float = Field(0.0, description="Largest fall from a peak of equity, as a fraction of the peak.")
    buy_hold_equity: float = 1.0
    buy_hold_peak: float = 1.0
    buy_hold_max_drawdown: float = 0.0
    turnover: float = Field(0.0, description="Sum of |position change|, in units of equity (long->flat = 1).")
    fees_paid: float = Field(0.0, description="Fees paid, in units of the starting capital.")
    trades: int = Field(0, description="Position changes.")
    candles_marked: int = 0
    candles_in_market: int = 0
    late_forecasts: int = Field(
        0, description="Forecasts not acted on: their candle's close unknown (a gap) or already passed.")

    @property
    def field(self) -> str:
        return book_field(self.model_name, self.model_version, self.symbol)

    @property
    def model_id(self) -> str:
        return model_id(self.model_name, self.model_version)


class PaperFigures(BaseModel):
    """What a portfolio did: returns and drawdowns are fractions (0.01 = 1 %), fees in starting capital."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy_return: float
    buy_hold_return: float
    excess_return: float = Field(description="strategy_return - buy_hold_return.")
    max_drawdown: float
    buy_hold_max_drawdown: float
    turnover: float
    fees_paid: float
    trades: int
    candles_marked: int
    exposure: float = Field(description="Share of marked candles spent with a position.")
    started_ms: int | None
    last_time_ms: int | None


def model_id(model_name: str, model_version: str) -> str:
    """How a served model is named in the paper-trading routes: ``<name>@<version>``."""
    return f"{model_name}@{model_version}"


def book_field(model_name: str, model_version: str, symbol: str) -> str:
    return f"{model_id(model_name, model_version)}|{symbol}"


def figures(book: PaperBook) -> PaperFigures:
    return PaperFigures(
        strategy_return=book.equity - 1.0,
        buy_hold_return=book.buy_hold_equity - 1.0,
        excess_return=book.equity - book.buy_hold_equity,
        max_drawdown=book.max_drawdown,
        buy_hold_max_drawdown=book.buy_hold_max_drawdown,
        turnover=book.turnover,
        fees_paid=book.fees_paid,
        trades=book.trades,
        candles_marked=book.candles_marked,
        exposure=book.candles_in_market / book.candles_marked if book.candles_marked else 0.0,
        started_ms=book.started_ms,
        last_time_ms=book.marked_close_ms,
    )


def drawdown_curve(equity: Sequence[float]) -> list[float]:
    """At each point, the fall from the highest equity so far, as a fraction of it (0 at a new peak)."""
    peak = float("-inf")
    out = []
    for value in equity:
        peak = max(peak, value)
        out.append(0.0 if peak <= 0 else 1.0 - value / peak)
    return out


def combine_curves(curves: Sequence[Sequence[PaperPoint]]) -> list[PaperPoint]:
    """The equal-weight portfolio of several books: each an equal sleeve of the starting capital.

    At every time any book has a point, a sleeve counts its latest equity so far, and 1.0 (cash)
    before its first point. ``position`` is the mean position of the sleeves, rounded to -1/0/1.
    """
    if not curves:
        return []
    times = sorted({point.time_ms for curve in curves for point in curve})
    latest: list[PaperPoint | None] = [None] * len(curves)
    cursors = [0] * len(curves)
    out: list[PaperPoint] = []
    for time_ms in times:
        for i, curve in enumerate(curves):
            while cursors[i] < len(curve) and curve[cursors[i]].time_ms <= time_ms:
                latest[i] = curve[cursors[i]]
                cursors[i] += 1
        n = len(curves)
        equity = sum(1.0 if p is None else p.equity for p in latest) / n
        buy_hold = sum(1.0 if p is None else p.buy_hold_equity for p in latest) / n
        position = sum(0 if p is None else p.position for p in latest) / n
        out.append(PaperPoint(time_ms=time_ms, equity=equity, buy_hold_equity=buy_hold,
                              position=round(position)))
    return out


def combine_figures(books: Sequence[PaperBook], curve: Sequence[PaperPoint]) -> PaperFigures:
    """Figures of the equal-weight portfolio of ``books`` whose combined curve is ``curve``.

    Returns, fees and turnover are the sleeves' means (each holds 1/n of the capital); trades add
    up; drawdowns are read from the combined curve.
    """
    n = len(books)
    if n == 0:
        return PaperFigures(strategy_return=0, buy_hold_return=0, excess_return=0, max_drawdown=0,
                            buy_hold_max_drawdown=0, turnover=0, fees_paid=0, trades=0, candles_marked=0,
                            exposure=0, started_ms=None, last_time_ms=None)
    equity = sum(b.equity for b in books) / n
    buy_hold = sum(b.buy_hold_equity for b in books) / n
    marked = sum(b.candles_marked for b in books)
    starts = [b.started_ms for b in books if b.started_ms is not None]
    return PaperFigures(
        strategy_return=equity - 1.0,
        buy_hold_return=buy_hold - 1.0,
        excess_return=equity - buy_hold,
        max_drawdown=max(drawdown_curve([p.equity for p in curve]), default=0.0),
        buy_hold_max_drawdown=max(drawdown_curve([p.buy_hold_equity for p in curve]), default=0.0),
        turnover=sum(b.turnover for b in books) / n,
        fees_paid=sum(b.fees_paid for b in books) / n,
        trades=sum(b.trades for b in books),
        candles_marked=marked,
        exposure=sum(b.candles_in_market for b in books) / marked if marked else 0.0,
        started_ms=min(starts) if starts else None,
        last_time_ms=curve[-1].time_ms if curve else None,
    )
