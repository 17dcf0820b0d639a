"""Runs the candle builder as a real subprocess and talks to it through the real broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from support.kafka import consume
from tickcast.contracts import Candle, DeadLetter, Trade
from tickcast.kafka import CheckedProducer
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames


class CandleBuilderProcess:
    """``python -m candle_builder run`` with the test's environment plus ``CANDLE_*`` overrides."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.workdir = workdir
        self.log_path = workdir / "candle-builder.log"
        self.env = {
            **os.environ,
            "CANDLE_STATE_DIR": str(workdir / "state"),
            "CANDLE_COMMIT_INTERVAL_S": "1.0",
            "LOG_LEVEL": "INFO",
            **env,
        }
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self._process is None or self._process.poll() is not None, "already running"
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "candle_builder", "run"], env=self.env, stdout=log, stderr=log
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, no checkpoint is committed."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)

    def assert_alive(self) -> None:
        assert self._process is not None and self._process.poll() is None, (
            f"service exited:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "<no log>"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running(workdir: Path, **env: str) -> Iterator[CandleBuilderProcess]:
    service = CandleBuilderProcess(workdir, **env)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def produce_trades(settings: KafkaSettings, trades: Iterable[Trade]) -> int:
    """Trades on the trades topic, keyed by symbol, as the trade producer writes them."""
    producer = CheckedProducer(settings)
    topic = TopicNames(settings)(Topic.TRADES)
    count = 0
    for trade in trades:
        producer.send(topic, trade)
        count += 1
    producer.flush()
    return count


def produce_raw_trade_messages(settings: KafkaSettings, messages: Iterable[tuple[bytes, bytes]]) -> None:
    producer = CheckedProducer(settings)
    topic = TopicNames(settings)(Topic.TRADES)
    for key, value in messages:
        producer.produce(topic, value, key=key)
    producer.flush()


def read_candles(settings: KafkaSettings, expected: int | None = None, timeout: float = 30.0) -> list[Candle]:
    records = consume(
        settings, TopicNames(settings)(Topic.CANDLES), expected=expected, timeout=timeout, idle=1.0
    )
    candles = [Candle.parse(record.value) for record in records]
    for record, candle in zip(records, candles, strict=True):
        assert record.key == candle.key, "candles are keyed by symbol"
    return candles


def read_dead_letters(settings: KafkaSettings, expected: int, timeout: float = 30.0) -> list[DeadLetter]:
    records = consume(
        settings, TopicNames(settings).dlq(Topic.TRADES), expected=expected, timeout=timeout, idle=1.0
    )
    return [DeadLetter.parse(record.value) for record in records]


def committed_trade_offsets(settings: KafkaSettings, group: str) -> int:
    """Sum over partitions of the trades offsets the service's group has committed."""
    topic = TopicNames(settings)(Topic.TRADES)
    consumer = Consumer({**settings.client_config(), "group.id": group, "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return sum(max(tp.offset, 0) for tp in committed)
    finally:
        consumer.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def synthetic_trades(
    symbols: list[str], start_ms: int, minutes: int, per_minute: int, seed: int = 7
) -> list[Trade]:
    """Every symbol trades throughout ``minutes`` whole minutes, ids ascending with time."""
    import random

    rng = random.Random(seed)
    prices = {symbol: 100.0 + 50 * index for index, symbol in enumerate(symbols)}
    trades = []
    step = 60_000 * minutes / (per_minute * minutes * len(symbols))
    for index in range(per_minute * minutes * len(symbols)):
        symbol = symbols[index % len(symbols)]
        prices[symbol] = round(max(1.0, prices[symbol] * (1 + rng.gauss(0, 0.0005))), 2)
        quantity = rng.randint(1, 5_000_000) / 10**8
        trades.append(
            Trade(
                symbol=symbol,
                trade_id=index + 1,
                price=prices[symbol],
                quantity=quantity,
                quote_quantity=prices[symbol] * quantity,
                timestamp_ms=start_ms + int(index * step),
                is_buyer_maker=rng.random() < 0.5,
                source="synthetic",
            )
        )
    return trades
