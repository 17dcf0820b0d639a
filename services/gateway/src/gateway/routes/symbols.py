"""``/symbols``: what the store knows about, and asking the producer to follow a new one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status

from gateway.auth import require_write_key
from gateway.dependencies import STORE_UNAVAILABLE, Store
from gateway.metrics import SYMBOL_REQUESTS
from gateway.schemas import ErrorMessage, SymbolList, SymbolRequestAccepted, SymbolRequestBody
from gateway.store import StoreUnavailable
from gateway.symbol_requests import RequestNotDelivered, SymbolRequester

router = APIRouter(prefix="/symbols", tags=["symbols"])


async def _requester(request: Request) -> SymbolRequester:
    return request.app.state.symbol_requester


@router.get("", responses=STORE_UNAVAILABLE, summary="Known symbols")
async def list_symbols(store: Store) -> SymbolList:
    """Every symbol that has candles or predictions in the store, sorted."""
    return SymbolList(symbols=await store.symbols())


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(require_write_key)],
    responses={
        400: {"model": ErrorMessage, "description": "The body is not JSON at all."},
        401: {
            "model": ErrorMessage,
            "description": "API keys are configured and X-API-Key is missing or wrong.",
        },
        503: {"model": ErrorMessage, "description": "Kafka did not acknowledge the request; retry later."},
    },
    summary="Ask the producer to follow a symbol",
)
async def request_symbol(
    body: SymbolRequestBody,
    store: Store,
    requester: Annotated[SymbolRequester, Depends(_requester)],
) -> SymbolRequestAccepted:
    """Puts a request on the ``symbol-requests`` topic. The producer backfills ``lookback_minutes``
    of history and then streams the symbol live; candles and predictions follow in the store.
    Accepted means the broker has the request, not that the exchange lists the symbol."""
    try:
        already_known = await store.is_known(body.symbol)
    except StoreUnavailable:
        # The request goes to Kafka, not Redis: a Redis outage must not block it.
        already_known = False
    try:
        sent = await requester.request(body.symbol, body.lookback_minutes)
    except RequestNotDelivered as exc:
        SYMBOL_REQUESTS.labels("not_delivered").inc()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    SYMBOL_REQUESTS.labels("accepted").inc()
    return SymbolRequestAccepted(
        symbol=sent.symbol,
        requested_at_ms=sent.requested_at_ms,
        lookback_minutes=sent.lookback_minutes,
        already_known=already_known,
    )
