"""A stand-in for Binance on loopback, speaking its REST and combined-stream formats.

Runs an ``aiohttp`` server in a background thread. Its market makes trades for every
listed symbol with consecutive ids; connected websockets get the ones made while
they are connected, so a dropped connection leaves a real gap that only REST can
fill. Tests can drop connections, refuse new ones for a while, answer 429s, and
send malformed or unknown frames.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

WEIGHTS = {"historicalTrades": 25, "aggTrades": 4, "exchangeInfo": 20, "ping": 1, "time": 1}


@dataclass
class RequestLog:
    at: float
    path: str
    query: dict[str, str]
    status: int


@dataclass
class Subscriber:
    socket: web.WebSocketResponse
    symbols: set[str]


@dataclass
class Market:
    symbol: str
    next_id: int
    price: float
    trades: list[dict[str, Any]] = field(default_factory=list)

    def make_trade(self, now_ms: int) -> dict[str, Any]:
        self.price = round(self.price * (1.0003 if self.next_id % 3 else 0.9996), 2)
        quantity = round(0.001 * (1 + self.next_id % 7), 8)
        trade = {
            "id": self.next_id,
            "price": f"{self.price:.8f}",
            "qty": f"{quantity:.8f}",
            "quoteQty": f"{self.price * quantity:.8f}",
            "time": now_ms,
            "isBuyerMaker": self.next_id % 2 == 0,
            "isBestMatch": True,
        }
        self.next_id += 1
        self.trades.append(trade)
        return trade


def stream_frame(symbol: str, trade: dict[str, Any]) -> str:
    data = {
        "e": "trade", "E": trade["time"] + 1, "s": symbol, "t": trade["id"], "p": trade["price"],
        "q": trade["qty"], "T": trade["time"], "m": trade["isBuyerMaker"], "M": True,
    }  # fmt: skip
    return json.dumps({"stream": f"{symbol.lower()}@trade", "data": data})


class FakeBinance:
    def __init__(self, symbols: dict[str, int]) -> None:
        """``symbols``: listed symbol -> first trade id."""
        self.markets = {
            symbol: Market(symbol, first_id, 100.0 + i)
            for i, (symbol, first_id) in enumerate(symbols.items())
        }
        self.requests: list[RequestLog] = []
        self.connections = 0
        self._subscribers: list[Subscriber] = []
        self._refuse_until = 0.0
        self._throttled = 0
        self._retry_after = 1
        self._weight = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------------------------

    def __enter__(self) -> FakeBinance:
        self._thread.start()
        self._call(self._serve())
        return self

    def __exit__(self, *_exc: object) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def _call(self, coroutine: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v3/{name}", self._rest)
        app.router.add_get("/stream", self._stream)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        if self._ticker:
            self._ticker.cancel()
        for subscriber in list(self._subscribers):
            await subscriber.socket.close()
        if self._runner:
            await self._runner.cleanup()

    # -- market ----------------------------------------------------------------------------------------------

    def trade(self, symbol: str, count: int = 1) -> None:
        """Make ``count`` trades now and publish them to connected streams."""
        self._call(self._trade(symbol, count))

    async def _trade(self, symbol: str, count: int) -> None:
        market = self.markets[symbol]
        for _ in range(count):
            trade = market.make_trade(int(time.time() * 1000))
            frame = stream_frame(symbol, trade)
            for subscriber in list(self._subscribers):
                if symbol in subscriber.symbols and not subscriber.socket.closed:
                    await subscriber.socket.send_str(frame)

    def run_market(self, trades_per_second: float) -> None:
        """Every listed symbol trades at this rate until :meth:`stop_market`."""

        async def tick() -> None:
            while True:
                for symbol in self.markets:
                    await self._trade(symbol, 1)
                await asyncio.sleep(1 / trades_per_second)

        def start() -> None:
            self._ticker = self._loop.create_task(tick())

        self._loop.call_soon_threadsafe(start)

    def stop_market(self) -> None:
        async def stop() -> None:
            if self._ticker:
                self._ticker.cancel()

        self._call(stop())

    def all_trades(self, symbol: str) -> list[dict[str, Any]]:
        # list() of a list is atomic under the GIL; works after the server stopped too.
        return list(self.markets[symbol].trades)

    # -- faults ----------------------------------------------------------------------------------------------

    def drop_connections(self, refuse_for_seconds: float = 0.0) -> None:
        """Close every stream (as the exchange does) and refuse new ones for a while."""
        self._refuse_until = time.monotonic() + refuse_for_seconds
        self._call(self._drop())

    async def _drop(self) -> None:
        for subscriber in list(self._subscribers):
            await subscriber.socket.close(code=1001, message=b"going away")

    def throttle(self, requests: int, retry_after_seconds: int) -> None:
        """Answer the next ``requests`` REST calls with 429 and ``Retry-After``."""
        self._throttled, self._retry_after = requests, retry_after_seconds

    def send_raw(self, text: str) -> None:
        self._call(self._send_raw(text))

    async def _send_raw(self, text: str) -> None:
        for subscriber in list(self._subscribers):
            await subscriber.socket.send_str(text)

    def wait_for_subscribers(
        self, count: int, timeout: float = 30.0, symbols: set[str] | None = None
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = [
                s
                for s in self._subscribers
                if not s.socket.closed and (symbols is None or symbols <= s.symbols)
            ]
            if len(live) >= count:
                return
            time.sleep(0.05)
        raise TimeoutError(f"{count} stream subscriber(s) did not connect in {timeout}s")

    # -- handlers --------------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        query = dict(request.query)
        response = await self._answer(name, query)
        self.requests.append(RequestLog(time.monotonic(), name, query, response.status))
        return response

    async def _answer(self, name: str, query: dict[str, str]) -> web.Response:
        if self._throttled > 0:
            self._throttled -= 1
            return web.json_response(
                {
                    "code": -1003,
                    "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE.",
                },
                status=429,
                headers={"Retry-After": str(self._retry_after)},
            )
        self._weight += WEIGHTS.get(name, 1)
        headers = {"X-MBX-USED-WEIGHT-1M": str(self._weight)}
        handler: Callable[[dict[str, str]], Any] | None = {
            "ping": lambda q: {},
            "time": lambda q: {"serverTime": int(time.time() * 1000)},
            "exchangeInfo": lambda q: {
                "timezone": "UTC",
                "symbols": [{"symbol": s, "status": "TRADING"} for s in self.markets],
            },
            "historicalTrades": self._historical_trades,
            "aggTrades": self._agg_trades,
        }.get(name)
        if handler is None:
            return web.json_response({"code": -1000, "msg": "unknown endpoint"}, status=404)
        if name in ("historicalTrades", "aggTrades") and query.get("symbol") not in self.markets:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400, headers=headers)
        return web.json_response(handler(query), headers=headers)

    def _historical_trades(self, query: dict[str, str]) -> list[dict[str, Any]]:
        trades = self.markets[query["symbol"]].trades
        limit = min(int(query.get("limit", 500)), 1000)
        if "fromId" not in query:
            return trades[-limit:]
        from_id = int(query["fromId"])
        return [t for t in trades if t["id"] >= from_id][:limit]

    def _agg_trades(self, query: dict[str, str]) -> list[dict[str, Any]]:
        # One aggregate per trade here: ids a == f == l keep the fake simple and exact.
        trades = self.markets[query["symbol"]].trades
        limit = min(int(query.get("limit", 500)), 1000)
        if "fromId" in query:
            selected = [t for t in trades if t["id"] >= int(query["fromId"])]
        elif "startTime" in query:
            selected = [t for t in trades if t["time"] >= int(query["startTime"])]
        else:
            selected = trades[-limit:]
        return [
            {
                "a": t["id"],
                "p": t["price"],
                "q": t["qty"],
                "f": t["id"],
                "l": t["id"],
                "T": t["time"],
                "m": t["isBuyerMaker"],
                "M": True,
            }  # fmt: skip
            for t in selected[:limit]
        ]

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if time.monotonic() < self._refuse_until:
            return web.Response(status=503, text="try later")
        streams = request.query.get("streams", "")
        symbols = {name.split("@")[0].upper() for name in streams.split("/") if name.endswith("@trade")}
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connections += 1
        subscriber = Subscriber(socket, symbols)
        self._subscribers.append(subscriber)
        try:
            async for message in socket:
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            self._subscribers.remove(subscriber)
        return socket
