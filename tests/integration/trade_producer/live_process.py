"""Runs ``python -m trade_producer live`` against a :class:`FakeBinance` and stops it like an orchestrator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .conftest import ROOT
from .fake_binance import FakeBinance


@dataclass
class LiveProcess:
    process: subprocess.Popen[str]
    stderr: str = ""
    exit_code: int | None = None
    _closed: bool = field(default=False, repr=False)

    def terminate(self, timeout: float = 60) -> None:
        """SIGTERM, then wait for the flush and exit."""
        if self._closed:
            return
        self._closed = True
        self.process.send_signal(signal.SIGTERM)
        _out, self.stderr = self.process.communicate(timeout=timeout)
        self.exit_code = self.process.returncode


def exchange_env(fake: FakeBinance, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRADE_PRODUCER_BINANCE_API_URL": fake.api_url,
        "TRADE_PRODUCER_BINANCE_STREAM_URL": fake.stream_url,
        "TRADE_PRODUCER_RECONNECT_INITIAL_SECONDS": "0.2",
        "TRADE_PRODUCER_RECONNECT_MAX_SECONDS": "1",
        **extra,
    }


@contextmanager
def live_producer(fake: FakeBinance, *args: str, **env: str) -> Iterator[LiveProcess]:
    process = subprocess.Popen(
        [sys.executable, "-m", "trade_producer", "live", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=exchange_env(fake, **env),
        cwd=ROOT,
    )
    live = LiveProcess(process)
    try:
        yield live
    finally:
        if not live._closed:
            process.kill()
            _out, live.stderr = process.communicate(timeout=30)
