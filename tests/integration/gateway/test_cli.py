"""``python -m gateway``: the one entry point, as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.integration


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_help_lists_the_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout and "openapi" in result.stdout
    serve_help = _run("serve", "--help")
    assert "--host" in serve_help.stdout and "--port" in serve_help.stdout


def test_openapi_prints_the_document_without_a_server() -> None:
    result = _run("openapi")
    assert result.returncode == 0, result.stderr
    paths = json.loads(result.stdout)["paths"]
    assert {
        "/predictions/{symbol}/latest",
        "/predictions/{symbol}",
        "/candles/{symbol}",
        "/symbols",
        "/models",
        "/health",
        "/metrics",
    } <= set(paths)


def test_serve_answers_on_the_given_port(redis_settings, store_writer, unused_port: int) -> None:
    store_writer.add_predictions(store_writer.prediction("BTCUSDT"))
    # The fixtures put REDIS_URL and REDIS_KEY_PREFIX in the environment the server inherits.
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(unused_port)],
        env={**os.environ, "LOG_FORMAT": "json"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{unused_port}"
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                health = httpx.get(f"{url}/health", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start within 30s"
                time.sleep(0.1)
        assert health.status_code == 200
        assert httpx.get(f"{url}/symbols").json() == {"symbols": ["BTCUSDT"]}
        assert "Tickcast" in httpx.get(url).text
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=15)
    # Structured logs: one JSON object per line, naming the service.
    startup = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(
        record.get("event") == "gateway ready" and record.get("service") == "gateway" for record in startup
    )
