"""Paper trading as the API shows it: schemas, examples, and the books read back into them.

Simulated only: every answer carries ``notice``. The figures are those of ``tickcast.paper_trading``.
"""

from __future__ import annotations

from typing import Literal

import structlog
from pydantic import BaseModel, Field, ValidationError
from tickcast.paper_trading import (
    PAPER_TRADING_NOTICE,
    PaperBook,
    PaperFigures,
    PaperPoint,
    combine_curves,
    combine_figures,
    drawdown_curve,
    figures,
)

log = structlog.get_logger(__name__)

BASELINE_NAME = "persistence-baseline"  # the do-nothing reference inference keeps beside the models
ALL_SYMBOLS = "ALL"

Role = Literal["champion", "challenger", "baseline"]

UNITS = {
    "equity": "multiple of the starting capital (1.0 = start)",
    "strategy_return, buy_hold_return, excess_return": "fraction (0.01 = 1 %)",
    "max_drawdown": "fraction of the running peak of equity",
    "turnover": "sum of |position change| in units of equity (long -> flat = 1)",
    "fees_paid": "fraction of the starting capital",
    "exposure": "share of marked candles spent with a position",
    "time_ms": "epoch milliseconds, UTC, candle close",
}


class PaperModel(BaseModel):
    """One served model's paper portfolios: the equal-weight total and each symbol."""

    model: str = Field(description="``<model name>@<version>``: what ``?model=`` takes.",
                       examples=["tickcast-btcusdt-1m-h5@3"])
    model_name: str
    model_version: str
    role: Role = Field(description="champion (served now), challenger (another version served in shadow, or served before), baseline (the do-nothing reference).")
    fee_bps: float = Field(description="Fee per side, basis points of the traded notional.")
    allow_short: bool
    total: PaperFigures = Field(description="Equal-weight portfolio of the symbols (each an equal sleeve).")
    symbols: dict[str, PaperFigures]


class PaperOverview(BaseModel):
    """Every served model's paper portfolio against buy-and-hold."""

    notice: str = Field(PAPER_TRADING_NOTICE, description="Simulated from forecasts; not investment advice.")
    units: dict[str, str] = Field(default_factory=lambda: dict(UNITS))
    models: list[PaperModel]


class PaperCurvePoint(PaperPoint):
    drawdown: float = Field(description="Fall of equity from its running peak (fraction).")
    buy_hold_drawdown: float


class PaperCurve(BaseModel):
    """One model's paper portfolio on one symbol (or ``ALL``: the equal-weight total), with its equity curve."""

    notice: str = Field(PAPER_TRADING_NOTICE, description="Simulated from forecasts; not investment advice.")
    model: str
    model_name: str
    model_version: str
    role: Role
    symbol: str = Field(description="A symbol, or ``ALL`` for the equal-weight total of the model's symbols.")
    fee_bps: float
    allow_short: bool
    position: int = Field(description="Position now: -1 short, 0 flat, 1 long (rounded mean for ALL).")
    figures: PaperFigures
    points: list[PaperCurvePoint] = Field(description="Equity and buy-and-hold at each candle close, oldest first.")


def parse_books(documents: list[bytes]) -> list[PaperBook]:
    books = []
    for document in documents:
        try:
            books.append(PaperBook.model_validate_json(document))
        except ValidationError as error:
            log.error("malformed paper book in the store", reason=str(error))
    return books


def role_of(book: PaperBook, champion: tuple[str, str] | None) -> Role:
    if book.model_name == BASELINE_NAME:
        return "baseline"
    if champion == (book.model_name, book.model_version):
        return "champion"
    return "challenger"


def overview(books: list[PaperBook], curves: dict[str, list[PaperPoint]], champion: tuple[str, str] | None
             ) -> PaperOverview:
    """``curves`` by book field; models in the order champion, challengers (by version), baseline."""
    by_model: dict[str, list[PaperBook]] = {}
    for book in books:
        by_model.setdefault(book.model_id, []).append(book)
    models = []
    for model, group in by_model.items():
        group.sort(key=lambda b: b.symbol)
        first = group[0]
        total = combine_curves([curves.get(b.field, []) for b in group])
        models.append(PaperModel(
            model=model, model_name=first.model_name, model_version=first.model_version,
            role=role_of(first, champion), fee_bps=first.fee_bps, allow_short=first.allow_short,
            total=combine_figures(group, total), symbols={b.symbol: figures(b) for b in group}))
    order = {"champion": 0, "challenger": 1, "baseline": 2}
    models.sort(key=lambda m: (order[m.role], _version_key(m.model_version), m.model))
    return PaperOverview(models=models)


def curve(books: list[PaperBook], curves: list[list[PaperPoint]], symbol: str, champion: tuple[str, str] | None
          ) -> PaperCurve:
    """The curve of one book, or of the equal-weight total of ``books`` (all of one model)."""
    first = books[0]
    if symbol == ALL_SYMBOLS:
        points = combine_curves(curves)
        numbers = combine_figures(books, points)
        position = round(sum(b.position for b in books) / len(books))
    else:
        points = list(curves[0])
        numbers = figures(first)
        position = first.position
    drawdowns = drawdown_curve([p.equity for p in points])
    hold_drawdowns = drawdown_curve([p.buy_hold_equity for p in points])
    return PaperCurve(
        model=first.model_id, model_name=first.model_name, model_version=first.model_version,
        role=role_of(first, champion), symbol=symbol, fee_bps=first.fee_bps, allow_short=first.allow_short,
        position=position, figures=numbers,
        points=[PaperCurvePoint(**p.model_dump(), drawdown=d, buy_hold_drawdown=h)
                for p, d, h in zip(points, drawdowns, hold_drawdowns, strict=True)])


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 30, version)


_EXAMPLE_FIGURES = PaperFigures(
    strategy_return=0.0123, buy_hold_return=0.0051, excess_return=0.0072, max_drawdown=0.0081,
    buy_hold_max_drawdown=0.0214, turnover=14.0, fees_paid=0.0140, trades=14, candles_marked=1440, exposure=0.38,
    started_ms=1_767_225_660_000, last_time_ms=1_767_312_060_000)

OVERVIEW_EXAMPLE = PaperOverview(models=[
    PaperModel(model="tickcast-btcusdt-1m-h5@3", model_name="tickcast-btcusdt-1m-h5", model_version="3",
               role="champion", fee_bps=10.0, allow_short=False, total=_EXAMPLE_FIGURES,
               symbols={"BTCUSDT": _EXAMPLE_FIGURES}),
])

CURVE_EXAMPLE = PaperCurve(
    model="tickcast-btcusdt-1m-h5@3", model_name="tickcast-btcusdt-1m-h5", model_version="3", role="champion",
    symbol="BTCUSDT", fee_bps=10.0, allow_short=False, position=1, figures=_EXAMPLE_FIGURES,
    points=[PaperCurvePoint(time_ms=1_767_225_660_000, equity=0.999, buy_hold_equity=0.999, position=1,
                            drawdown=0.001, buy_hold_drawdown=0.001),
            PaperCurvePoint(time_ms=1_767_225_720_000, equity=1.0041, buy_hold_equity=1.0041, position=1,
                            drawdown=0.0, buy_hold_drawdown=0.0)])
