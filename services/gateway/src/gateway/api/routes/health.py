"""``/health`` and ``/metrics``: for the orchestrator and for Prometheus."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.config import GatewaySettings
from gateway.api.dependencies import Store
from gateway.api.freshness import FreshnessRules, assess
from gateway.backends.documents import parse_or_none
from gateway.api.schemas import ErrorMessage, Health
from gateway.live.trade_tail import TradeTail
from tickcast.contracts import Candle
from tickcast.intervals import interval_ms

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    responses={503: {"model": ErrorMessage, "description": "Not ready: Redis does not answer."}},
    summary="Readiness",
)
async def health(request: Request, store: Store) -> Health:
    """Ready when Redis answers a PING (a 503 names what failed otherwise), and says whether the data is fresh:
    per symbol, how long ago its last trade reached the trades topic and how far its newest candle lags.
    Stale data or an unreadable trades topic make it ``degraded``, still a 200 (the API answers), with
    each problem in ``problems``."""
    latency_ms = await store.ping_ms()
    settings: GatewaySettings = request.app.state.settings
    tail: TradeTail = request.app.state.trade_tail
    interval = settings.interval_list[0]
    symbols = sorted(set(await store.symbols()) | set(tail.last))
    stored = await store.newest_candles(symbols, interval)
    candles = {symbol: parse_or_none(Candle, raw, symbol) if raw else None for symbol, raw in stored.items()}
    rules = FreshnessRules(settings.stale_after_s, interval, interval_ms(interval))
    freshness = assess(symbols, dict(tail.last), candles, tail.error, int(time.time() * 1000), rules)
    problems = [f"{item.symbol}: {item.reason}" for item in freshness if item.stale]
    if tail.error is not None:
        problems.insert(0, f"age of the last trades unknown: {tail.error}")
    return Health(
        status="degraded" if problems else "ready",
        problems=problems,
        redis_latency_ms=round(latency_ms, 3),
        live_subscription=request.app.state.relay.listening.is_set(),
        stale_after_s=settings.stale_after_s,
        freshness=freshness,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text exposition.",
        }
    },
    summary="Prometheus metrics",
)
def metrics() -> Response:
    """Request counts and latencies by route, WebSocket clients, relayed predictions, process figures."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
