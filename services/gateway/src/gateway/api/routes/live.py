"""``WS /ws/predictions``: every new prediction, as inference makes it, for the symbols asked for."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from fastapi import APIRouter, WebSocket, status

from gateway.live.fanout import BadSymbols, ClientFeed, PredictionFanout, parse_symbol_filter
from gateway.metrics import WS_CLIENTS

router = APIRouter()
log = structlog.get_logger(__name__)


@router.websocket("/ws/predictions")
async def prediction_feed(websocket: WebSocket, symbols: str | None = None) -> None:
    """Each text message is one ``Prediction`` as JSON (the schema of ``GET /predictions/{symbol}/latest``).

    ``symbols`` is a comma-separated filter (``BTCUSDT,ETHUSDT``); without it, every symbol.
    A malformed filter closes the connection with code 1008 and the reason.
    """
    try:
        wanted = parse_symbol_filter(symbols)
    except BadSymbols as exc:
        # Accepted first, so that the client receives the reason in the close frame.
        await websocket.accept()
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=str(exc)[:120])
        return
    fanout: PredictionFanout = websocket.app.state.fanout
    # Registered before the handshake completes: a client that sees the socket open
    # misses no prediction published after that.
    feed = fanout.subscribe(wanted)
    WS_CLIENTS.inc()
    try:
        await websocket.accept()
        log.info("feed client connected", symbols=sorted(wanted) or "all", clients=fanout.client_count)
        await _pump(websocket, feed)
    finally:
        fanout.unsubscribe(feed)
        WS_CLIENTS.dec()
        log.info("feed client gone", clients=fanout.client_count, dropped=feed.dropped)


async def _pump(websocket: WebSocket, feed: ClientFeed) -> None:
    """Send queued predictions until the client leaves (clients only listen; what they send is ignored)."""
    sender = asyncio.create_task(_send_forever(websocket, feed))
    watcher = asyncio.create_task(_wait_for_disconnect(websocket))
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
            # The connection is over either way; how it ended (closed socket, reset) is not a server error.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _send_forever(websocket: WebSocket, feed: ClientFeed) -> None:
    while True:
        await websocket.send_text(await feed.queue.get())


async def _wait_for_disconnect(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
