"""Per-batch figures: the first batch at once, then one line per interval with the totals since the last."""

from __future__ import annotations

import structlog
from tickcast.periodic_summary import PeriodicSummary


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_thousand_batches_make_one_line_per_interval_with_their_totals():
    clock = Clock()
    summary = PeriodicSummary(structlog.get_logger("test"), "batches processed", interval_s=30.0, clock=clock)
    with structlog.testing.capture_logs() as logs:
        for _ in range(1000):
            summary.add(candles=3, vectors=2, compute_s=0.25)
            clock.now += 0.125  # 125 s in all, a step exact in binary
        summary.flush()
        summary.flush()  # nothing added since: no line
    lines = [(e["batches"], e["over_s"], e["candles"], e["vectors"], e["compute_s"]) for e in logs]
    # The first batch at once; then one line per 30 s (240 batches); the rest at the flush.
    assert lines == [(1, 0.0, 3, 2, 0.25)] + [(240, 30.0, 720, 480, 60.0)] * 4 + [(39, 5.0, 117, 78, 9.75)]
    assert {e["event"] for e in logs} == {"batches processed"} and {e["log_level"] for e in logs} == {"info"}


def test_figures_of_several_producers_add_up_in_one_line():
    clock = Clock()
    summary = PeriodicSummary(structlog.get_logger("test"), "progress", interval_s=10.0, clock=clock)
    with structlog.testing.capture_logs() as logs:
        summary.add(candles=5)
        summary.add(batches=0, stored=7)  # another stage's figure, no batch of its own
        clock.now += 10
        summary.add(candles=1)
    assert [(e["batches"], e.get("candles"), e.get("stored")) for e in logs] == [(1, 5, None), (1, 1, 7)]
