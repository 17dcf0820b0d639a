"""Following the registry off the hot path: a thread polls, loads, and leaves the result in a one-slot mailbox.

The consume loop takes what is in the mailbox between two batches, so a batch is always served by one set
of models. The champion and the challengers both follow the registry this way; each says in ``check``
what to poll and what to load.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

import structlog

from inference import metrics

log = structlog.get_logger(__name__)

Loaded = TypeVar("Loaded")


class RegistryWatcher(Generic[Loaded]):
    """Polls ``check`` every ``poll_seconds`` on a daemon thread; ``take_ready`` empties the mailbox."""

    #: what is followed, for the thread's name and the log ("champion", "challenger")
    following = "model"

    def __init__(self, poll_seconds: float) -> None:
        self._poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._ready: Loaded | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """Poll the registry and, when something moved, load it and ``_hand_over`` it."""
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.following}-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def take_ready(self) -> Loaded | None:
        """What was loaded since the last call (once), else None."""
        with self._lock:
            ready, self._ready = self._ready, None
        return ready

    def _hand_over(self, loaded: Loaded) -> None:
        with self._lock:
            self._ready = loaded

    def _run(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - a registry hiccup must not stop serving
                metrics.LOAD_FAILURES.inc()
                log.exception(f"{self.following} check failed; still serving the current ones")
