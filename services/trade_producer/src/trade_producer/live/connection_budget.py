"""Websocket connection attempts kept under Binance's limit: 300 per 5 minutes per IP."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW_SECONDS = 300.0


@dataclass
class ConnectionBudget:
    """A sliding window of attempts; :meth:`wait_seconds` says how long until the next one is allowed."""

    limit: int
    window: float = WINDOW_SECONDS
    _attempts: deque[float] = field(default_factory=deque)

    def wait_seconds(self, now: float) -> float:
        while self._attempts and self._attempts[0] <= now - self.window:
            self._attempts.popleft()
        if len(self._attempts) < self.limit:
            return 0.0
        return self._attempts[0] + self.window - now

    def spend(self, now: float) -> None:
        self._attempts.append(now)
