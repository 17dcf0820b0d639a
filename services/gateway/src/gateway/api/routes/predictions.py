"""``/predictions``: the newest forecast of a symbol and its recent history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status

from gateway.api import examples
from gateway.api.dependencies import STORE_UNAVAILABLE, UNKNOWN_SYMBOL, LatestReads, Store, SymbolPath
from gateway.api.examples import json_example
from gateway.api.responses import StoredJSONResponse, json_array
from gateway.backends.documents import parse_or_none, valid_documents, with_source
from tickcast.contracts import MAX_EPOCH_MS, MIN_EPOCH_MS, Prediction

router = APIRouter(prefix="/predictions", tags=["predictions"])

MAX_LIMIT = 1000


async def latest_prediction(symbol: SymbolPath, request: Request) -> StoredJSONResponse:
    """The forecast inference made most recently for ``symbol``.

    Served from memory while the gateway's subscription to new predictions is up (each one
    replaces the copy as it is made), from Redis otherwise and at least every
    ``GATEWAY_LATEST_CACHE_TTL_S``."""
    # The hottest endpoint reads the application's state directly: resolving a dependency
    # would cost it about a third of its time (measured for bench/bench_gateway.py).
    latest: LatestReads = request.app.state.latest_reads
    cache, store = latest.cache, latest.store
    if (cached := cache.get(symbol)) is not None:
        return StoredJSONResponse(cached)
    token = cache.read_token()
    stored = await store.latest_prediction(symbol)
    prediction = parse_or_none(Prediction, stored, symbol) if stored is not None else None
    if prediction is None:
        detail = (
            f"no prediction for symbol {symbol!r} yet"
            if await store.is_known(symbol)
            else f"unknown symbol {symbol!r}: GET /symbols lists the known ones"
        )
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail)
    stored = with_source(stored, prediction)
    cache.offer_read(symbol, prediction.as_of_ms, stored, token)
    return StoredJSONResponse(stored)


@router.get(
    "/{symbol}",
    response_model=list[Prediction],
    responses={200: json_example([examples.PREDICTION]), **UNKNOWN_SYMBOL, **STORE_UNAVAILABLE},
    summary="Recent predictions of a symbol",
)
async def prediction_history(
    symbol: SymbolPath,
    store: Store,
    since: Annotated[
        int | None,
        Query(
            ge=MIN_EPOCH_MS,
            lt=MAX_EPOCH_MS,
            description="Only predictions made as of this epoch millisecond or later, oldest first: "
            "page on with the last as_of_ms + 1. Without it, the newest ones.",
            examples=[1_704_067_200_000],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many predictions.")] = 100,
) -> StoredJSONResponse:
    """Predictions ordered by ``as_of_ms``, oldest first. An empty list means none in that range."""
    series = await store.prediction_history(symbol, since, limit)
    if not series.symbol_known:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"unknown symbol {symbol!r}: GET /symbols lists the known ones"
        )
    return StoredJSONResponse(json_array(valid_documents(Prediction, series.members, symbol)))


def add_latest_route(app: FastAPI) -> None:
    """Register ``GET /predictions/{symbol}/latest`` on the application itself, not on ``router``.

    FastAPI dispatches to routes of included routers through an extra layer that costs this
    endpoint, the hottest one, about a sixth of its time; the other routes stay on ``router``.
    """
    app.add_api_route(
        "/predictions/{symbol}/latest",
        latest_prediction,
        methods=["GET"],
        response_model=Prediction,
        responses={200: json_example(examples.PREDICTION), **UNKNOWN_SYMBOL, **STORE_UNAVAILABLE},
        summary="Newest prediction of a symbol",
        tags=["predictions"],
    )
