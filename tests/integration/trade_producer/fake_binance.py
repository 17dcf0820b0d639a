"""A stand-in for Binance on loopback, speaking its REST and combined-stream formats.

Runs an ``aiohttp`` server in a background thread. Its market makes trades for every
listed symbol with consecutive ids; connected websockets get the ones made while
they are connected, so a dropped connection leaves a real gap that only REST can
fill. Tests can drop connections, refuse new ones for a while, answer 429s, and
send malformed or unknown frames.

It also does what the real exchange does and a naive client never meets:

- ``historicalTrades`` is served from a database that lags the stream by ``db_lag_seconds``, or
  stops taking trades for a while (:meth:`FakeBinance.stall_database`); ``/api/v3/trades`` serves the
  last ``memory_trades`` trades from memory, without lag;
- ``serverShutdown`` notice on every combined stream, then the drop after a grace period;
- HTTP 403 (the exchange's web application firewall) and 451 (restricted location) on REST
  and on the websocket handshake;
- a limit of websocket connection attempts per window (Binance: 300 per 5 minutes per IP);
- a ping every ``ping_interval`` seconds, and the connection closed when no pong came back
  within ``pong_timeout`` (Binance: every 20 s, a minute);
- live ``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` requests with Binance's request and
  response JSON, and the limit of 5 incoming messages (pings, pongs, requests) per second, beyond
  which the connection is closed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

WEIGHTS = {"historicalTrades": 25, "trades": 25, "aggTrades": 4, "exchangeInfo": 20, "ping": 1, "time": 1}
# What the exchange's firewall and its location check answer (the 451 text is Binance's own).
WAF_BODY = "<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>"
RESTRICTED_LOCATION = {
    "code": 0,
    "msg": "Service unavailable from a restricted location according to 'b. Eligibility' in "
    "https://www.binance.com/en/terms. Please contact customer service if you believe you received "
    "this message in error.",
}


@dataclass
class RequestLog:
    at: float
    path: str
    query: dict[str, str]
    status: int


@dataclass
class Subscriber:
    socket: web.WebSocketResponse
    streams: set[str]
    opened: float = field(default_factory=time.monotonic)
    last_pong: float = field(default_factory=time.monotonic)
    received: deque[float] = field(default_factory=deque)  # arrival times of incoming messages, last second
    closed_by: str | None = None  # "client", or why the server closed it

    @property
    def symbols(self) -> set[str]:
        return {name.split("@")[0].upper() for name in self.streams if name.endswith("@trade")}


@dataclass
class Market:
    symbol: str
    next_id: int
    price: float
    trades: list[dict[str, Any]] = field(default_factory=list)
    made_at: list[float] = field(default_factory=list)  # monotonic time each trade was made
    database_stalled_at: int | None = None  # the database holds at most this many trades

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
        self.made_at.append(time.monotonic())
        return trade


def stream_frame(symbol: str, trade: dict[str, Any]) -> str:
    data = {
        "e": "trade", "E": trade["time"] + 1, "s": symbol, "t": trade["id"], "p": trade["price"],
        "q": trade["qty"], "T": trade["time"], "m": trade["isBuyerMaker"], "M": True,
    }  # fmt: skip
    return json.dumps({"stream": f"{symbol.lower()}@trade", "data": data})


class FakeBinance:
    def __init__(
        self,
        symbols: dict[str, int],
        db_lag_seconds: float = 0.0,
        memory_trades: int = 1000,
        ping_interval: float | None = None,
        pong_timeout: float = 60.0,
        connections_per_window: int | None = None,
        connection_window_seconds: float = 300.0,
        messages_per_second: int = 5,
    ) -> None:
        """``symbols``: listed symbol -> first trade id. The other knobs are described in the module."""
        self.markets = {
            symbol: Market(symbol, first_id, 100.0 + i)
            for i, (symbol, first_id) in enumerate(symbols.items())
        }
        self.db_lag_seconds = db_lag_seconds
        self.memory_trades = memory_trades
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.connections_per_window = connections_per_window
        self.connection_window_seconds = connection_window_seconds
        self.messages_per_second = messages_per_second
        self.requests: list[RequestLog] = []
        self.connections = 0
        self.closed: list[str] = []  # who closed each finished connection: "client" or the server's reason
        self.subscribe_requests: list[dict[str, Any]] = []
        self.refused_connections = 0
        self.pings_sent = 0
        self._attempts: deque[float] = deque()
        self._subscribers: list[Subscriber] = []
        self._refuse_until = 0.0
        self._access_status: int | None = None
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
            await self._close(subscriber, "exchange stopped")
        if self._runner:
            await self._runner.cleanup()

    # -- market ----------------------------------------------------------------------------------------------

    def trade(self, symbol: str, count: int = 1) -> None:
        """Make ``count`` trades now and publish them to connected streams."""
        self._call(self._trade(symbol, count))

    async def _trade(self, symbol: str, count: int) -> None:
        market = self.markets[symbol]
        stream = f"{symbol.lower()}@trade"
        for _ in range(count):
            trade = market.make_trade(int(time.time() * 1000))
            frame = stream_frame(symbol, trade)
            for subscriber in list(self._subscribers):
                if stream in subscriber.streams and not subscriber.socket.closed:
                    try:
                        await subscriber.socket.send_str(frame)
                    except ConnectionError:
                        pass  # closing under our feet: its trades are for REST now

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
        self._call(self._drop("going away"))

    async def _drop(self, reason: str) -> None:
        for subscriber in list(self._subscribers):
            await self._close(subscriber, reason)

    async def _close(self, subscriber: Subscriber, reason: str) -> None:
        if subscriber.closed_by is None and not subscriber.socket.closed:
            subscriber.closed_by = reason
        await subscriber.socket.close(code=1001, message=reason.encode()[:120])

    def server_shutdown(self, grace_seconds: float) -> None:
        """Send ``serverShutdown`` on every open stream, and drop those still open ``grace_seconds`` later."""
        self._call(self._server_shutdown(grace_seconds))

    async def _server_shutdown(self, grace_seconds: float) -> None:
        notice = json.dumps(
            {"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": int(time.time() * 1000)}}
        )
        noticed = [s for s in self._subscribers if not s.socket.closed]
        for subscriber in noticed:
            await subscriber.socket.send_str(notice)

        async def drop_later() -> None:
            await asyncio.sleep(grace_seconds)
            for subscriber in noticed:
                await self._close(subscriber, "server shut down")

        self._loop.create_task(drop_later())

    def stall_database(self) -> None:
        """The database takes no new trades from now on (those made later are only in memory, if there)."""
        for market in self.markets.values():
            market.database_stalled_at = len(market.trades)

    def resume_database(self) -> None:
        """The stalled database catches up."""
        for market in self.markets.values():
            market.database_stalled_at = None

    def refuse_access(self, status: int | None) -> None:
        """Answer every REST call and websocket handshake with 403 (firewall) or 451 (location); None: stop."""
        self._access_status = status

    def throttle(self, requests: int, retry_after_seconds: int) -> None:
        """Answer the next ``requests`` REST calls with 429 and ``Retry-After``."""
        self._throttled, self._retry_after = requests, retry_after_seconds

    def send_raw(self, text: str) -> None:
        self._call(self._send_raw(text))

    async def _send_raw(self, text: str) -> None:
        for subscriber in list(self._subscribers):
            await subscriber.socket.send_str(text)

    def open_connections(self) -> int:
        return sum(not s.socket.closed for s in self._subscribers)

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

    # -- REST ------------------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        query = dict(request.query)
        response = await self._answer(name, query)
        self.requests.append(RequestLog(time.monotonic(), name, query, response.status))
        return response

    def _refusal(self) -> web.Response | None:
        if self._access_status == 403:
            return web.Response(status=403, text=WAF_BODY, content_type="text/html")
        if self._access_status == 451:
            return web.json_response(RESTRICTED_LOCATION, status=451)
        return None

    async def _answer(self, name: str, query: dict[str, str]) -> web.Response:
        if (refusal := self._refusal()) is not None:
            return refusal
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
            "trades": self._recent_trades,
            "aggTrades": self._agg_trades,
        }.get(name)
        if handler is None:
            return web.json_response({"code": -1000, "msg": "unknown endpoint"}, status=404)
        if name in ("historicalTrades", "trades", "aggTrades") and query.get("symbol") not in self.markets:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400, headers=headers)
        return web.json_response(handler(query), headers=headers)

    def _in_database(self, symbol: str) -> list[dict[str, Any]]:
        """The trades the database holds: those made at least ``db_lag_seconds`` ago."""
        market = self.markets[symbol]
        trades, made_at = list(market.trades), list(market.made_at)
        if market.database_stalled_at is not None:
            trades, made_at = trades[: market.database_stalled_at], made_at[: market.database_stalled_at]
        if self.db_lag_seconds <= 0:
            return trades
        visible_before = time.monotonic() - self.db_lag_seconds
        count = 0
        while count < len(made_at) and made_at[count] <= visible_before:
            count += 1
        return trades[:count]

    def _historical_trades(self, query: dict[str, str]) -> list[dict[str, Any]]:
        trades = self._in_database(query["symbol"])
        limit = min(int(query.get("limit", 500)), 1000)
        if "fromId" not in query:
            return trades[-limit:]
        from_id = int(query["fromId"])
        return [t for t in trades if t["id"] >= from_id][:limit]

    def _recent_trades(self, query: dict[str, str]) -> list[dict[str, Any]]:
        limit = min(int(query.get("limit", 500)), 1000, self.memory_trades)
        return self.all_trades(query["symbol"])[-limit:] if limit > 0 else []

    def _agg_trades(self, query: dict[str, str]) -> list[dict[str, Any]]:
        # One aggregate per trade here: ids a == f == l keep the fake simple and exact.
        trades = self._in_database(query["symbol"])
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

    # -- websocket -------------------------------------------------------------------------------------------

    def _admit_connection(self) -> bool:
        now = time.monotonic()
        while self._attempts and self._attempts[0] <= now - self.connection_window_seconds:
            self._attempts.popleft()
        self._attempts.append(now)
        return self.connections_per_window is None or len(self._attempts) <= self.connections_per_window

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if (refusal := self._refusal()) is not None:
            return refusal
        if not self._admit_connection():
            self.refused_connections += 1
            return web.json_response(
                {"code": -1003, "msg": "Too many connection attempts from this IP."}, status=429
            )
        if time.monotonic() < self._refuse_until:
            return web.Response(status=503, text="try later")
        streams = {name for name in request.query.get("streams", "").split("/") if name}
        socket = web.WebSocketResponse(autoping=False)  # pings and pongs are counted like Binance does
        await socket.prepare(request)
        self.connections += 1
        subscriber = Subscriber(socket, streams)
        self._subscribers.append(subscriber)
        heartbeat = self._loop.create_task(self._heartbeat(subscriber)) if self.ping_interval else None
        try:
            async for message in socket:
                if not self._within_message_rate(subscriber):
                    await self._close(subscriber, "too many messages")
                    break
                if message.type == WSMsgType.PING:
                    await socket.pong(message.data)
                elif message.type == WSMsgType.PONG:
                    subscriber.last_pong = time.monotonic()
                elif message.type == WSMsgType.TEXT:
                    await self._request(subscriber, message.data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            if heartbeat:
                heartbeat.cancel()
            if subscriber.closed_by is None:
                subscriber.closed_by = "client"
            self.closed.append(subscriber.closed_by)
            self._subscribers.remove(subscriber)
        return socket

    def _within_message_rate(self, subscriber: Subscriber) -> bool:
        now = time.monotonic()
        subscriber.received.append(now)
        while subscriber.received and subscriber.received[0] <= now - 1.0:
            subscriber.received.popleft()
        return len(subscriber.received) <= self.messages_per_second

    async def _heartbeat(self, subscriber: Subscriber) -> None:
        assert self.ping_interval is not None
        while not subscriber.socket.closed:
            await asyncio.sleep(self.ping_interval)
            if time.monotonic() - subscriber.last_pong > self.pong_timeout:
                await self._close(subscriber, "no pong")
                return
            self.pings_sent += 1
            await subscriber.socket.ping(str(int(time.time() * 1000)).encode())

    async def _request(self, subscriber: Subscriber, text: str) -> None:
        """Binance's live (un)subscribe requests, answered with its response JSON."""
        try:
            request = json.loads(text)
        except ValueError:
            await subscriber.socket.send_json({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"})
            return
        request_id = request.get("id") if isinstance(request, dict) else None
        method = request.get("method") if isinstance(request, dict) else None
        params = request.get("params", []) if isinstance(request, dict) else []
        if method == "SUBSCRIBE" and isinstance(params, list):
            self.subscribe_requests.append(request)
            subscriber.streams.update(str(name) for name in params)
            await subscriber.socket.send_json({"result": None, "id": request_id})
        elif method == "UNSUBSCRIBE" and isinstance(params, list):
            subscriber.streams.difference_update(str(name) for name in params)
            await subscriber.socket.send_json({"result": None, "id": request_id})
        elif method == "LIST_SUBSCRIPTIONS":
            await subscriber.socket.send_json({"result": sorted(subscriber.streams), "id": request_id})
        else:
            await subscriber.socket.send_json(
                {
                    "code": 2,
                    "msg": f"Invalid request: unknown variant `{method}`, expected one of `SUBSCRIBE`, "
                    "`UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY` at line 1 column 28",
                    "id": request_id,
                }
            )
