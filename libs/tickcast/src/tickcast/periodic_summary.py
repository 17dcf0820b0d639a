"""Per-batch figures folded into one log line per interval: totals, batch count, and over how long.

A stream processor logging every batch writes several lines a second while it catches up; the
console of ``make up`` then shows nothing else. The per-batch line is debug-level; this summary
writes the first batch at once (the stage has started), then one line per ``interval_s`` with the
sum of every figure since the previous line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SummarySettings(BaseSettings):
    """``LOG_SUMMARY_INTERVAL_S``: how often a stream processor's progress line is written."""

    model_config = SettingsConfigDict(env_prefix="LOG_SUMMARY_", env_file=".env", extra="ignore")

    interval_s: float = Field(30.0, gt=0, description="Seconds between two progress lines of a stream processor.")


class PeriodicSummary:
    """``add(**figures)`` per batch; one ``logger.info(event, batches=..., over_s=..., **totals)`` per interval."""

    def __init__(self, logger: Any, event: str, interval_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self.event = event
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None  # when the last line was written; None before the first batch
        self._batches = 0
        self._totals: dict[str, float] = {}

    @property
    def interval_s(self) -> float:
        if self._interval_s is None:  # read when first needed: services configure logging first
            self._interval_s = SummarySettings().interval_s
        return self._interval_s

    def add(self, batches: int = 1, **figures: float) -> None:
        """One batch (or ``batches``) and its figures; writes the line when it is due."""
        now = self._clock()
        with self._lock:
            self._batches += batches
            for name, value in figures.items():
                self._totals[name] = self._totals.get(name, 0) + value
            line = self._take(now) if self._since is None or now - self._since >= self.interval_s else None
        if line is not None:
            self._logger.info(self.event, **line)

    def flush(self) -> None:
        """Write what was added since the last line, if anything (at shutdown)."""
        with self._lock:
            line = self._take(self._clock()) if self._batches else None
        if line is not None:
            self._logger.info(self.event, **line)

    def _take(self, now: float) -> dict[str, Any]:
        over_s = 0.0 if self._since is None else now - self._since
        line = {"batches": self._batches, "over_s": round(over_s, 1),
                **{name: round(value, 4) if isinstance(value, float) else value
                   for name, value in self._totals.items()}}
        self._since, self._batches, self._totals = now, 0, {}
        return line
