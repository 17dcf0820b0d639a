"""Run a producer-side pipeline stage in a worker thread, a few items ahead of its consumer."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` in a worker thread, at most ``depth`` items ahead.

    Worth it when the work behind ``items`` releases the GIL (Arrow CSV parsing and
    compute do), so it overlaps with the consumer. Errors are re-raised in the
    consumer; closing the iterator early stops the worker at its next item.
    """
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    abandoned = threading.Event()

    def hand_over(item: object) -> bool:
        while not abandoned.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
            hand_over(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            hand_over(_Failed(error))

    worker = threading.Thread(target=work, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        abandoned.set()
        worker.join(timeout=5)
