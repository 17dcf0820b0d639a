"""Live trades: multiplexed Binance websocket streams, reconnected and gap-filled so nothing is lost.

Symbols are spread over connections of ``streams_per_connection`` streams each; a
symbol added later joins an open connection by a SUBSCRIBE request
(:mod:`trade_producer.live.subscriptions`), and connection attempts stay within the exchange's
limit (:mod:`trade_producer.live.connection_budget`). A
connection is reopened with exponential back-off and jitter after any failure, and
proactively before Binance's 24-hour limit. Gaps are found by trade id rather than
by tracking disconnects: whenever a symbol's next live trade id is not the last
produced id + 1 (after a reconnect, a restart, or a frame the exchange never sent),
the missing ids are fetched from REST first, so the topic holds each trade once
and in id order. The exchange's trade database can lag its stream: a fill asks again
until every missing id arrived or the deadline passed, and a hole that remains is
counted and recorded on ``trades.dlq`` (:mod:`trade_producer.exchange.range_fill`). Meanwhile
that symbol's live trades wait in order; the other symbols of the connection go on.

Nothing here may block the event loop: Binance pings every 20 s and drops a connection
that has not answered within a minute.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import structlog
from websockets.exceptions import InvalidStatus

from tickcast.contracts import Trade
from tickcast.rate_limited_log import RateLimitedLog
from trade_producer.exchange.binance_format import RejectedInput, trade_from_stream
from trade_producer.config import Settings
from trade_producer.live.connection_budget import ConnectionBudget
from trade_producer.dedupe import id_space
from trade_producer.exchange.holes import HoleRecorder
from trade_producer.metrics import GAP_FILL_TRADES, RECONNECTS, REJECTED_MESSAGES
from trade_producer.python_binance_patch import MALFORMED, TradeSocketManager
from trade_producer.exchange.range_fill import RangeEnd, RangeFiller
from trade_producer.exchange.rest import ExchangeRefused, ExchangeRest, backoff_seconds, refusal
from trade_producer.sink import TradeSink
from trade_producer.live.subscriptions import SubscribeRefused, Subscriptions

log = structlog.get_logger(__name__)
# Every rejected frame is counted (rejected_messages_total); its warning is folded, per reason, per interval.
REJECTED_LOG = RateLimitedLog(log, "stream messages rejected")

RECV_SLICE_SECONDS = 0.5  # how often a quiet connection checks for stop, age and symbol changes


def is_server_shutdown(message: Any) -> bool:
    """Binance's notice that this connection's server is going away.

    On a combined stream: ``{"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": ...}}``
    (a raw stream sends the bare data).
    """
    if not isinstance(message, dict):
        return False
    data = message.get("data", message)
    return isinstance(data, dict) and data.get("e") == "serverShutdown"


class StreamBroken(RuntimeError):
    """The websocket reported an error or closed; the connection must be reopened."""


@dataclass
class Shard:
    """The symbols of one websocket connection."""

    index: int
    symbols: list[str]
    added: asyncio.Event = field(default_factory=asyncio.Event)  # symbols wait to be subscribed

    @property
    def streams(self) -> list[str]:
        return [f"{symbol.lower()}@trade" for symbol in self.symbols]


class LiveStreams:
    def __init__(
        self, settings: Settings, rest: ExchangeRest, sink: TradeSink, stop: asyncio.Event, dead_letter_topic: str
    ) -> None:
        self._settings = settings
        self._rest = rest
        self._sink = sink
        self._stop = stop
        self._shards: list[Shard] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._rng = random.Random()
        self._failure: BaseException | None = None
        self._failed = asyncio.Event()
        self._held: dict[str, deque[Trade]] = {}  # symbols being gap-filled -> their live trades meanwhile
        self._fills: set[asyncio.Task[None]] = set()
        self._holes = HoleRecorder(sink, dead_letter_topic)
        self._filler = RangeFiller(rest, sink, self._holes, settings.gap_fill_deadline_seconds)
        self._budget = ConnectionBudget(settings.stream_connections_per_5_minutes)

    @property
    def filler(self) -> RangeFiller:
        """How this process fills ranges of trades from REST (the control topic's backfills use it too)."""
        return self._filler

    @property
    def symbols(self) -> set[str]:
        return {symbol for shard in self._shards for symbol in shard.symbols}

    async def run(self, symbols: list[str]) -> None:
        """Stream until ``stop`` is set."""
        self.add_symbols(symbols)
        waits = [asyncio.create_task(self._stop.wait()), asyncio.create_task(self._failed.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        self._stop.set()
        # Connections notice the stop within RECV_SLICE_SECONDS and close cleanly; cancel stragglers.
        _done, pending = await asyncio.wait(self._tasks, timeout=RECV_SLICE_SECONDS * 10)
        for task in [*pending, *self._fills]:
            task.cancel()  # a fill cut short records nothing: the next start resumes from the topic
        await asyncio.gather(*self._tasks, *self._fills, return_exceptions=True)
        if self._failure is not None:
            raise self._failure

    def _fail(self, error: BaseException) -> None:
        """Stop every connection and make :meth:`run` raise ``error`` (the first one wins)."""
        if self._failure is None:
            self._failure = error
        self._failed.set()

    def add_symbol(self, symbol: str) -> bool:
        """Stream ``symbol`` too; False if already streamed."""
        return bool(self.add_symbols([symbol]))

    def add_symbols(self, symbols: list[str]) -> list[str]:
        """Stream these symbols too, all at once; returns those that were new.

        They join a connection with room, by a SUBSCRIBE request on it when it is open (no
        reconnect, no gap fill for the others); a new connection opens only when every one is full.
        """
        added: list[str] = []
        for symbol in symbols:
            if symbol in self.symbols:
                continue
            shard = next((s for s in self._shards if len(s.symbols) < self._settings.streams_per_connection), None)
            if shard is None:
                shard = Shard(index=len(self._shards), symbols=[symbol])
                self._shards.append(shard)
                self._tasks.append(asyncio.create_task(self._connection(shard), name=f"stream-{shard.index}"))
            else:
                shard.symbols.append(symbol)
                shard.added.set()
            added.append(symbol)
            log.info("symbol streamed", symbol=symbol, connection=shard.index)
        return added

    async def _connection(self, shard: Shard) -> None:
        failures = 0
        reason: str | None = None
        while not self._stop.is_set():
            if reason is not None:
                RECONNECTS.labels(reason).inc()
            manager = TradeSocketManager(self._rest.client, max_queue_size=self._settings.socket_queue_size)
            manager.STREAM_URL = self._settings.binance_stream_url
            await self._within_connection_budget(shard)
            if self._stop.is_set():
                return
            streams = list(shard.streams)
            try:
                async with manager.multiplex_socket(streams) as socket:
                    log.info("stream connected", connection=shard.index, symbols=len(streams))
                    failures = 0
                    reason = await self._read(socket, shard, Subscriptions(set(streams)))
                    if socket.ws is not None:
                        # Closing first ends python-binance's read loop now, not at its next frame.
                        await socket.ws.close()
            except ExchangeRefused as error:  # from a gap fill: no retry can help
                self._fail(error)
                return
            except InvalidStatus as error:
                status = error.response.status_code
                body = error.response.body.decode(errors="replace") if error.response.body else ""
                if refused := refusal(status, "websocket handshake", body):
                    self._fail(refused)
                    return
                reason = "disconnect"
                failures += 1
                await self._back_off(shard, failures, error)
            except Exception as error:  # any failure of the connection means: back off and reconnect
                reason = "disconnect"
                failures += 1
                await self._back_off(shard, failures, error)
            else:
                if reason != "stop":
                    log.info("stream reconnecting", connection=shard.index, reason=reason)

    async def _back_off(self, shard: Shard, failures: int, error: BaseException) -> None:
        delay = backoff_seconds(
            failures - 1, self._settings.reconnect_initial_seconds, self._settings.reconnect_max_seconds, self._rng
        )
        log.warning(
            "stream disconnected, reconnecting",
            connection=shard.index,
            error=f"{type(error).__name__}: {error}",
            retry_in_s=round(delay, 2),
            attempt=failures,
        )
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=delay)
        except TimeoutError:
            pass

    async def _within_connection_budget(self, shard: Shard) -> None:
        wait = self._budget.wait_seconds(time.monotonic())
        if wait > 0:
            log.warning(
                "connection attempts at the exchange's limit, waiting",
                connection=shard.index, seconds=round(wait, 1), limit=self._budget.limit,
            )  # fmt: skip
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=wait)
            except TimeoutError:
                pass
        self._budget.spend(time.monotonic())

    async def _read(self, socket: ReconnectingWebsocket, shard: Shard, subscriptions: Subscriptions) -> str:
        """Handle frames until the connection must be reopened; returns why."""
        opened = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now - opened >= self._settings.connection_max_age_seconds:
                return "max_age"
            timeout = RECV_SLICE_SECONDS
            try:
                subscriptions.check_overdue(now)
                if shard.added.is_set():
                    timeout = await self._subscribe(socket, shard, subscriptions, now)
            except SubscribeRefused as refused:
                log.warning("reopening the connection with every stream", connection=shard.index, error=str(refused))
                return "subscribe_refused"
            try:
                message = await asyncio.wait_for(socket.recv(), timeout=timeout)
            except TimeoutError:
                self._sink.poll()
                continue
            if Subscriptions.is_response(message):
                try:
                    confirmed = subscriptions.answer(message)
                except SubscribeRefused as refused:
                    log.warning("reopening the connection with every stream", connection=shard.index, error=str(refused))
                    return "subscribe_refused"
                if confirmed:
                    log.info("streams subscribed on the open connection", connection=shard.index, streams=confirmed)
                continue
            if is_server_shutdown(message):
                # Notice ahead of the drop: reconnect now (no back-off); the gap fill covers the switch.
                log.info("exchange announced a server shutdown, reconnecting now", connection=shard.index)
                return "server_shutdown"
            await self._handle(message)
        return "stop"

    async def _subscribe(
        self, socket: ReconnectingWebsocket, shard: Shard, subscriptions: Subscriptions, now: float
    ) -> float:
        """Send a SUBSCRIBE for the symbols added since; returns how long the next read may wait."""
        wanted = shard.streams
        if not subscriptions.waiting(wanted):
            shard.added.clear()  # all asked for; the answers come as messages
            return RECV_SLICE_SECONDS
        request = subscriptions.next_request(wanted, now)
        if request is None:  # too soon after the last request: come back when allowed
            return max(subscriptions.seconds_until_allowed(now), 0.01)
        if socket.ws is None:
            raise SubscribeRefused("the connection closed before SUBSCRIBE could be sent")
        await socket.ws.send(request)
        return min(RECV_SLICE_SECONDS, subscriptions.min_interval)

    async def _handle(self, message: Any) -> None:
        if isinstance(message, dict) and message.get("e") == "error":
            raise StreamBroken(f"{message.get('type')}: {message.get('m')}")
        if isinstance(message, dict) and MALFORMED in message:
            self._reject("malformed frame", message[MALFORMED])
            return
        try:
            trade = trade_from_stream(message)
        except RejectedInput as rejected:
            self._reject(rejected.reason, rejected.payload, detail=str(rejected))
            return
        await self._accept(trade)

    async def _accept(self, trade: Trade) -> None:
        """Produce a live trade in id order: behind the fill of its symbol's gap, if one is running."""
        held = self._held.get(trade.symbol)
        if held is not None:
            held.append(trade)  # the fill task produces it once the gap before it is settled
            return
        last_id = self._sink.marks.get(id_space(trade.symbol, aggregate=False))
        if last_id is not None and trade.trade_id > last_id + 1:
            # Filled in a task of its own, so other symbols on this connection keep streaming.
            self._held[trade.symbol] = deque([trade])
            task = asyncio.create_task(self._fill_then_release(trade.symbol), name=f"fill-{trade.symbol}")
            self._fills.add(task)
            task.add_done_callback(self._fill_done)
            return
        await self._sink.send_async(trade)

    def _fill_done(self, task: asyncio.Task[None]) -> None:
        self._fills.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self._fail(error)  # 403/451 or a bug: no retry can help

    async def _fill_then_release(self, symbol: str) -> None:
        held = self._held[symbol]
        space = id_space(symbol, aggregate=False)
        try:
            while held:
                trade = held[0]
                last_id = self._sink.marks.get(space)
                if last_id is not None and trade.trade_id > last_id + 1:
                    await self._fill_gap(symbol, last_id, trade.trade_id, held)
                held.popleft()
                await self._sink.send_async(trade)
        finally:
            del self._held[symbol]  # no await between the last check of ``held`` and this

    async def _fill_gap(self, symbol: str, last_id: int, next_id: int, held: deque[Trade]) -> None:
        missing = next_id - last_id - 1
        if missing > self._settings.gap_fill_max_trades:
            why = f"the gap is larger than TRADE_PRODUCER_GAP_FILL_MAX_TRADES ({self._settings.gap_fill_max_trades})"
            await self._holes.record(symbol, last_id + 1, next_id - 1, "gap_fill", why)
            return
        produced_before = self._sink.produced
        hold_limit = self._settings.gap_fill_hold_trades
        await self._filler.fill(
            symbol, last_id + 1, RangeEnd(before_id=next_id), "gap_fill", give_up=lambda: len(held) > hold_limit
        )
        filled = self._sink.produced - produced_before
        GAP_FILL_TRADES.labels(symbol).inc(filled)
        log.info("gap filled", symbol=symbol, after_trade_id=last_id, before_trade_id=next_id, trades=filled)

    def _reject(self, reason: str, payload: Any, detail: str | None = None) -> None:
        REJECTED_MESSAGES.labels("live", reason).inc()
        REJECTED_LOG.record(reason, detail=detail, raw=payload)
