"""Candle intervals as the exchange names them ("1m", "5m", "1h", "1d")."""

from __future__ import annotations

_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def interval_ms(interval: str) -> int:
    """Length of an interval in milliseconds; ``ValueError`` names the bad value."""
    number, unit = interval[:-1], interval[-1:]
    if unit not in _UNIT_MS or not number.isdigit() or int(number) <= 0:
        raise ValueError(f"unknown interval {interval!r}: expected e.g. 1m, 5m, 15m, 1h, 4h, 1d")
    return int(number) * _UNIT_MS[unit]


def window_start(timestamp_ms: int, interval: str) -> int:
    """Open time of the UTC-aligned window that holds ``timestamp_ms``."""
    span = interval_ms(interval)
    return timestamp_ms - timestamp_ms % span


def last_closed_open_ms(time_ms: int, interval: str) -> int:
    """Open time of the newest candle closed at ``time_ms`` (the one whose window ended by then)."""
    return window_start(time_ms, interval) - interval_ms(interval)


def parse_intervals(text: str) -> list[str]:
    """``"1m,5m,1h"`` -> ``["1m", "5m", "1h"]``, each checked."""
    intervals = [part.strip() for part in text.split(",") if part.strip()]
    for interval in intervals:
        interval_ms(interval)
    return intervals
