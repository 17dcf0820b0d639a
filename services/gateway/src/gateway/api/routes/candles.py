"""``/candles``: the recent OHLCV candles of a symbol, as the candle builder made them.

The intervals on offer are the candle builder's (``CANDLE_INTERVALS``): the OpenAPI document
lists them as an enum, and any other is a 422 that names them, never an empty list.
"""


from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from gateway.api import examples
from gateway.api.dependencies import STORE_UNAVAILABLE, UNKNOWN_SYMBOL, Store, SymbolPath
from gateway.api.examples import json_example
from gateway.api.responses import StoredJSONResponse, json_array
from gateway.backends.documents import valid_documents
from tickcast.contracts import Candle

MAX_LIMIT = 1000


def make_router(intervals: list[str]) -> APIRouter:
    """The route for candles of these intervals (the first is the default)."""
    router = APIRouter(prefix="/candles", tags=["candles"])
    Interval = Literal[tuple(intervals)]  # type: ignore[valid-type]  # noqa: N806 - a type built at run time

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
            Interval,
            Query(description=f"Candle length, as the exchange names it: one of {', '.join(intervals)} "
                              "(the candle builder's CANDLE_INTERVALS).", examples=[intervals[0]]),
        ] = intervals[0],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="The newest this many candles.")] = 300,
    ) -> StoredJSONResponse:
        """The newest ``limit`` candles of ``symbol`` at ``interval``, oldest first."""
        series = await store.candles(symbol, interval, limit)
        if not series.symbol_known:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"unknown symbol {symbol!r}: GET /symbols lists the known ones"
            )
        return StoredJSONResponse(json_array(valid_documents(Candle, series.members, symbol)))

    return router
