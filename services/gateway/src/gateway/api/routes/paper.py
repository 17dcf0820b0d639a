"""``/paper``: each served model's paper portfolio against buy-and-hold. Simulated, not investment advice."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from tickcast.paper_trading import PaperPoint

from gateway.api import paper
from gateway.api.dependencies import STORE_UNAVAILABLE, Store, SymbolPath
from gateway.api.examples import json_example
from gateway.api.schemas import ErrorMessage

router = APIRouter(prefix="/paper", tags=["paper trading"])

MAX_POINTS = 1440
NO_BOOK: dict[int | str, dict[str, Any]] = {404: {"model": ErrorMessage, "description": "No paper book for this model and symbol (yet)."}}


async def _champion(store: Store) -> tuple[str, str] | None:
    served = await store.served_model()
    name, version = served.get(b"name"), served.get(b"version")
    return None if name is None or version is None else (name.decode(), version.decode())


def _points(documents: list[bytes]) -> list[PaperPoint]:
    return [PaperPoint.model_validate_json(document) for document in documents]


@router.get("", responses={200: json_example(paper.OVERVIEW_EXAMPLE), **STORE_UNAVAILABLE},
            summary="Paper portfolios of every served model")
async def paper_overview(store: Store) -> paper.PaperOverview:
    """**Paper trading — simulated, not investment advice.** For each served model (the champion, each
    challenger version, and the persistence baseline as the do-nothing reference): a long/flat position
    per symbol taken from its forecasts at each candle close, net of the fee per side, against buy-and-hold;
    the equal-weight total over its symbols and each symbol's figures."""
    books = paper.parse_books(await store.paper_books())
    documents = await store.paper_curves([(b.model_name, b.model_version, b.symbol) for b in books], MAX_POINTS)
    curves = {book.field: _points(points) for book, points in zip(books, documents, strict=True)}
    return paper.overview(books, curves, await _champion(store))


@router.get("/{symbol}", responses={200: json_example(paper.CURVE_EXAMPLE), **NO_BOOK, **STORE_UNAVAILABLE},
            summary="Paper portfolio and equity curve of one model on one symbol")
async def paper_curve(
    symbol: SymbolPath,
    store: Store,
    model: Annotated[str | None, Query(description="``<model name>@<version>`` as listed by GET /paper; "
                                       "default the champion.", examples=["tickcast-btcusdt-1m-h5@3"])] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_POINTS, description="Newest curve points returned.")] = MAX_POINTS,
) -> paper.PaperCurve:
    """**Paper trading — simulated, not investment advice.** The equity curve of ``model`` on ``symbol``
    (``ALL``: the equal-weight total of its symbols) against buy-and-hold, with drawdowns, at each candle close."""
    champion = await _champion(store)
    wanted = model or (None if champion is None else f"{champion[0]}@{champion[1]}")
    books = [b for b in paper.parse_books(await store.paper_books()) if b.model_id == wanted
             and (symbol == paper.ALL_SYMBOLS or b.symbol == symbol)]
    if not books:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no paper book for model {wanted!r} on {symbol!r}: GET /paper lists them")
    books.sort(key=lambda b: b.symbol)
    documents = await store.paper_curves([(b.model_name, b.model_version, b.symbol) for b in books], limit)
    return paper.curve(books, [_points(points) for points in documents], symbol, champion)
