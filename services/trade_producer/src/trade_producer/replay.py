"""Replay data-dump files onto the trades topic, as fast as possible or at N x real time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import structlog
from tickcast.progress import progress_bar

from tickcast.rate_limited_log import RateLimitedLog
from trade_producer.columns import RejectedRow, TradeColumns, columns_from_block
from trade_producer.dedupe import IdSpace, id_space
from tickcast.binance_files.dump_files import DumpFile, DumpKind, open_csv_bytes, read_blocks
from trade_producer.metrics import REJECTED_MESSAGES
from trade_producer.prefetch import prefetch
from trade_producer.sink import TradeSink

log = structlog.get_logger(__name__)
# Every rejected row is counted (rejected_messages_total); its warning is folded, per reason, per interval.
REJECTED_LOG = RateLimitedLog(log, "rows rejected")

SOURCE = "replay"


def parse_speed(text: str) -> float | None:
    """``"max"`` -> None (no pacing); ``"10"`` -> 10.0 (ten times real time)."""
    if text.strip().lower() == "max":
        return None
    speed = float(text)
    if not speed > 0:
        raise ValueError(f"speed must be 'max' or a positive number, got {text!r}")
    return speed


@dataclass
class ReplayClock:
    """Maps trade times to wall-clock offsets at ``speed`` x real time, from the first trade."""

    speed: float
    first_trade_ms: int | None = None
    started: float = field(default_factory=time.monotonic)

    def due_seconds(self, timestamps_ms: np.ndarray) -> np.ndarray:
        """Seconds after the start at which each trade is due (never earlier than the one before)."""
        if self.first_trade_ms is None:
            self.first_trade_ms = int(timestamps_ms[0])
        due = (timestamps_ms - self.first_trade_ms) / 1000.0 / self.speed
        return np.maximum.accumulate(due)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass
class WallClock:
    """Sends each trade once the wall clock reaches its timestamp.

    A start in the past is caught up at full speed, then the feed runs in real
    time: a demo gets a day of history at once and live candles after it.
    """

    started: float = field(default_factory=time.monotonic)
    started_ms: float = field(default_factory=lambda: time.time() * 1000)

    def due_seconds(self, timestamps_ms: np.ndarray) -> np.ndarray:
        return np.maximum.accumulate((timestamps_ms - self.started_ms) / 1000.0)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass
class ReplayReport:
    files: int = 0
    produced: int = 0
    skipped_duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0


def wanted_spaces(dumps: list[DumpFile]) -> set[IdSpace]:
    return {id_space(dump.symbol, dump.kind is DumpKind.AGG_TRADES) for dump in dumps}


def csv_bytes_total(dumps: list[DumpFile]) -> int:
    total = 0
    for dump in dumps:
        with open_csv_bytes(dump.path) as (_stream, size):
            total += size
    return total


def replay(
    dumps: list[DumpFile],
    sink: TradeSink,
    speed: float | None,
    stop: threading.Event,
    progress: bool = True,
) -> ReplayReport:
    """Produce every valid, new row of ``dumps`` in file order; stop early when ``stop`` is set."""
    report = ReplayReport()
    started = time.perf_counter()
    with progress_bar(
        total=csv_bytes_total(dumps), unit="B", unit_scale=True, desc="replay", disable=not progress
    ) as bar:
        validated = _validated_blocks(dumps, bar.update, report, stop)
        if speed is None:
            # Reading, checking and encoding run a block ahead in a worker thread (Arrow
            # releases the GIL), while this thread hands the previous block to Kafka.
            encoded = ((dump, sink.encode_new(dump.symbol, SOURCE, trades)) for dump, trades in validated)
            for dump, values in prefetch(encoded):
                report.produced += sink.produce_encoded(dump.symbol, SOURCE, values)
                bar.set_postfix(trades=report.produced, refresh=False)
                if stop.is_set():
                    break
        else:
            clock = ReplayClock(speed)
            for dump, trades in validated:
                report.produced += _send_paced(dump.symbol, trades, sink, clock, stop)
                bar.set_postfix(trades=report.produced, refresh=False)
                if stop.is_set():
                    break
    report.skipped_duplicates = sink.skipped
    REJECTED_LOG.flush(force=True)
    report.seconds = time.perf_counter() - started
    return report


def _validated_blocks(
    dumps: list[DumpFile], on_bytes: Callable[[int], object], report: ReplayReport, stop: threading.Event
) -> Iterator[tuple[DumpFile, TradeColumns]]:
    for dump in dumps:
        if stop.is_set():
            return
        log.info("replaying file", file=dump.path.name, symbol=dump.symbol, kind=str(dump.kind))
        report.files += 1

        def on_malformed(text: str, dump: DumpFile = dump) -> None:
            _reject(dump, RejectedRow(raw=text, reason="wrong number of fields"), report)

        for block in _blocks(dump, on_bytes, on_malformed):
            trades, rejects = columns_from_block(block, dump.kind)
            for rejected in rejects:
                _reject(dump, rejected, report)
            yield dump, trades
            if stop.is_set():
                return


def _blocks(
    dump: DumpFile, on_bytes: Callable[[int], object], on_malformed: Callable[[str], None]
) -> Iterator[pa.RecordBatch]:
    """Typed blocks (fast); after a value that does not parse, the file again as text.

    Rows already produced before the switch are skipped by the dedupe marks, so the
    second pass only adds the rest, refusing bad values one row at a time.
    """
    try:
        yield from read_blocks(dump, on_bytes=on_bytes, on_malformed_row=on_malformed, typed=True)
    except pa.ArrowInvalid as error:
        log.warning(
            "file has values that do not parse; checking it row by row", file=dump.path.name, error=str(error)
        )
        yield from read_blocks(dump, on_malformed_row=on_malformed, typed=False)


def _send_paced(
    symbol: str, trades: TradeColumns, sink: TradeSink, clock: ReplayClock, stop: threading.Event
) -> int:
    # Trades already on the topic (a restarted replay) are dropped before pacing: they must not
    # take their time again, or the feed would stall for as long as it had run.
    fresh = sink.marks.above(id_space(symbol, trades.is_aggregate), trades.trade_id)
    if not fresh.all():
        sink.count_skipped(symbol, len(trades) - int(fresh.sum()))
        trades = trades.take(fresh)
    if not len(trades):
        return 0
    due = clock.due_seconds(trades.timestamp_ms)
    sent = start = 0
    while start < len(trades) and not stop.is_set():
        end = int(np.searchsorted(due, clock.elapsed(), side="right"))
        if end <= start:
            sink.poll()
            time.sleep(min(max(due[start] - clock.elapsed(), 0.0), 0.25))
            continue
        sent += sink.send_columns(symbol, SOURCE, trades.take(slice(start, end)))
        start = end
    return sent


def _reject(dump: DumpFile, rejected: RejectedRow, report: ReplayReport) -> None:
    report.rejected += 1
    REJECTED_MESSAGES.labels(SOURCE, rejected.reason).inc()
    REJECTED_LOG.record(rejected.reason, file=dump.path.name, raw=rejected.raw)
