"""Builds the FastAPI application: routes, error answers, startup and shutdown of its clients."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from gateway.api import errors
from gateway.config import GatewaySettings
from gateway.api.dependencies import LatestReads
from gateway.live.fanout import PredictionFanout
from gateway.live.latest_cache import LatestPredictions
from gateway.metrics import RequestMetricsMiddleware
from gateway.live.relay import PredictionRelay
from gateway.api.routes import (
    candles,
    dashboard,
    docs,
    health,
    live,
    models,
    paper,
    prediction_at,
    predictions,
    symbols,
)
from gateway.backends.store import PredictionStore, RedisTimeouts, StoreUnavailable, connect, connection_name
from gateway.backends.past_predictions import PastPredictions, PastPredictionSettings
from gateway.backends.symbol_requests import SymbolRequester
from gateway.live.trade_tail import TradeTail
from tickcast.redis_keys import RedisKeys
from tickcast.symbol_status import SymbolStatusBoard, rebuild_mirror
from tickcast.topics import Topic, TopicNames

log = structlog.get_logger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """
Price predictions made by Tickcast's models, the candles they were made from, and the models
themselves, read from the online store (Redis) that inference keeps up to date.

* **Where the prices come from**: every candle and prediction has a `source`: `binance` (the
  exchange), `replay` (historical exchange data replayed, not current prices), `synthetic`
  (generated for demos: **not market prices**) or `unknown` (stored before sources were recorded).
  The dashboard shows a banner for every source but `binance`.
* **Errors** are JSON `{"detail": "..."}`: an unknown symbol is a `404`, a malformed parameter
  a `422` (with the offending field), Redis not answering a `503`, never a hang.
* **Live feed**: `WS /ws/predictions?symbols=BTCUSDT,ETHUSDT` sends each new prediction as one
  JSON text message (schema: `Prediction`) as soon as inference makes it; without `symbols`,
  every symbol. A malformed filter closes the socket with code 1008 and the reason.
* **Bad requests**: a body that is not JSON at all is a `400`; a JSON body or parameter that breaks the
  schema a `422`; an interval the candle builder does not make a `422` naming the ones it makes.
* **Write endpoints** need an `X-API-Key` header when the gateway is started with `GATEWAY_API_KEYS`
  (and only then does this document declare it); without keys they are open.
* **Following a new symbol** (`POST /symbols`) works while the live feed runs: a replay or synthetic
  feed does not take requests, and the answer is a `409` that says so.
* **Dashboard** at `/`.
"""

TAGS = [
    {"name": "predictions", "description": "Forecasts, newest first or as a page of history."},
    {"name": "candles", "description": "OHLCV candles the forecasts are made from."},
    {"name": "symbols", "description": "Which markets are followed; asking for a new one."},
    {"name": "models", "description": "The served model (champion) and its offline and live metrics."},
    {"name": "operations", "description": "Readiness and Prometheus metrics."},
]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: GatewaySettings = app.state.settings
    keys = RedisKeys(settings.redis.key_prefix)
    timeouts = RedisTimeouts(
        connect_s=settings.redis_connect_timeout_s,
        reply_s=settings.redis_timeout_s,
        max_connections=settings.redis_max_connections,
    )
    app.state.store = PredictionStore(
        connect(settings.redis.url, timeouts, connection_name(keys.prefix, "reads")),
        keys,
    )
    app.state.fanout = PredictionFanout(settings.ws_queue_size)
    app.state.latest = LatestPredictions(settings.latest_cache_ttl_s)
    app.state.relay = PredictionRelay(
        connect(
            settings.redis.url,
            timeouts,
            connection_name(keys.prefix, "relay"),
            health_check_interval_s=10,
            retries=0,
        ),
        keys.predictions_channel(),
        app.state.fanout,
        app.state.latest,
        challengers_channel=keys.challenger_predictions_channel(),
    )
    app.state.latest_reads = LatestReads(app.state.latest, app.state.store)
    app.state.symbol_requester = SymbolRequester(settings.kafka, settings.kafka_timeout_s)
    app.state.symbol_status_board = SymbolStatusBoard(
        settings.kafka, settings.redis, "gateway", timeout_s=settings.kafka_timeout_s, create_topic=False)
    app.state.trade_tail = TradeTail(
        settings.kafka, TopicNames(settings.kafka)(Topic.TRADES), settings.trade_tail, settings.freshness_interval_s
    )
    app.state.relay.start()
    app.state.trade_tail.start()
    threading.Thread(target=_refill_symbol_statuses, args=(settings,), name="symbol-status-refill",
                     daemon=True).start()
    if not settings.api_keys:
        log.warning("no GATEWAY_API_KEYS: write endpoints are open to anyone who can reach the gateway")
    log.info(
        "gateway ready",
        redis=_without_password(settings.redis.url),
        key_prefix=keys.prefix,
        symbol_requests_topic=app.state.symbol_requester.topic,
    )
    try:
        yield
    finally:
        await app.state.relay.stop()
        await app.state.trade_tail.stop()
        await app.state.store.close()
        app.state.symbol_requester.close()
        app.state.symbol_status_board.close()


def _refill_symbol_statuses(settings: GatewaySettings) -> None:
    """Requested symbols' statuses Redis lost (a flush, a restart without its files), back from their topic."""
    try:
        written = rebuild_mirror(settings.kafka, settings.redis, timeout_s=settings.kafka_timeout_s)
    except Exception as error:  # best effort: the broker or Redis away; each stage's next report fills it
        log.warning("symbol statuses not refilled from their topic", error=str(error))
        return
    if written:
        log.info("symbol statuses refilled from their topic", symbols=written)


def _without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{'***@' if at and credentials else ''}{host}"


def _past_predictions(settings: GatewaySettings) -> PastPredictions:
    symbols = tuple(symbol.strip() for symbol in settings.model_symbols.split(",") if symbol.strip())
    return PastPredictions(PastPredictionSettings(
        interval=settings.interval_list[0],
        model_name=settings.model_name,
        default_horizon=settings.horizon,
        model_symbols=symbols,
        klines_dir=settings.klines_dir,
        model_cache_size=settings.model_cache_size,
    ))


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """The gateway for ``settings`` (by default, from the environment)."""
    app = FastAPI(
        title="Tickcast gateway",
        version=version("gateway"),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan,
        # Served by routes.docs with their assets from the project, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings or GatewaySettings()
    app.state.past_predictions = _past_predictions(app.state.settings)
    app.add_exception_handler(StoreUnavailable, errors.store_unavailable)
    app.add_exception_handler(HTTPException, errors.http_error)
    app.add_exception_handler(RequestValidationError, errors.invalid_request)
    app.add_middleware(RequestMetricsMiddleware)
    predictions.add_latest_route(app)
    settings = app.state.settings
    routers = [
        predictions.router,
        prediction_at.router,
        candles.make_router(settings.interval_list),
        symbols.make_router(keys_required=bool(settings.api_keys)),
        *(module.router for module in (models, paper, health, live, dashboard, docs)),
    ]
    for router in routers:
        app.include_router(router)
    app.state.allowed_methods = errors.AllowedMethods([app.router, *routers])
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
