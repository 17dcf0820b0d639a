"""Pure timing rules: replay pacing, reconnect back-off, REST weight budget."""

from __future__ import annotations

import random

import numpy as np
import pytest

from trade_producer.config import parse_symbols
from trade_producer.replay.feed import ReplayClock, parse_speed
from trade_producer.exchange.rest import backoff_seconds, retry_after_seconds, weight_pause_seconds


def test_speed_option() -> None:
    assert parse_speed("max") is None and parse_speed("MAX") is None
    assert parse_speed("10") == 10.0 and parse_speed("0.5") == 0.5
    for bad in ("0", "-2", "fast"):
        with pytest.raises(ValueError):
            parse_speed(bad)


def test_replay_clock_scales_trade_time_and_never_goes_back() -> None:
    clock = ReplayClock(speed=10.0)
    due = clock.due_seconds(np.array([1_000_000, 1_001_000, 1_000_500, 1_011_000]))
    assert due.tolist() == [0.0, 0.1, 0.1, 1.1]
    # Later blocks are measured from the same first trade.
    assert clock.due_seconds(np.array([1_021_000])).tolist() == [2.1]


def test_backoff_grows_exponentially_with_jitter_up_to_a_ceiling() -> None:
    rng = random.Random(1)
    for attempt in range(12):
        upper = min(30.0, 0.5 * 2**attempt)
        samples = [backoff_seconds(attempt, 0.5, 30.0, rng) for _ in range(200)]
        assert all(min(0.25, upper) <= s <= upper for s in samples)
        assert len({round(s, 6) for s in samples}) > 100  # jittered, not a fixed delay
    assert max(backoff_seconds(20, 0.5, 30.0, rng) for _ in range(100)) <= 30.0


def test_weight_budget_waits_for_the_next_minute_window() -> None:
    assert weight_pause_seconds(None, 4800, 1_704_067_230_000) == 0.0
    assert weight_pause_seconds(4799, 4800, 1_704_067_230_000) == 0.0
    assert weight_pause_seconds(4800, 4800, 1_704_067_230_000) == pytest.approx(30.05)
    assert weight_pause_seconds(6000, 4800, 1_704_067_259_900) == pytest.approx(0.15)


def test_retry_after_header() -> None:
    assert retry_after_seconds({"Retry-After": "7"}, default=60) == 7.0
    assert retry_after_seconds({}, default=60) == 60.0
    assert retry_after_seconds({"Retry-After": "soon"}, default=60) == 60.0


def test_symbol_list_setting() -> None:
    assert parse_symbols(" btcusdt,ETHUSDT,,btcusdt ") == ["BTCUSDT", "ETHUSDT"]
