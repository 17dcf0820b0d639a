"""The wall-clock pace: history at full speed, then each trade when its time comes."""

from __future__ import annotations

import time

import numpy as np

from trade_producer.replay.feed import WallClock


def test_past_trades_are_due_at_once_and_future_ones_at_their_time():
    clock = WallClock()
    now_ms = clock.started_ms
    timestamps = np.array([now_ms - 86_400_000, now_ms - 1_000, now_ms + 2_000, now_ms + 5_000])
    due = clock.due_seconds(timestamps)
    assert (due[:2] <= 0).all()  # a day of history: sent without waiting
    assert np.allclose(due[2:], [2.0, 5.0])


def test_due_times_never_go_back():
    clock = WallClock()
    now_ms = clock.started_ms
    due = clock.due_seconds(np.array([now_ms + 3_000, now_ms + 1_000]))
    assert list(due) == [3.0, 3.0]


def test_elapsed_follows_the_monotonic_clock():
    clock = WallClock()
    time.sleep(0.05)
    assert 0.04 < clock.elapsed() < 5
