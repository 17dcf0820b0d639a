"""A warning that can repeat per message, logged once per kind per interval with a count.

A refused message is counted in a metric and kept in its dead-letter topic, every one of them;
its log line is not: stale state once made the candle builder write one warning per trade
(1.49 million lines in 3 minutes). A :class:`RateLimitedLog` logs the first occurrence of each
kind at once, with that message's context, then folds the repeats of the same kind into one line
per interval that says how many there were (``count``) and over how long (``over_s``), with the
context of the latest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RepeatSettings(BaseSettings):
    """``LOG_REPEAT_INTERVAL_S``: how often a repeated warning may be logged again."""

    model_config = SettingsConfigDict(env_prefix="LOG_REPEAT_", env_file=".env", extra="ignore")

    interval_s: float = Field(
        30.0, gt=0, description="A warning repeated per message is logged at most once per kind per this period."
    )


@dataclass
class _Pending:
    logged_at: float  # when the last line of this kind was written
    count: int = 0  # occurrences since that line
    context: dict[str, Any] = field(default_factory=dict)  # of the latest occurrence


class RateLimitedLog:
    """``record(kind, **context)`` per occurrence; at most one line per ``kind`` per ``interval_s``.

    Lines folded in are written by the next ``record`` of that kind once the interval has passed,
    or by ``flush()``, which a service calls from a loop it already runs (and at shutdown).
    """

    def __init__(self, logger: Any, event: str, interval_s: float | None = None, level: str = "warning",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self.event = event
        self._interval_s = interval_s
        self._level = level
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    @property
    def interval_s(self) -> float:
        if self._interval_s is None:  # read once, when first needed: services configure logging first
            self._interval_s = RepeatSettings().interval_s
        return self._interval_s

    def record(self, kind: str, count: int = 1, **context: Any) -> None:
        """``count`` occurrences of ``kind``, the latest with ``context``."""
        now = self._clock()
        with self._lock:
            pending = self._pending.get(kind)
            if pending is None:
                self._pending[kind] = _Pending(logged_at=now)
                line: tuple[int, float, dict[str, Any]] | None = (count, 0.0, context)
            else:
                pending.count += count
                pending.context = context
                line = self._take_if_due(pending, now)
        if line is not None:
            self._write(kind, *line)

    def flush(self, force: bool = False) -> None:
        """Write the folded occurrences whose interval has passed (all of them with ``force``)."""
        now = self._clock()
        with self._lock:
            lines = [(kind, line) for kind, pending in self._pending.items()
                     if (line := self._take_if_due(pending, now, force)) is not None]
        for kind, (count, over_s, context) in lines:
            self._write(kind, count, over_s, context)

    def _take_if_due(self, pending: _Pending, now: float,
                     force: bool = False) -> tuple[int, float, dict[str, Any]] | None:
        if not pending.count or (not force and now - pending.logged_at < self.interval_s):
            return None
        line = (pending.count, now - pending.logged_at, pending.context)
        pending.logged_at, pending.count, pending.context = now, 0, {}
        return line

    def _write(self, kind: str, count: int, over_s: float, context: dict[str, Any]) -> None:
        getattr(self._logger, self._level)(self.event, kind=kind, count=count, over_s=round(over_s, 1), **context)
