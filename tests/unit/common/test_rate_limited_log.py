"""A warning repeated per message: the first at once, then one line per kind per interval with the count."""

from __future__ import annotations

from typing import Any

import pytest
import structlog
from tickcast.rate_limited_log import RateLimitedLog, RepeatSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limited(clock: Clock, interval_s: float = 30.0) -> RateLimitedLog:
    return RateLimitedLog(structlog.get_logger("test"), "trades refused", interval_s=interval_s, clock=clock)


def lines(logs: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    return [(entry["kind"], entry["count"], entry["over_s"]) for entry in logs]


def test_ten_thousand_repeats_make_a_line_per_interval_with_their_count(clock: Clock):
    log = limited(clock)
    with structlog.testing.capture_logs() as logs:
        for offset in range(10_000):
            log.record("LateTrade", reason=f"trade {offset} is late", offset=offset)
            clock.now += 1 / 64  # 156.25 s in all (a step exact in binary: no rounding drift)
        log.flush(force=True)
    assert lines(logs) == [("LateTrade", 1, 0.0)] + [("LateTrade", 1920, 30.0)] * 5 + [("LateTrade", 399, 6.2)]
    assert sum(count for _, count, _ in lines(logs)) == 10_000
    assert logs[0]["offset"] == 0 and logs[0]["reason"] == "trade 0 is late"  # the first, as it came
    assert logs[-1]["offset"] == 9_999  # a folded line carries the latest occurrence's context
    assert {entry["log_level"] for entry in logs} == {"warning"}
    assert {entry["event"] for entry in logs} == {"trades refused"}


def test_each_kind_has_its_own_interval(clock: Clock):
    log = limited(clock)
    with structlog.testing.capture_logs() as logs:
        log.record("LateTrade")
        log.record("ContractError")
        log.record("LateTrade")
        log.record("ContractError", count=4)
        clock.now += 31
        log.record("LateTrade")
    assert lines(logs) == [("LateTrade", 1, 0.0), ("ContractError", 1, 0.0), ("LateTrade", 2, 31.0)]


def test_flush_writes_only_what_is_due_unless_forced(clock: Clock):
    log = limited(clock)
    with structlog.testing.capture_logs() as logs:
        log.flush()
        log.record("LateTrade")
        log.record("LateTrade", count=9)
        clock.now += 10
        log.flush()
        assert lines(logs) == [("LateTrade", 1, 0.0)]
        clock.now += 20
        log.flush()
        assert lines(logs) == [("LateTrade", 1, 0.0), ("LateTrade", 9, 30.0)]
        log.flush(force=True)  # nothing folded since: no line
        log.record("LateTrade")
        log.flush(force=True)
    assert lines(logs) == [("LateTrade", 1, 0.0), ("LateTrade", 9, 30.0), ("LateTrade", 1, 0.0)]


def test_a_kind_that_stops_repeating_is_not_logged_again(clock: Clock):
    log = limited(clock)
    with structlog.testing.capture_logs() as logs:
        log.record("FutureTrade")
        for _ in range(5):
            clock.now += 60
            log.flush()
    assert lines(logs) == [("FutureTrade", 1, 0.0)]


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, clock: Clock):
    monkeypatch.setenv("LOG_REPEAT_INTERVAL_S", "5")
    assert RepeatSettings().interval_s == 5
    log = RateLimitedLog(structlog.get_logger("test"), "refused", clock=clock)
    with structlog.testing.capture_logs() as logs:
        log.record("x")
        log.record("x")
        clock.now += 5
        log.flush()
    assert lines(logs) == [("x", 1, 0.0), ("x", 1, 5.0)]
