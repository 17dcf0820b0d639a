"""Live trades: multiplexed Binance websocket streams, reconnected and gap-filled so nothing is lost.

Symbols are spread over connections of ``streams_per_connection`` streams each. A
connection is reopened with exponential back-off and jitter after any failure, and
proactively before Binance's 24-hour limit. Gaps are found by trade id rather than
by tracking disconnects: whenever a symbol's next live trade id is not the last
produced id + 1 (after a reconnect, a restart, or a frame the exchange never sent),
the missing ids are fetched from REST first, so the topic holds each trade once
and in id order.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import structlog
from binance.ws.reconnecting_websocket import ReconnectingWebsocket
from binance.ws.streams import BinanceSocketManager, BinanceSocketType

from tickcast.rate_limited_log import RateLimitedLog
from trade_producer.binance_format import RejectedInput, trade_from_stream
from trade_producer.config import Settings
from trade_producer.dedupe import id_space
from trade_producer.metrics import GAP_FILL_TRADES, RECONNECTS, REJECTED_MESSAGES
from trade_producer.rest import ExchangeRest, backoff_seconds
from trade_producer.sink import TradeSink

log = structlog.get_logger(__name__)
# Every rejected frame is counted (rejected_messages_total); its warning is folded, per reason, per interval.
REJECTED_LOG = RateLimitedLog(log, "stream messages rejected")

MALFORMED = "__malformed_frame__"
RECV_SLICE_SECONDS = 0.5  # how often a quiet connection checks for stop, age and symbol changes


class FrameKeepingWebsocket(ReconnectingWebsocket):
    """python-binance's websocket, changed in two ways.

    A frame that is not JSON is handed over with its raw text instead of ending
    the read loop, so it can be logged and counted while the stream goes on; and
    the socket never reconnects by itself (``MAX_RECONNECTS = 0``): reconnecting
    is :class:`LiveStreams`' job, because every reconnect needs a gap fill.
    """

    MAX_RECONNECTS = 0

    def _handle_message(self, evt: Any) -> Any:
        try:
            return super()._handle_message(evt)
        except (ValueError, TypeError):
            text = evt.decode(errors="replace") if isinstance(evt, bytes) else str(evt)
            return {MALFORMED: text}


class TradeSocketManager(BinanceSocketManager):
    """A socket manager whose sockets are :class:`FrameKeepingWebsocket`."""

    def _get_socket(
        self,
        path: str,
        stream_url: str | None = None,
        prefix: str = "ws/",
        is_binary: bool = False,
        socket_type: BinanceSocketType = BinanceSocketType.SPOT,
    ) -> ReconnectingWebsocket:
        socket = super()._get_socket(path, stream_url, prefix, is_binary, socket_type)
        socket.__class__ = FrameKeepingWebsocket  # same state, two behaviours changed (see above)
        return socket


class StreamBroken(RuntimeError):
    """The websocket reported an error or closed; the connection must be reopened."""


@dataclass
class Shard:
    """The symbols of one websocket connection."""

    index: int
    symbols: list[str]
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def streams(self) -> list[str]:
        return [f"{symbol.lower()}@trade" for symbol in self.symbols]


class LiveStreams:
    def __init__(self, settings: Settings, rest: ExchangeRest, sink: TradeSink, stop: asyncio.Event) -> None:
        self._settings = settings
        self._rest = rest
        self._sink = sink
        self._stop = stop
        self._shards: list[Shard] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._rng = random.Random()

    @property
    def symbols(self) -> set[str]:
        return {symbol for shard in self._shards for symbol in shard.symbols}

    async def run(self, symbols: list[str]) -> None:
        """Stream until ``stop`` is set."""
        for symbol in symbols:
            self.add_symbol(symbol)
        await self._stop.wait()
        # Connections notice the stop within RECV_SLICE_SECONDS and close cleanly; cancel stragglers.
        _done, pending = await asyncio.wait(self._tasks, timeout=RECV_SLICE_SECONDS * 10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def add_symbol(self, symbol: str) -> bool:
        """Stream ``symbol`` too; its connection is reopened to subscribe. False if already streamed."""
        if symbol in self.symbols:
            return False
        shard = next(
            (s for s in self._shards if len(s.symbols) < self._settings.streams_per_connection), None
        )
        if shard is None:
            shard = Shard(index=len(self._shards), symbols=[symbol])
            self._shards.append(shard)
            self._tasks.append(asyncio.create_task(self._connection(shard), name=f"stream-{shard.index}"))
        else:
            shard.symbols.append(symbol)
            shard.changed.set()
        log.info("symbol streamed", symbol=symbol, connection=shard.index)
        return True

    async def _connection(self, shard: Shard) -> None:
        failures = 0
        reason: str | None = None
        while not self._stop.is_set():
            if reason is not None:
                RECONNECTS.labels(reason).inc()
            manager = TradeSocketManager(self._rest.client, max_queue_size=self._settings.socket_queue_size)
            manager.STREAM_URL = self._settings.binance_stream_url
            shard.changed.clear()
            try:
                async with manager.multiplex_socket(shard.streams) as socket:
                    log.info("stream connected", connection=shard.index, symbols=len(shard.symbols))
                    failures = 0
                    reason = await self._read(socket, shard)
                    if socket.ws is not None:
                        # Closing first ends python-binance's read loop now, not at its next frame.
                        await socket.ws.close()
            except Exception as error:  # any failure of the connection means: back off and reconnect
                reason = "disconnect"
                delay = backoff_seconds(
                    failures,
                    self._settings.reconnect_initial_seconds,
                    self._settings.reconnect_max_seconds,
                    self._rng,
                )
                failures += 1
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
            else:
                if reason != "stop":
                    log.info("stream reconnecting", connection=shard.index, reason=reason)

    async def _read(self, socket: ReconnectingWebsocket, shard: Shard) -> str:
        """Handle frames until the connection must be reopened; returns why."""
        opened = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - opened >= self._settings.connection_max_age_seconds:
                return "max_age"
            if shard.changed.is_set():
                return "symbols_changed"
            try:
                message = await asyncio.wait_for(socket.recv(), timeout=RECV_SLICE_SECONDS)
            except TimeoutError:
                self._sink.poll()
                continue
            await self._handle(message)
        return "stop"

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
        last_id = self._sink.marks.get(id_space(trade.symbol, aggregate=False))
        if last_id is not None and trade.trade_id > last_id + 1:
            await self._fill_gap(trade.symbol, last_id, trade.trade_id)
        self._sink.send(trade)

    async def _fill_gap(self, symbol: str, last_id: int, next_id: int) -> None:
        missing = next_id - last_id - 1
        if missing > self._settings.gap_fill_max_trades:
            log.error(
                "gap too large to fill from REST; run a backfill for it",
                symbol=symbol, after_trade_id=last_id, before_trade_id=next_id, missing=missing,
            )  # fmt: skip
            return
        filled = 0
        async for page in self._rest.trades_from(symbol, last_id + 1, "gap_fill", before_id=next_id):
            for trade in page:
                filled += self._sink.send(trade)
        GAP_FILL_TRADES.labels(symbol).inc(filled)
        log.info("gap filled", symbol=symbol, after_trade_id=last_id, before_trade_id=next_id, trades=filled)

    def _reject(self, reason: str, payload: Any, detail: str | None = None) -> None:
        REJECTED_MESSAGES.labels("live", reason).inc()
        REJECTED_LOG.record(reason, detail=detail, raw=payload)
