"""Historical candle loaders: the REST loader through python-binance against a loopback exchange."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from binance.client import Client

from tickcast.binance_files.klines import read_kline_files
from tickcast.store.loaders import DumpFileLoader, RestLoader


@pytest.fixture
def loopback_exchange(kline_files: Callable[[str], list[Path]]) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Serves ``/api/v3/klines`` from real kline files the way the exchange pages them."""
    files = kline_files("BTCUSDT-1m-2024-01-0[1-3].zip")
    rows = []
    for path in files:
        frame = read_kline_files([path])
        rows += [
            [
                int(r.open_time_ms),
                f"{r.open:.8f}",
                f"{r.high:.8f}",
                f"{r.low:.8f}",
                f"{r.close:.8f}",
                f"{r.volume:.8f}",
                int(r.close_time_ms),
                f"{r.quote_volume:.8f}",
                int(r.trade_count),
                f"{r.taker_buy_base_volume:.8f}",
                f"{r.taker_buy_quote_volume:.8f}",
                "0",
            ]
            for r in frame.itertuples()
        ]
    requests: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            requests.append({"path": url.path, **query})
            start = int(query.get("startTime", 0))
            end = int(query.get("endTime", 2**62))
            limit = int(query.get("limit", 500))
            page = [row for row in rows if start <= row[0] <= end][:limit]
            body = json.dumps(page).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api", requests
    finally:
        server.shutdown()


def test_rest_loader_pages_the_kline_endpoint_into_the_same_frame_as_the_dump_files(
    loopback_exchange: tuple[str, list[dict[str, str]]], klines_dir: Path
) -> None:
    url, requests = loopback_exchange
    client = Client(ping=False)
    client.API_URL = url
    loaded = RestLoader(client).load("BTCUSDT", "1m", date(2024, 1, 2), date(2024, 1, 3))
    from_files = DumpFileLoader(klines_dir.parents[4]).load(
        "BTCUSDT", "1m", date(2024, 1, 2), date(2024, 1, 3)
    )
    assert len(loaded) == 2 * 1440
    pd.testing.assert_frame_equal(loaded, from_files)
    kline_requests = [r for r in requests if r["path"] == "/api/v3/klines"]
    assert len(kline_requests) >= 3  # paged 1,000 at a time
    assert all(r["symbol"] == "BTCUSDT" and r["interval"] == "1m" for r in kline_requests)


def test_dump_file_loader_says_which_files_are_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="ETHUSDT-1m"):
        DumpFileLoader(tmp_path).load("ETHUSDT", "1m", date(2024, 1, 1), date(2024, 1, 2))
