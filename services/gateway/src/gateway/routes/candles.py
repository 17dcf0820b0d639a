"""``/candles``: the recent OHLCV candles of a symbol, as the candle builder made them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from gateway import examples
from gateway.dependencies import STORE_UNAVAILABLE, UNKNOWN_SYMBOL, Store, SymbolPath
from gateway.examples import json_example
from gateway.responses import StoredJSONResponse, json_array, valid_documents
from tickcast.contracts import Candle

router = APIRouter(prefix="/candles", tags=["candles"])

MAX_LIMIT = 1000


@router.get(
    "/{symbol}",
    response_model=list[Candle],
    responses={200: json_example([examples.CANDLE]), **UNKNOWN_SYMBOL, **STORE_UNAVAILABLE},
    summary="Recent candles of a symbol",
)
async def recent_candles(
    symbol: SymbolPath,
    store: Store,
    interval: Annotated[
        str,
        Query(
            pattern=r"^[1-9][0-9]{0,2}[smhdw]$",
            description="Candle length, as the exchange names it.",
            examples=["1m"],
        ),
    ] = "1m",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="The newest this many candles.")] = 300,
) -> StoredJSONResponse:
    """The newest ``limit`` candles of ``symbol`` at ``interval``, oldest first."""
    series = await store.candles(symbol, interval, limit)
    if not series.symbol_known:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"unknown symbol {symbol!r}: GET /symbols lists the known ones"
        )
    return StoredJSONResponse(json_array(valid_documents(Candle, series.members, symbol)))
