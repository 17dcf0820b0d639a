"""Exactly once on the topic: the last trade id produced per symbol, and what to skip.

Why a high-water mark and not a set of seen ids: Binance trade ids (and aggregate
trade ids) only grow within a symbol, and this service produces each symbol's
trades in id order into one partition with an idempotent producer. So "every id
not above the last one on the topic is a duplicate" is exact, costs one integer
per symbol, and survives restarts by reading the topic's own tail
(:mod:`trade_producer.topic_tail`) instead of a second store that could drift
from it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

IdKind = Literal["trade", "agg"]
IdSpace = tuple[str, IdKind]  # (symbol, kind): plain and aggregate ids are separate sequences


def id_space(symbol: str, aggregate: bool) -> IdSpace:
    return (symbol, "agg" if aggregate else "trade")


class HighWaterMarks:
    """Last id produced per (symbol, id kind); ids at or below it are duplicates."""

    def __init__(self, marks: dict[IdSpace, int] | None = None) -> None:
        self._marks: dict[IdSpace, int] = dict(marks or {})

    def get(self, space: IdSpace) -> int | None:
        return self._marks.get(space)

    def items(self) -> list[tuple[IdSpace, int]]:
        return sorted(self._marks.items())

    def raise_to(self, space: IdSpace, trade_id: int) -> None:
        current = self._marks.get(space)
        if current is None or trade_id > current:
            self._marks[space] = trade_id

    def admit(self, space: IdSpace, trade_id: int) -> bool:
        """True (and remember it) when ``trade_id`` is new for its symbol."""
        current = self._marks.get(space)
        if current is not None and trade_id <= current:
            return False
        self._marks[space] = trade_id
        return True

    def above(self, space: IdSpace, trade_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Mask of the ids above the mark, without moving it (what a restarted replay has left to send)."""
        current = self._marks.get(space)
        if current is None:
            return np.ones(len(trade_ids), dtype=bool)
        return trade_ids > current

    def admit_many(self, space: IdSpace, trade_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Mask of the ids that are new, in order: above the mark and above every earlier id."""
        if not len(trade_ids):
            return np.zeros(0, dtype=bool)
        current = self._marks.get(space, -1)
        earlier_max = np.maximum.accumulate(np.concatenate(([current], trade_ids[:-1])))
        self._marks[space] = max(current, int(trade_ids.max()))
        return trade_ids > earlier_max
