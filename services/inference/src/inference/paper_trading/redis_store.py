"""Paper books and their equity curves in Redis (layout: ``RedisKeys.paper_books`` / ``paper_curve``).

Every write is idempotent: a book is written whole (the newest state replaces the older), a curve
point replaces any other at its time. A batch replayed after a crash writes the same thing again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import redis
from tickcast.paper_trading import PaperBook
from tickcast.redis_keys import RedisKeys
from tickcast.settings import RedisSettings

from inference.paper_trading.trader import CurvePoint


class PaperStore:
    def __init__(self, settings: RedisSettings, curve_cap: int, curve_ttl_seconds: int) -> None:
        self._client = redis.Redis.from_url(settings.url, socket_connect_timeout=2, socket_timeout=5)
        self.keys = RedisKeys(settings.key_prefix)
        self._curve_cap = curve_cap
        self._curve_ttl_seconds = curve_ttl_seconds

    def write(self, books: Mapping[str, str], points: Sequence[CurvePoint]) -> None:
        """``books``: ``PaperBook`` JSON by field."""
        if not books and not points:
            return
        pipe = self._client.pipeline(transaction=False)
        if books:
            pipe.hset(self.keys.paper_books(), mapping=dict(books))
        curves: set[str] = set()
        for item in points:
            key = self.keys.paper_curve(item.model_name, item.model_version, item.symbol)
            pipe.zremrangebyscore(key, item.point.time_ms, item.point.time_ms)
            pipe.zadd(key, {item.point.to_json(): item.point.time_ms})
            curves.add(key)
        for key in curves:
            pipe.zremrangebyrank(key, 0, -(self._curve_cap + 1))
            pipe.expire(key, self._curve_ttl_seconds)
        pipe.execute()

    def books_of(self, symbols: Iterable[str]) -> list[PaperBook]:
        """The stored books of these symbols (a document that no longer parses is left out: rebuilt)."""
        wanted = set(symbols)
        books = []
        for field, value in self._client.hgetall(self.keys.paper_books()).items():
            if field.decode().rsplit("|", 1)[-1] not in wanted:
                continue
            try:
                books.append(PaperBook.model_validate_json(value))
            except ValueError:
                continue
        return books

    def close(self) -> None:
        self._client.close()
