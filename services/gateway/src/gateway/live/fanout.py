"""Hands each new prediction to every WebSocket client that asked for its symbol (no I/O here).

One Redis subscription per process feeds :meth:`PredictionFanout.deliver`; each
client reads its own bounded queue, so a slow client loses its oldest
predictions instead of holding up the others.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

SYMBOL_PATTERN = r"^[A-Z0-9]{2,30}$"


class BadSymbols(ValueError):
    """The ``symbols`` filter of a WebSocket request is malformed."""


def parse_symbol_filter(text: str | None, max_symbols: int = 100) -> frozenset[str]:
    """``"BTCUSDT,ETHUSDT"`` -> the set of symbols; empty or missing means every symbol."""
    if not text or not text.strip():
        return frozenset()
    symbols = [part.strip() for part in text.split(",") if part.strip()]
    bad = [symbol for symbol in symbols if not re.fullmatch(SYMBOL_PATTERN, symbol)]
    if bad:
        raise BadSymbols(f"not a symbol (expected upper-case letters and digits, e.g. BTCUSDT): {bad[0]!r}")
    if len(symbols) > max_symbols:
        raise BadSymbols(f"at most {max_symbols} symbols per connection, got {len(symbols)}")
    return frozenset(symbols)


@dataclass(eq=False)
class ClientFeed:
    """What one WebSocket client receives: predictions for its symbols (all if none given)."""

    symbols: frozenset[str]
    queue: asyncio.Queue[str]
    dropped: int = field(default=0)

    def wants(self, symbol: str) -> bool:
        return not self.symbols or symbol in self.symbols

    def offer(self, payload: str) -> bool:
        """Queue a payload; when full, drop the oldest one. Returns False if something was dropped."""
        try:
            self.queue.put_nowait(payload)
            return True
        except asyncio.QueueFull:
            # The newest prediction matters more than an old one the client has not read yet.
            self.queue.get_nowait()
            self.queue.put_nowait(payload)
            self.dropped += 1
            return False


class PredictionFanout:
    """The registry of connected clients and the delivery of predictions to them."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._feeds: set[ClientFeed] = set()

    @property
    def client_count(self) -> int:
        return len(self._feeds)

    def subscribe(self, symbols: frozenset[str]) -> ClientFeed:
        feed = ClientFeed(symbols=symbols, queue=asyncio.Queue(maxsize=self._queue_size))
        self._feeds.add(feed)
        return feed

    def unsubscribe(self, feed: ClientFeed) -> None:
        self._feeds.discard(feed)

    def deliver(self, symbol: str, payload: str) -> tuple[int, int]:
        """Offer ``payload`` to every client that wants ``symbol``: (clients reached, of those, lossy)."""
        reached = dropped = 0
        for feed in self._feeds:
            if feed.wants(symbol):
                reached += 1
                if not feed.offer(payload):
                    dropped += 1
        return reached, dropped
