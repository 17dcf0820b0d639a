"""``stream`` supervises the faust worker as a child process.

faust cannot ride out a broker restart: its consumer's commit crashes the app on any error of
the commit request (aiokafka's ``NodeNotReadyError`` while the broker is away, with no setting
to retry it), and a crashed faust app ends its worker. A fresh worker process resumes exactly
like one restarted after a kill: from the committed offsets, its candle buffers rebuilt from the
changelog (commits only ever cover stored batches). So the worker runs as a child, restarted
under the shared policy (``tickcast.supervise``, ``RESTART_*``).

The worker's metrics live in the child: it serves them on a private local port and the
supervisor re-exposes them on ``METRICS_PORT`` next to its own (restarts, consumer lag).
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import structlog
from prometheus_client import REGISTRY, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from feature_pipeline import SERVICE
from feature_pipeline.config import Settings
from tickcast.supervise import RestartSettings, python_module_command, supervise_process

log = structlog.get_logger(__name__)

WORKER_METRIC_PREFIX = "feature_pipeline_"  # the worker's own metrics (metrics.py); the rest is the supervisor's


class WorkerMetrics(Collector):
    """Re-exposes the worker's ``feature_pipeline_*`` metrics, scraped from its private port."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"

    def collect(self) -> Iterator[Metric]:
        try:
            with urllib.request.urlopen(self.url, timeout=2.0) as response:  # noqa: S310 (local URL)
                text = response.read().decode()
        except (urllib.error.URLError, OSError):
            return  # the worker is restarting: its metrics are back with it
        for family in text_string_to_metric_families(text):
            if family.name.startswith(WORKER_METRIC_PREFIX):
                yield family


def _free_local_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_worker_metrics(port: int) -> None:
    """In the worker: expose its metrics on the private port its supervisor scrapes."""
    if port:
        start_http_server(port, addr="127.0.0.1")


def run_supervised(settings: Settings) -> int:
    """Run and restart the worker until it stops cleanly or fails too often; its exit code."""
    worker_port = 0
    if settings.metrics_port:
        # Chosen once: every restarted worker serves on the same port the collector reads.
        worker_port = _free_local_port()
        REGISTRY.register(WorkerMetrics(worker_port))
    command = python_module_command("feature_pipeline", "worker", "--metrics-port", str(worker_port))
    return supervise_process(SERVICE, command, RestartSettings().policy())
