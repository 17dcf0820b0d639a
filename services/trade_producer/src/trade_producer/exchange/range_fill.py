"""A symbol's trades by id up to an end, from REST, each produced once and in order, or the hole recorded.

Binance serves ``historicalTrades`` from a database that can lag the live stream, and
``/api/v3/trades`` (its newest 1000 trades) from memory. A naive fill that takes what the
database returns and moves on loses the trades it did not have yet: the next live trade
moves the last produced id past them. Here a range is read from the database first, then
from memory, producing only the next id in sequence; what neither has yet is asked again
with back-off until the deadline. Then whatever is still missing is a hole, recorded by
:class:`~trade_producer.exchange.holes.HoleRecorder`, and everything after it is produced.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from tickcast.contracts import Trade, TradeSource
from trade_producer.dedupe import id_space
from trade_producer.exchange.holes import HoleRecorder
from trade_producer.metrics import GAP_FILL_RETRIES
from trade_producer.exchange.rest import ExchangeRest, ExchangeUnavailable, backoff_seconds
from trade_producer.sink import TradeSink

log = structlog.get_logger(__name__)

RETRY_INITIAL_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0


@dataclass(frozen=True)
class RangeEnd:
    """Where a range stops: before a trade id (a gap before a live trade) or a time (a backfill)."""

    before_id: int | None = None
    before_ms: int | None = None

    def passed(self, trade: Trade) -> bool:
        return (self.before_id is not None and trade.trade_id >= self.before_id) or (
            self.before_ms is not None and trade.timestamp_ms >= self.before_ms
        )


@dataclass
class _Pass:
    next_id: int
    complete: bool
    last_known_id: int | None  # the range's last id, when the exchange has told it


class RangeFiller:
    def __init__(
        self,
        rest: ExchangeRest,
        sink: TradeSink,
        holes: HoleRecorder,
        deadline_seconds: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._rest = rest
        self._sink = sink
        self._holes = holes
        self._deadline_seconds = deadline_seconds
        self._sleep = sleep
        self._rng = random.Random()

    async def fill(
        self,
        symbol: str,
        from_id: int,
        end: RangeEnd,
        stage: TradeSource,
        give_up: Callable[[], bool] = lambda: False,
        stop: Callable[[], bool] = lambda: False,
        on_progress: Callable[[Trade], None] | None = None,
    ) -> None:
        """Produce ``symbol``'s trades from ``from_id`` (or after the last one produced) until ``end``.

        ``give_up`` ends the waiting early (the hole is recorded at once); ``stop`` ends the
        fill without recording anything (a restart resumes from the topic).
        """
        deadline = time.monotonic() + self._deadline_seconds
        attempt = 0
        while True:
            final = give_up() or time.monotonic() >= deadline
            try:
                outcome = await self._pass(symbol, self._next_id(symbol, from_id), end, stage, final, stop,
                                           on_progress)  # fmt: skip
            except ExchangeUnavailable as error:
                if not final:
                    outcome = _Pass(self._next_id(symbol, from_id), False, None)
                elif end.before_id is not None:
                    outcome = _Pass(self._next_id(symbol, from_id), False, end.before_id - 1)
                    why = f"the exchange did not answer: {error}"
                    await self._holes.record(symbol, outcome.next_id, end.before_id - 1, stage, why)
                    return
                else:
                    raise  # a time range whose end is unknown: nothing to name as missing
            if outcome.complete or stop():
                return
            if final:
                if outcome.last_known_id is not None:
                    why = (
                        f"not in the exchange's trade database or its memory of recent trades within "
                        f"{self._deadline_seconds:g} s (TRADE_PRODUCER_GAP_FILL_DEADLINE_SECONDS)"
                    )
                    await self._holes.record(symbol, outcome.next_id, outcome.last_known_id, stage, why)
                return
            GAP_FILL_RETRIES.labels(symbol, stage).inc()
            pause = min(
                backoff_seconds(attempt, RETRY_INITIAL_SECONDS, RETRY_MAX_SECONDS, self._rng),
                max(deadline - time.monotonic(), 0.0),
            )
            log.info(
                "fill incomplete, the exchange's database lags: asking again",
                symbol=symbol, next_id=outcome.next_id, last_id=outcome.last_known_id, retry_in_s=round(pause, 2),
                attempt=attempt + 1,
            )  # fmt: skip
            attempt += 1
            await self._sleep(pause)

    def _next_id(self, symbol: str, from_id: int) -> int:
        last = self._sink.marks.get(id_space(symbol, aggregate=False))
        return from_id if last is None else max(from_id, last + 1)

    async def _pass(
        self,
        symbol: str,
        next_id: int,
        end: RangeEnd,
        stage: TradeSource,
        final: bool,
        stop: Callable[[], bool],
        on_progress: Callable[[Trade], None] | None,
    ) -> _Pass:
        """One try: the database, then memory. Strict (stops at the first missing id) unless ``final``."""

        async def take(trades: list[Trade]) -> tuple[bool, bool]:
            """Produce the next ids in sequence; (the end was passed, a missing id stopped us)."""
            nonlocal next_id
            last: Trade | None = None
            try:
                for trade in trades:
                    if end.passed(trade):
                        return True, False
                    if trade.trade_id < next_id:
                        continue
                    if trade.trade_id > next_id:
                        if not final:
                            return False, True
                        why = "absent from the exchange's answers (database and memory)"
                        await self._holes.record(symbol, next_id, trade.trade_id - 1, stage, why)
                    await self._sink.send_async(trade)
                    next_id = trade.trade_id + 1
                    last = trade
                return False, False
            finally:
                if last is not None and on_progress is not None:
                    on_progress(last)

        page_size = self._rest.page_size
        # 1. The database, page by page.
        while not stop():
            if end.before_id is not None and next_id >= end.before_id:
                return _Pass(next_id, True, end.before_id - 1)
            limit = page_size if end.before_id is None else min(page_size, end.before_id - next_id)
            trades, last_row_id = await self._rest.historical_trades(symbol, next_id, limit, stage)
            if last_row_id is None:
                break  # the database's newest trade is behind us
            passed, missing = await take(trades)
            if passed:
                return _Pass(next_id, True, None)
            if missing:
                break
            if last_row_id >= next_id:  # rows refused as malformed at the end of the page
                if not final:
                    break
                await self._holes.record(symbol, next_id, last_row_id, stage, "refused as malformed")
                next_id = last_row_id + 1
            if len(trades) < limit:
                break  # a short page: the database's newest trade
        if stop():
            return _Pass(next_id, False, None)
        if end.before_id is not None and next_id >= end.before_id:
            return _Pass(next_id, True, end.before_id - 1)
        # 2. The exchange's memory: its newest trades, which the database may not hold yet.
        recent = await self._rest.recent_trades(symbol, stage)
        if end.before_id is not None:
            last_known: int | None = end.before_id - 1
        else:
            in_range = [trade.trade_id for trade in recent if not end.passed(trade)]
            last_known = max(in_range) if in_range else None
        await take(recent)
        complete = last_known is None or next_id > last_known
        return _Pass(next_id, complete, last_known)
