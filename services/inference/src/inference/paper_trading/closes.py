"""The recent closes of each symbol, by candle open time: what the books are marked with. Pure logic."""

from __future__ import annotations

from bisect import bisect_right, insort


class RecentCloses:
    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._times: dict[str, list[int]] = {}
        self._closes: dict[str, dict[int, float]] = {}

    def add(self, symbol: str, open_ms: int, close: float) -> None:
        closes = self._closes.setdefault(symbol, {})
        times = self._times.setdefault(symbol, [])
        if open_ms not in closes:
            insort(times, open_ms)
        closes[open_ms] = close  # a revised candle replaces itself
        if len(times) > self._cap:
            del closes[times.pop(0)]

    def newest(self, symbol: str) -> int | None:
        times = self._times.get(symbol)
        return times[-1] if times else None

    def at(self, symbol: str, open_ms: int) -> float | None:
        return self._closes.get(symbol, {}).get(open_ms)

    def between(self, symbol: str, after_ms: int | None, until_ms: int) -> list[tuple[int, float]]:
        """(open_ms, close) with after_ms < open_ms <= until_ms, oldest first."""
        times = self._times.get(symbol, [])
        start = 0 if after_ms is None else bisect_right(times, after_ms)
        end = bisect_right(times, until_ms)
        closes = self._closes[symbol] if times else {}
        return [(t, closes[t]) for t in times[start:end]]

    def forget(self, symbol: str) -> None:
        self._times.pop(symbol, None)
        self._closes.pop(symbol, None)
