"""Epoch timestamps of the dump files: milliseconds, or microseconds in Binance's spot files from 2025 on.

Both come out as milliseconds. The unit is told apart by size: an epoch-millisecond value
of ``MICROSECONDS_FROM`` or more would be after the year 5138, so it must be microseconds
(and the smallest microsecond value, 1970 plus a day, is already above it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MICROSECONDS_FROM = 10**14


def epoch_ms(value: int) -> int:
    """One dump-file timestamp (ms or µs) in milliseconds."""
    return value // 1000 if value >= MICROSECONDS_FROM else value


def epoch_ms_array(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Dump-file timestamps (each ms or µs) in milliseconds."""
    return np.where(values >= MICROSECONDS_FROM, values // 1000, values)
