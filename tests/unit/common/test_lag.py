"""Consumer lag from committed offsets and partition bounds, without a broker."""

from __future__ import annotations

import pytest

from tickcast.lag import LagSettings, PartitionLag, PartitionOffsets, committed_or_none, lags, partition_lag


@pytest.mark.parametrize(
    ("committed", "low", "end", "expected"),
    [
        (40, 0, 100, 60),  # the usual case: end minus committed
        (100, 0, 100, 0),  # caught up
        (None, 0, 100, 100),  # never committed: the group starts at the earliest offset
        (None, 30, 100, 70),  # ... which retention has moved up
        (10, 30, 100, 70),  # committed offset already deleted: resumes at the earliest too
        (None, 0, 0, 0),  # empty partition
        (105, 0, 100, 0),  # committed ahead of the last stable offset (open transaction): no lag
    ],
)
def test_partition_lag(committed, low, end, expected):
    assert partition_lag(committed, low, end) == expected


def test_lags_keeps_each_partition_apart():
    offsets = [PartitionOffsets("trades", 0, 5, 0, 9), PartitionOffsets("trades", 1, None, 2, 4),
               PartitionOffsets("candles", 0, 7, 0, 7)]
    assert lags(offsets) == [PartitionLag("trades", 0, 4), PartitionLag("trades", 1, 2),
                             PartitionLag("candles", 0, 0)]


def test_the_brokers_no_offset_sentinel_is_no_committed_offset():
    offsets = {("t", 0): -1001, ("t", 1): 0, ("t", 2): 12}
    assert [committed_or_none(offsets, ("t", p)) for p in range(4)] == [None, 0, 12, None]


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv("METRICS_LAG_INTERVAL_S", "2.5")
    assert LagSettings().interval_s == 2.5
    monkeypatch.setenv("METRICS_LAG_INTERVAL_S", "-1")
    with pytest.raises(ValueError):
        LagSettings()
