"""``/predictions``: the newest forecast of a symbol and its recent history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status

from gateway.api import examples
from gateway.api.dependencies import STORE_UNAVAILABLE, UNKNOWN_SYMBOL, LatestReads, ModelQuery, Store, SymbolPath
from gateway.api.examples import json_example
from gateway.api.responses import StoredJSONResponse, json_array
from gateway.api.model_choice import ModelChoice, UnknownModel, choose, served_now
from gateway.backends.documents import parse_or_none, valid_documents, with_source
from gateway.backends.store import PredictionStore
from tickcast.contracts import MAX_EPOCH_MS, MIN_EPOCH_MS, Prediction
from tickcast.persistence_baseline import persistence_of

router = APIRouter(prefix="/predictions", tags=["predictions"])

MAX_LIMIT = 1000


async def latest_prediction(symbol: SymbolPath, request: Request, model: ModelQuery = None) -> StoredJSONResponse:
    """The forecast inference made most recently for ``symbol``: by the champion, or by ``model``.

    Served from memory while the gateway's subscription to new predictions is up (each one
    replaces the copy as it is made), from Redis otherwise and at least every
    ``GATEWAY_LATEST_CACHE_TTL_S``."""
    # The hottest endpoint reads the application's state directly: resolving a dependency
    # would cost it about a third of its time (measured for bench/bench_gateway.py).
    latest: LatestReads = request.app.state.latest_reads
    cache, store = latest.cache, latest.store
    if model is not None and (choice := await _chosen(store, model)).kind != "champion":
        return await _latest_of(store, symbol, choice)
    if (cached := cache.get(symbol)) is not None:
        return StoredJSONResponse(cached)
    token = cache.read_token()
    stored = await store.latest_prediction(symbol)
    prediction = parse_or_none(Prediction, stored, symbol) if stored is not None else None
    if prediction is None:
        raise await _no_prediction(store, symbol, "")
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
    model: ModelQuery = None,
) -> StoredJSONResponse:
    """Predictions ordered by ``as_of_ms``, oldest first. An empty list means none in that range."""
    choice = await _chosen(store, model) if model is not None else ModelChoice("champion")
    if choice.kind == "challenger" and choice.version is not None:
        series = await store.model_prediction_history(choice.version, symbol, since, limit)
    else:
        series = await store.prediction_history(symbol, since, limit)
    if not series.symbol_known:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"unknown symbol {symbol!r}: GET /symbols lists the known ones"
        )
    documents = valid_documents(Prediction, series.members, symbol)
    if choice.kind == "persistence":
        documents = [_persistence_document(document) for document in documents]
    return StoredJSONResponse(json_array(documents))


async def _chosen(store: PredictionStore, model: str) -> ModelChoice:
    try:
        return choose(model, served_now(await store.leaderboard()))
    except UnknownModel as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error


async def _no_prediction(store: PredictionStore, symbol: str, of_model: str) -> HTTPException:
    """404: a known symbol with no such prediction yet, or a symbol the store has never seen."""
    detail = (
        f"no prediction{of_model} for symbol {symbol!r} yet"
        if await store.is_known(symbol)
        else f"unknown symbol {symbol!r}: GET /symbols lists the known ones"
    )
    return HTTPException(status.HTTP_404_NOT_FOUND, detail)


async def _latest_of(store: PredictionStore, symbol: str, choice: ModelChoice) -> StoredJSONResponse:
    """The newest prediction of a challenger, or persistence's beside the champion's (Redis, no cache)."""
    if choice.kind == "challenger" and choice.version is not None:
        stored = await store.model_latest_prediction(choice.version, symbol)
    else:
        stored = await store.latest_prediction(symbol)
    prediction = parse_or_none(Prediction, stored, symbol) if stored is not None else None
    if prediction is None:
        raise await _no_prediction(store, symbol, f" of model {choice.version or choice.kind!r}")
    if choice.kind == "persistence":
        return StoredJSONResponse(_persistence_document(stored))
    return StoredJSONResponse(with_source(stored, prediction))


def _persistence_document(stored: bytes) -> bytes:
    return persistence_of(Prediction.parse(stored)).to_json_bytes()


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
