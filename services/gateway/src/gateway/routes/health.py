"""``/health`` and ``/metrics``: for the orchestrator and for Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.dependencies import Store
from gateway.schemas import ErrorMessage, Health

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    responses={503: {"model": ErrorMessage, "description": "Not ready: Redis does not answer."}},
    summary="Readiness",
)
async def health(request: Request, store: Store) -> Health:
    """Ready only when Redis answers a PING; a 503 names what failed."""
    latency_ms = await store.ping_ms()
    return Health(
        redis_latency_ms=round(latency_ms, 3), live_subscription=request.app.state.relay.listening.is_set()
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
