"""Runs the inference service in a thread of the test process, and waits for things."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from inference.service import InferenceService


class RunningService:
    def __init__(self, service: InferenceService) -> None:
        self.service = service
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="inference-under-test", daemon=True)

    def _run(self) -> None:
        try:
            self.service.run(self.stop)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.error = exc

    def shutdown(self) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "inference did not stop"
        if self.error is not None:
            raise self.error


@contextmanager
def running(service: InferenceService, timeout: float = 60.0) -> Iterator[RunningService]:
    """The service consuming in a thread, with partitions assigned, until the block ends."""
    handle = RunningService(service)
    handle.thread.start()
    deadline = time.monotonic() + timeout
    while not service.assigned.wait(0.1):
        if handle.error is not None:
            raise handle.error
        assert time.monotonic() < deadline, "inference got no partitions"
    try:
        yield handle
    finally:
        handle.shutdown()


def wait_for(condition: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
