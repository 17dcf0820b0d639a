"""The newest prediction of each symbol, held in memory between Redis reads (no I/O here).

Every new prediction arrives on the channel the gateway already listens to, so the
cache is kept current by the subscription, not by polling. Redis stays the source of
truth: an entry is trusted for ``ttl_s`` only (a bound on staleness for changes that
never go through the channel, such as a deleted key), and the whole cache is dropped
and bypassed while the subscription is down, when updates could be missed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class _Entry:
    as_of_ms: int
    document: bytes
    stored_at: float


class LatestPredictions:
    """Symbol -> newest prediction JSON; an entry is replaced only by a prediction as new or newer."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._live = False
        # Bumped whenever the subscription comes back: a Redis read begun before that may
        # predate predictions the channel never delivered, so its result is not kept.
        self._generation = 0

    @property
    def enabled(self) -> bool:
        return self._ttl_s > 0

    def get(self, symbol: str) -> bytes | None:
        """The cached document if it can be trusted now, else None (ask Redis)."""
        if not self._live:
            return None
        entry = self._entries.get(symbol)
        if entry is None:
            return None
        if self._clock() - entry.stored_at > self._ttl_s:
            del self._entries[symbol]
            return None
        return entry.document

    def read_token(self) -> int | None:
        """Taken before reading Redis; hand it to :meth:`offer_read`. None: do not cache the read."""
        return self._generation if self._live and self.enabled else None

    def offer_read(self, symbol: str, as_of_ms: int, document: bytes, token: int | None) -> None:
        """Keep what a Redis read returned, if the subscription stayed up since the read began."""
        if token is not None and token == self._generation and self._live:
            self._keep_if_newest(symbol, as_of_ms, document)

    def offer_published(self, symbol: str, as_of_ms: int, document: bytes) -> None:
        """Keep a prediction that arrived on the channel."""
        if self._live and self.enabled:
            self._keep_if_newest(symbol, as_of_ms, document)

    def _keep_if_newest(self, symbol: str, as_of_ms: int, document: bytes) -> None:
        entry = self._entries.get(symbol)
        if entry is None or as_of_ms >= entry.as_of_ms:
            self._entries[symbol] = _Entry(as_of_ms, document, self._clock())

    def subscription_up(self) -> None:
        """The channel is confirmed: from now on no new prediction goes unnoticed."""
        self._live = True
        self._generation += 1

    def subscription_down(self) -> None:
        """Updates may be missed from now on: forget everything and read Redis until it is back."""
        self._live = False
        self._entries.clear()
