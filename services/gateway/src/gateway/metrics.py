"""Prometheus metrics of the gateway, and the ASGI middleware that records every HTTP request."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickcast.metrics import LATENCY_BUCKETS

HTTP_REQUESTS = Counter(
    "gateway_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "gateway_http_request_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
WS_CLIENTS = Gauge("gateway_ws_clients", "WebSocket clients connected to the prediction feed.")
PREDICTIONS_RELAYED = Counter(
    "gateway_predictions_relayed_total",
    "Predictions received on the Redis channel and fanned out.",
)
PREDICTIONS_REFUSED = Counter(
    "gateway_predictions_refused_total",
    "Messages on the Redis channel that were not a valid Prediction.",
)
WS_MESSAGES_DROPPED = Counter(
    "gateway_ws_messages_dropped_total",
    "Predictions dropped because a WebSocket client read too slowly.",
)
RELAY_RECONNECTS = Counter(
    "gateway_relay_reconnects_total",
    "Times the Redis subscription was lost and re-established.",
)
SYMBOL_REQUESTS = Counter(
    "gateway_symbol_requests_total",
    "POST /symbols requests, by outcome.",
    ["outcome"],
)


class RequestMetricsMiddleware:
    """Counts and times HTTP requests, labelled by route template (``/predictions/{symbol}``).

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware would add a task per request.
    Unmatched paths share one label so that scanners cannot inflate the series count.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            counter, latency = self._series(scope["method"], label, status)
            counter.inc()
            latency.observe(time.perf_counter() - started)

    def _series(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        # labels() takes a lock and builds a key on every call; the set of series is small, so keep them.
        key = (method, route, status)
        if (series := self._children.get(key)) is None:
            series = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(method, route))
            self._children[key] = series
        return series
