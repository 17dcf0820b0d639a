"""Canary of trade_producer.python_binance_patch: fails loudly when python-binance changes under it."""

from __future__ import annotations

import inspect
import json

from binance.ws.reconnecting_websocket import ReconnectingWebsocket
from binance.ws.streams import BinanceSocketManager

from support.library_patch import assert_parameters, assert_version_pinned
from trade_producer.python_binance_patch import (
    MALFORMED,
    PATCHED,
    TESTED_VERSIONS,
    FrameKeepingWebsocket,
    TradeSocketManager,
)


def test_python_binance_version_is_the_tested_one() -> None:
    assert_version_pinned(PATCHED, "python-binance", TESTED_VERSIONS, "trade_producer")


def test_what_the_patch_relies_on_is_still_there() -> None:
    assert_parameters(PATCHED, ReconnectingWebsocket._handle_message, ["self", "evt"])
    assert "_handle_message" in inspect.getsource(ReconnectingWebsocket._read_loop), (
        f"{PATCHED}: the read loop no longer hands frames to _handle_message"
    )
    assert isinstance(ReconnectingWebsocket.MAX_RECONNECTS, int), f"{PATCHED}: MAX_RECONNECTS is gone"
    assert "MAX_RECONNECTS" in inspect.getsource(ReconnectingWebsocket._run_reconnect), (
        f"{PATCHED}: reconnecting no longer reads MAX_RECONNECTS"
    )
    assert_parameters(
        PATCHED,
        BinanceSocketManager._get_socket,
        ["self", "path", "stream_url", "prefix", "is_binary", "socket_type"],
    )


def _socket() -> FrameKeepingWebsocket:
    """A socket as python-binance builds it, never connected (only the frame handling is used)."""
    socket = ReconnectingWebsocket("wss://stream.invalid/", path="btcusdt@trade")
    socket.__class__ = FrameKeepingWebsocket
    return socket  # type: ignore[return-value]


def test_a_frame_that_is_not_json_is_kept_with_its_text() -> None:
    socket = _socket()
    assert socket._handle_message(json.dumps({"e": "trade", "t": 7})) == {"e": "trade", "t": 7}
    assert socket._handle_message("not json {") == {MALFORMED: "not json {"}
    assert socket._handle_message(b"\xffbroken") == {MALFORMED: "\ufffdbroken"}


def test_sockets_never_reconnect_by_themselves() -> None:
    assert FrameKeepingWebsocket.MAX_RECONNECTS == 0
    assert ReconnectingWebsocket.MAX_RECONNECTS > 0  # the override is what makes it 0
    assert issubclass(TradeSocketManager, BinanceSocketManager)
