"""Streams added to an open websocket with Binance's live ``SUBSCRIBE`` request, within its message limit.

Reopening a connection to add a symbol costs a connection attempt (300 per 5 minutes per
IP) and a gap fill for every symbol on it. Binance instead takes
``{"method": "SUBSCRIBE", "params": [<stream>, ...], "id": <n>}`` on the open connection and
answers ``{"result": null, "id": <n>}``, or an error ``{"code": <n>, "msg": ..., "id": <n>}``.
A connection may receive at most 5 messages a second, pings and pongs included, or it is
closed: requests here go at most one per ``min_interval`` seconds and carry every stream
waiting at that moment, so adding many symbols one after another costs few messages.

Pure bookkeeping, no I/O: the connection sends what :meth:`next_request` returns and hands
every response to :meth:`answer`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MIN_REQUEST_INTERVAL_SECONDS = 0.5  # two a second at most: room left for the keep-alive pings and pongs
ANSWER_TIMEOUT_SECONDS = 10.0


class SubscribeRefused(RuntimeError):
    """The exchange refused or never answered a SUBSCRIBE: the connection is reopened with every stream."""


@dataclass
class Subscriptions:
    """The streams of one open connection: those it has, and those asked for."""

    subscribed: set[str]
    min_interval: float = MIN_REQUEST_INTERVAL_SECONDS
    _in_flight: dict[int, tuple[list[str], float]] = field(default_factory=dict)
    _next_id: int = 1
    _last_sent: float = float("-inf")

    def waiting(self, wanted: list[str]) -> list[str]:
        asked = {stream for streams, _sent in self._in_flight.values() for stream in streams}
        return [stream for stream in wanted if stream not in self.subscribed and stream not in asked]

    def seconds_until_allowed(self, now: float) -> float:
        return max(self._last_sent + self.min_interval - now, 0.0)

    def next_request(self, wanted: list[str], now: float) -> str | None:
        """The request to send now for the streams not yet subscribed, or None (nothing waits, or too soon)."""
        streams = self.waiting(wanted)
        if not streams or self.seconds_until_allowed(now) > 0:
            return None
        request_id = self._next_id
        self._next_id += 1
        self._last_sent = now
        self._in_flight[request_id] = (streams, now)
        return json.dumps({"method": "SUBSCRIBE", "params": streams, "id": request_id})

    @staticmethod
    def is_response(message: Any) -> bool:
        return isinstance(message, dict) and "id" in message and ("result" in message or "code" in message
                                                                   or "error" in message)  # fmt: skip

    def answer(self, message: dict[str, Any]) -> list[str]:
        """The streams a response confirms; raises :class:`SubscribeRefused` for an error."""
        request = self._in_flight.pop(message.get("id"), None)  # type: ignore[arg-type]
        if "result" in message and "code" not in message and "error" not in message:
            if request is None:
                return []
            self.subscribed.update(request[0])
            return request[0]
        error = message.get("error", message)
        raise SubscribeRefused(f"SUBSCRIBE refused: code {error.get('code')}: {error.get('msg')}")

    def check_overdue(self, now: float, timeout: float = ANSWER_TIMEOUT_SECONDS) -> None:
        for request_id, (streams, sent) in self._in_flight.items():
            if now - sent > timeout:
                raise SubscribeRefused(f"SUBSCRIBE {request_id} ({len(streams)} streams) unanswered after {timeout:g} s")
