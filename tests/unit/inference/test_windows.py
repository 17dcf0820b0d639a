"""Per-symbol lag windows stay contiguous."""

from __future__ import annotations

from inference.windows import FeatureWindows
from unit.inference.linear_models import MINUTE_MS, vector


def steps(run) -> list[int]:
    return [(v.timestamp_ms - run[0].timestamp_ms) // MINUTE_MS for v in run]


def test_window_keeps_the_newest_consecutive_vectors():
    windows = FeatureWindows(MINUTE_MS, capacity=3)
    for step in range(5):
        run = windows.push(vector("BTCUSDT", step))
    assert len(run) == 3 and steps(run) == [0, 1, 2]
    assert run[-1].timestamp_ms == vector("BTCUSDT", 4).timestamp_ms


def test_gap_step_back_or_new_feature_set_restart_the_run():
    windows = FeatureWindows(MINUTE_MS, capacity=5)
    windows.push(vector("BTCUSDT", 0))
    assert len(windows.push(vector("BTCUSDT", 1))) == 2
    assert len(windows.push(vector("BTCUSDT", 3))) == 1  # gap
    assert len(windows.push(vector("BTCUSDT", 3))) == 1  # repeat
    assert len(windows.push(vector("BTCUSDT", 4, fs="fs-b"))) == 1  # new feature set
    assert len(windows.push(vector("ETHUSDT", 5))) == 1  # symbols are independent


def test_resize_and_forget():
    windows = FeatureWindows(MINUTE_MS, capacity=4)
    for step in range(4):
        windows.push(vector("BTCUSDT", step))
    windows.resize(2)
    assert len(windows.push(vector("BTCUSDT", 4))) == 2
    windows.resize(6)
    assert len(windows.push(vector("BTCUSDT", 5))) == 3
    windows.forget(["BTCUSDT"])
    assert len(windows.push(vector("BTCUSDT", 6))) == 1
