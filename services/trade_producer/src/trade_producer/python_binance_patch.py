"""The one place the trade producer overrides python-binance's internals: the live websocket.

python-binance's ``ReconnectingWebsocket`` ends its read loop on a frame that is not JSON and
reconnects by itself; the live feed needs the opposite of both (see
:class:`FrameKeepingWebsocket`). Its ``BinanceSocketManager`` has no option for the socket
class, so :class:`TradeSocketManager` swaps the class of each socket it builds. Live
SUBSCRIBE requests go through ``socket.ws``, the public websockets connection python-binance
exposes, not through anything here.

What this relies on, checked by ``tests/unit/trade_producer/test_python_binance_patch.py``
against the installed version: ``ReconnectingWebsocket._handle_message(evt)`` (called by the
read loop for each frame), ``ReconnectingWebsocket.MAX_RECONNECTS`` (read by
``_run_reconnect``) and ``BinanceSocketManager._get_socket(path, stream_url, prefix,
is_binary, socket_type)``. The version range below is the one pinned in the service's
``pyproject.toml``; widen both only after the live tests pass on the new version.
"""

from __future__ import annotations

from typing import Any

from binance.ws.reconnecting_websocket import ReconnectingWebsocket
from binance.ws.streams import BinanceSocketManager, BinanceSocketType

PATCHED = (
    "python-binance ReconnectingWebsocket._handle_message, MAX_RECONNECTS, BinanceSocketManager._get_socket"
)
TESTED_VERSIONS = (">=1.0.37", "<1.0.38")

MALFORMED = "__malformed_frame__"  # key of the message a frame that is not JSON becomes


class FrameKeepingWebsocket(ReconnectingWebsocket):
    """python-binance's websocket, changed in two ways.

    A frame that is not JSON is handed over with its raw text instead of ending
    the read loop, so it can be logged and counted while the stream goes on; and
    the socket never reconnects by itself (``MAX_RECONNECTS = 0``): reconnecting
    is the live feed's job, because every reconnect needs a gap fill.
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
