"""Prometheus exposition shared by the services."""

from __future__ import annotations

import structlog
from prometheus_client import start_http_server

log = structlog.get_logger(__name__)

# Buckets for latencies that should stay well under a second.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def serve_metrics(port: int) -> None:
    """Expose ``/metrics`` on ``port``; 0 leaves metrics unexposed (still collected)."""
    if port:
        start_http_server(port)
        log.info("metrics exposed", url=f"http://127.0.0.1:{port}/metrics")
