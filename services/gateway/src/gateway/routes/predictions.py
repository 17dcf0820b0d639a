"""``/predictions``: the newest forecast of a symbol and its recent history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from gateway.dependencies import STORE_UNAVAILABLE, UNKNOWN_SYMBOL, Store, SymbolPath
from gateway.responses import StoredJSONResponse, json_array, valid_documents
from tickcast.contracts import MAX_EPOCH_MS, MIN_EPOCH_MS, Prediction

router = APIRouter(prefix="/predictions", tags=["predictions"])

MAX_LIMIT = 1000


@router.get(
    "/{symbol}/latest",
    response_model=Prediction,
    responses={**UNKNOWN_SYMBOL, **STORE_UNAVAILABLE},
    summary="Newest prediction of a symbol",
)
async def latest_prediction(symbol: SymbolPath, store: Store) -> StoredJSONResponse:
    """The forecast inference made most recently for ``symbol``."""
    stored = await store.latest_prediction(symbol)
    if stored is None or not valid_documents(Prediction, [stored], symbol):
        detail = (
            f"no prediction for symbol {symbol!r} yet"
            if await store.is_known(symbol)
            else f"unknown symbol {symbol!r}: GET /symbols lists the known ones"
        )
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail)
    return StoredJSONResponse(stored)


@router.get(
    "/{symbol}",
    response_model=list[Prediction],
    responses={**UNKNOWN_SYMBOL, **STORE_UNAVAILABLE},
    summary="Recent predictions of a symbol",
)
async def prediction_history(
    symbol: SymbolPath,
    store: Store,
    since: Annotated[
        int | None,
        Query(
            ge=MIN_EPOCH_MS, lt=MAX_EPOCH_MS,
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
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown symbol {symbol!r}: GET /symbols lists the known ones")
    return StoredJSONResponse(json_array(valid_documents(Prediction, series.members, symbol)))
