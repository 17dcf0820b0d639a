"""``/symbols``: what the store knows about, and asking the producer to follow a new one.

``POST /symbols`` needs an ``X-API-Key`` exactly when the gateway is started with
``GATEWAY_API_KEYS``; the OpenAPI document declares the key (and the 401) only then, so the
document and the behaviour agree either way. A request is put on the topic only while a trade
producer listens there (only the live feed does): otherwise it is a 409 that says so, instead of
a 202 for a symbol that would never appear.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status

from gateway.api.auth import require_write_key
from gateway.api.dependencies import STORE_UNAVAILABLE, Store
from gateway.metrics import SYMBOL_REQUESTS
from gateway.api.schemas import ErrorMessage, SymbolList, SymbolRequestAccepted, SymbolRequestBody
from gateway.backends.store import StoreUnavailable
from gateway.backends.symbol_requests import NoListener, RequestNotDelivered, SymbolRequester


async def _requester(request: Request) -> SymbolRequester:
    return request.app.state.symbol_requester


async def list_symbols(store: Store) -> SymbolList:
    """Every symbol that has candles or predictions in the store, sorted."""
    return SymbolList(symbols=await store.symbols())


async def request_symbol(
    body: SymbolRequestBody,
    store: Store,
    requester: Annotated[SymbolRequester, Depends(_requester)],
) -> SymbolRequestAccepted:
    """Puts a request on the ``symbol-requests`` topic. The producer backfills ``lookback_minutes``
    of history and then streams the symbol live; candles and predictions follow in the store.
    Accepted means the broker has the request and a trade producer listens for it (only the live
    feed does: a replay or a synthetic feed answers 409), not that the exchange lists the symbol."""
    try:
        already_known = await store.is_known(body.symbol)
    except StoreUnavailable:
        # The request goes to Kafka, not Redis: a Redis outage must not block it.
        already_known = False
    try:
        sent = await requester.request(body.symbol, body.lookback_minutes)
    except NoListener as exc:
        SYMBOL_REQUESTS.labels("no_listener").inc()
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
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


def make_router(keys_required: bool) -> APIRouter:
    """The routes; with ``keys_required`` the POST checks (and documents) ``X-API-Key``."""
    router = APIRouter(prefix="/symbols", tags=["symbols"])
    router.add_api_route("", list_symbols, methods=["GET"], responses=STORE_UNAVAILABLE, summary="Known symbols")
    responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorMessage, "description": "The body is not JSON at all."},
        409: {
            "model": ErrorMessage,
            "description": "No trade producer takes symbol requests now: the feed replays files or generates "
            "synthetic trades (only the live feed follows new symbols), or the live feed is not running.",
        },
        503: {"model": ErrorMessage, "description": "Kafka did not acknowledge the request; retry later."},
    }
    if keys_required:
        responses[401] = {"model": ErrorMessage, "description": "X-API-Key is missing or not one of the keys."}
    router.add_api_route(
        "",
        request_symbol,
        methods=["POST"],
        status_code=status.HTTP_202_ACCEPTED,
        dependencies=[Depends(require_write_key)] if keys_required else [],
        responses=responses,
        summary="Ask the producer to follow a symbol",
    )
    return router
