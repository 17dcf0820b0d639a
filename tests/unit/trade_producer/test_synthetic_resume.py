"""Where a restarted synthetic feed starts: after its last trade on the topic, never back at id 1."""

from __future__ import annotations

import threading

import numpy as np

from trade_producer.dedupe import HighWaterMarks
from trade_producer.replay import ReplayClock, _send_paced
from trade_producer.synthetic import SyntheticTrades
from trade_producer.synthetic_resume import start_point
from trade_producer.topic_tail import LastTrade

HOUR = 3_600_000
NOW = 1_767_000_000_000
REQUESTED = NOW - 26 * HOUR  # --start now-26h


def test_a_first_start_begins_at_the_requested_start_with_id_1():
    point = start_point(REQUESTED, 42_000.0, None, live_now_ms=NOW)
    assert (point.start_ms, point.first_trade_id, point.price, point.resumed) == (REQUESTED, 1, 42_000.0, False)


def test_a_live_feed_restarted_seconds_later_resumes_now_after_its_last_id_and_price():
    last = LastTrade(trade_id=912_345, timestamp_ms=NOW - 4_000, price=43_210.5, source="synthetic")
    point = start_point(REQUESTED, 42_000.0, last, live_now_ms=NOW)
    assert point.resumed
    assert point.first_trade_id == 912_346
    assert point.price == 43_210.5
    # From the wall clock: a candle builder that stayed up closed the quiet seconds already.
    assert point.start_ms == NOW and point.gap_ms == 4_000


def test_a_feed_not_paced_by_the_clock_resumes_at_its_last_trade():
    last = LastTrade(trade_id=50, timestamp_ms=REQUESTED + HOUR, price=10.0, source="synthetic")
    point = start_point(REQUESTED, 42_000.0, last, live_now_ms=None)
    assert (point.start_ms, point.first_trade_id, point.gap_ms) == (REQUESTED + HOUR, 51, 0)


def test_a_stop_longer_than_the_history_asked_for_starts_the_history_again_with_ids_going_on():
    last = LastTrade(trade_id=7_000, timestamp_ms=REQUESTED - 3 * HOUR, price=41_000.0, source="synthetic")
    point = start_point(REQUESTED, 42_000.0, last, live_now_ms=NOW)
    assert (point.start_ms, point.first_trade_id, point.price) == (REQUESTED, 7_001, 41_000.0)
    assert point.gap_ms == 3 * HOUR


def test_a_last_trade_without_a_usable_price_keeps_the_default_price():
    last = LastTrade(trade_id=3, timestamp_ms=NOW - 1_000, price=0.0, source="")
    assert start_point(REQUESTED, 100.0, last, live_now_ms=NOW).price == 100.0


def test_a_resumed_generator_continues_ids_times_and_price_with_fresh_numbers():
    first = SyntheticTrades("BTCUSDT", 42, REQUESTED, 42_000.0).next_block(1_000)
    last = LastTrade(int(first.trade_id[-1]), int(first.timestamp_ms[-1]), float(first.price[-1]), "synthetic")
    point = start_point(REQUESTED, 42_000.0, last)
    resumed = SyntheticTrades("BTCUSDT", 42, point.start_ms, point.price, point.first_trade_id).next_block(1_000)
    assert resumed.trade_id.tolist() == list(range(1_001, 2_001))
    assert resumed.timestamp_ms[0] >= first.timestamp_ms[-1]
    # A price step from the last one, not a jump back to the start price.
    assert abs(resumed.price[0] / first.price[-1] - 1) < 0.01
    # Not the first run's random numbers again (which would repeat its price path from the last price).
    again = SyntheticTrades("BTCUSDT", 42, point.start_ms, point.price).next_block(1_000)
    assert not np.array_equal(np.diff(resumed.price), np.diff(again.price))


def test_marks_tell_which_ids_are_left_without_moving():
    marks = HighWaterMarks({("BTCUSDT", "trade"): 5})
    assert marks.above(("BTCUSDT", "trade"), np.array([4, 5, 6, 7])).tolist() == [False, False, True, True]
    assert marks.get(("BTCUSDT", "trade")) == 5
    assert marks.above(("ETHUSDT", "trade"), np.array([1, 2])).tolist() == [True, True]


class RecordingSink:
    """The part of TradeSink that pacing uses, recording what it is handed (no broker here)."""

    def __init__(self, marks: HighWaterMarks) -> None:
        self.marks = marks
        self.sent: list[int] = []
        self.skipped = 0

    def send_columns(self, symbol, source, trades) -> int:
        self.sent += trades.trade_id.tolist()
        return len(trades)

    def count_skipped(self, symbol: str, count: int) -> None:
        self.skipped += count

    def poll(self) -> None:
        pass


def test_a_restarted_paced_replay_does_not_wait_through_the_trades_it_sent_before():
    # An hour of trades at 1x; the first half is on the topic already.
    trades = SyntheticTrades("BTCUSDT", 1, REQUESTED, 42_000.0).next_block(200)
    trades = type(trades)(
        trade_id=trades.trade_id, price=trades.price, quantity=trades.quantity,
        quote_quantity=trades.quote_quantity,
        timestamp_ms=REQUESTED + np.arange(200, dtype=np.int64) * 18_000, is_buyer_maker=trades.is_buyer_maker,
    )
    sink = RecordingSink(HighWaterMarks({("BTCUSDT", "trade"): 100}))
    clock = ReplayClock(1.0)
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    _send_paced("BTCUSDT", trades, sink, clock, stop)  # type: ignore[arg-type]
    # The clock starts at the first trade not yet sent, so it goes out at once.
    assert clock.first_trade_ms == REQUESTED + 100 * 18_000
    assert sink.sent[:1] == [101]
    assert sink.skipped == 100
