"""``/symbols``: what the store knows about, and asking the producer to follow a new one.

``POST /symbols`` needs an ``X-API-Key`` exactly when the gateway is started with
``GATEWAY_API_KEYS``; the OpenAPI document declares the key (and the 401) only then, so the
document and the behaviour agree either way. A request is put on the topic only while a trade
producer listens there (the live feed, and the synthetic feed, which adds the symbol labelled
synthetic): otherwise it is a 409 that says so, instead of a 202 for a symbol that would never
appear. ``GET /symbols/{symbol}/status`` follows it: each stage reports onto the compacted
``symbol-status`` topic, mirrored in Redis.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status

from gateway.api.auth import require_write_key
from gateway.api.dependencies import STORE_UNAVAILABLE, Store, SymbolPath
from gateway.metrics import SYMBOL_REQUESTS
from gateway.api.schemas import (
    ErrorMessage,
    SymbolList,
    SymbolRequestAccepted,
    SymbolRequestBody,
    SymbolStatusView,
)
from gateway.backends.store import StoreUnavailable
from gateway.backends.symbol_requests import NoListener, RequestNotDelivered, SymbolRequester
from tickcast.contracts import ContractError, SymbolStatus
from tickcast.symbol_status import SymbolStatusBoard


async def _requester(request: Request) -> SymbolRequester:
    return request.app.state.symbol_requester


async def _board(request: Request) -> SymbolStatusBoard:
    return request.app.state.symbol_status_board


async def list_symbols(store: Store) -> SymbolList:
    """Every symbol that has candles or predictions in the store, sorted."""
    return SymbolList(symbols=await store.symbols())


async def request_symbol(
    body: SymbolRequestBody,
    store: Store,
    requester: Annotated[SymbolRequester, Depends(_requester)],
    board: Annotated[SymbolStatusBoard, Depends(_board)],
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
    requested_at_ms = int(time.time() * 1000)
    if not already_known:
        # Written before the request is produced: the producer's first report must come after it.
        await asyncio.to_thread(board.report, body.symbol, "requested", requested_at_ms=requested_at_ms,
                                detail="on the symbol-requests topic; waiting for the trade producer")
    try:
        sent = await requester.request(body.symbol, body.lookback_minutes, requested_at_ms)
    except NoListener as exc:
        SYMBOL_REQUESTS.labels("no_listener").inc()
        await _refused(board, body.symbol, already_known, str(exc))
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except RequestNotDelivered as exc:
        SYMBOL_REQUESTS.labels("not_delivered").inc()
        await _refused(board, body.symbol, already_known, f"{exc}; ask again later")
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    SYMBOL_REQUESTS.labels("accepted").inc()
    return SymbolRequestAccepted(
        symbol=sent.symbol,
        requested_at_ms=sent.requested_at_ms,
        lookback_minutes=sent.lookback_minutes,
        already_known=already_known,
    )


async def _refused(board: SymbolStatusBoard, symbol: str, already_known: bool, reason: str) -> None:
    if not already_known:
        await asyncio.to_thread(board.report, symbol, "refused", detail=reason)


def status_view(raw: bytes, now_ms: int) -> SymbolStatusView:
    """The stored record with how long the symbol has been in its stage, as of ``now_ms``."""
    record = SymbolStatus.parse(raw)
    return SymbolStatusView(**record.model_dump(exclude={"schema_version"}),
                            in_stage_s=round(max(0, now_ms - record.stage_since_ms) / 1000, 1))


async def symbol_status(symbol: SymbolPath, store: Store) -> SymbolStatusView:
    """Where a requested symbol stands: requested, validating, backfilling (with progress), streaming,
    warming_features, serving (with the model), or refused (with why)."""
    raw = await store.symbol_status(symbol)
    if raw is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no status for {symbol}: it was never requested "
                            "(symbols started with the stack have no request to follow)")
    try:
        return status_view(raw, int(time.time() * 1000))
    except ContractError as exc:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, f"stored status unreadable: {exc}") from exc


async def symbol_statuses(store: Store) -> list[SymbolStatusView]:
    """Every requested symbol's status, newest update first (the dashboard's list)."""
    now_ms = int(time.time() * 1000)
    views = []
    for raw in await store.symbol_statuses():
        try:
            views.append(status_view(raw, now_ms))
        except ContractError:
            continue  # a record of another schema: GET /symbols/{symbol}/status names the error
    return sorted(views, key=lambda view: view.updated_at_ms, reverse=True)


def make_router(keys_required: bool) -> APIRouter:
    """The routes; with ``keys_required`` the POST checks (and documents) ``X-API-Key``."""
    router = APIRouter(prefix="/symbols", tags=["symbols"])
    router.add_api_route("", list_symbols, methods=["GET"], responses=STORE_UNAVAILABLE, summary="Known symbols")
    router.add_api_route("/status", symbol_statuses, methods=["GET"], responses=STORE_UNAVAILABLE,
                         summary="Every requested symbol's status")
    router.add_api_route(
        "/{symbol}/status", symbol_status, methods=["GET"],
        responses={**STORE_UNAVAILABLE, 404: {"model": ErrorMessage, "description": "The symbol was never requested."}},
        summary="Where a requested symbol stands",
    )
    responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorMessage, "description": "The body is not JSON at all."},
        409: {
            "model": ErrorMessage,
            "description": "No trade producer takes symbol requests now: the feed replays files (it streams "
            "the symbols it was started with), or no producer is running.",
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
