"""The range filler's rules without a broker or an exchange: what it produces, when it asks again, what is a hole."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from tickcast.contracts import DeadLetter, Trade
from trade_producer.dedupe import HighWaterMarks, id_space
from trade_producer.exchange.holes import HoleRecorder
from trade_producer.exchange.range_fill import RangeEnd, RangeFiller

T0 = 1_700_000_000_000


def _trade(trade_id: int, source: str = "gap_fill") -> Trade:
    return Trade(symbol="BTCUSDT", trade_id=trade_id, price=1.0, quantity=1.0, quote_quantity=1.0,
                 timestamp_ms=T0 + 1_000 * trade_id, is_buyer_maker=False, source=source)  # type: ignore[arg-type]


@dataclass
class Sink:
    topic: str = "trades"
    marks: HighWaterMarks = field(default_factory=HighWaterMarks)
    produced_ids: list[int] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    produced: int = 0

    async def send_async(self, trade: Trade) -> bool:
        if not self.marks.admit(id_space(trade.symbol, False), trade.trade_id):
            return False
        self.produced_ids.append(trade.trade_id)
        self.produced += 1
        return True

    async def hand_over(self, topic: str, key: bytes, value: bytes) -> None:
        self.letters.append(DeadLetter.parse(value))


@dataclass
class Exchange:
    """Trades 1..``last``; the database holds those up to ``in_database``, memory the newest ``in_memory``."""

    last: int
    in_database: int
    in_memory: int
    lost: set[int] = field(default_factory=set)  # never returned by anyone
    page_size: int = 4
    calls: list[str] = field(default_factory=list)

    async def historical_trades(self, symbol: str, from_id: int, limit: int, source: str):
        self.calls.append("historicalTrades")
        ids = [i for i in range(from_id, self.in_database + 1) if i not in self.lost][:limit]
        return [_trade(i, source) for i in ids], (ids[-1] if ids else None)

    async def recent_trades(self, symbol: str, source: str):
        self.calls.append("trades")
        first = max(self.last - self.in_memory + 1, 1)
        return [_trade(i, source) for i in range(first, self.last + 1) if i not in self.lost]


def _filler(exchange: Exchange, sink: Sink, deadline: float, on_sleep=None) -> RangeFiller:
    async def sleep(_seconds: float) -> None:
        if on_sleep:
            on_sleep()

    return RangeFiller(exchange, sink, HoleRecorder(sink, "trades.dlq"), deadline, sleep=sleep)  # type: ignore[arg-type]


def test_the_newest_trades_come_from_memory_when_the_database_lags() -> None:
    exchange, sink = Exchange(last=30, in_database=20, in_memory=15), Sink()
    sink.marks.raise_to(id_space("BTCUSDT", False), 5)
    asyncio.run(_filler(exchange, sink, deadline=30).fill("BTCUSDT", 6, RangeEnd(before_id=31), "gap_fill"))
    assert sink.produced_ids == list(range(6, 31)) and sink.letters == []


def test_a_fill_asks_again_until_the_database_catches_up() -> None:
    exchange, sink = Exchange(last=30, in_database=10, in_memory=5), Sink()

    def database_catches_up() -> None:
        exchange.in_database = min(exchange.in_database + 5, 30)

    filler = _filler(exchange, sink, deadline=30, on_sleep=database_catches_up)
    asyncio.run(filler.fill("BTCUSDT", 1, RangeEnd(before_id=31), "gap_fill"))
    assert sink.produced_ids == list(range(1, 31)) and sink.letters == []


def test_what_never_comes_is_one_hole_and_everything_after_it_is_produced() -> None:
    exchange, sink = Exchange(last=30, in_database=30, in_memory=0, lost={12, 13, 14}), Sink()
    asyncio.run(_filler(exchange, sink, deadline=0).fill("BTCUSDT", 1, RangeEnd(before_id=31), "gap_fill"))
    assert sink.produced_ids == [*range(1, 12), *range(15, 31)]
    [letter] = sink.letters
    assert letter.error_type == "MissingTrades"
    assert json.loads(letter.payload)["first_missing_id"] == 12 and json.loads(letter.payload)["missing"] == 3


def test_a_time_range_ends_at_the_newest_trade_the_exchange_knows() -> None:
    exchange, sink = Exchange(last=12, in_database=9, in_memory=5), Sink()
    asyncio.run(_filler(exchange, sink, deadline=30).fill("BTCUSDT", 3, RangeEnd(before_ms=T0 + 11_000), "backfill"))
    assert sink.produced_ids == list(range(3, 11))  # trade 11 is at T0 + 11 s: past the end
