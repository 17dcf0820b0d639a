"""The quantile levels every distribution forecast carries, and the central intervals they make."""

from __future__ import annotations

import numpy as np

LEVELS: tuple[float, ...] = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)

# Nominal coverage -> (lower level, upper level), both in LEVELS.
INTERVALS: dict[float, tuple[float, float]] = {0.5: (0.25, 0.75), 0.8: (0.10, 0.90), 0.9: (0.05, 0.95)}


def level_index(level: float) -> int:
    return int(np.argmin(np.abs(np.asarray(LEVELS) - level)))


def monotone(quantiles: np.ndarray) -> np.ndarray:
    """Quantiles sorted along the last axis: a forecast never has crossing quantiles."""
    return np.sort(np.asarray(quantiles, dtype=np.float64), axis=-1)


def interval(quantiles: np.ndarray, nominal: float) -> tuple[np.ndarray, np.ndarray]:
    low, high = INTERVALS[nominal]
    return quantiles[..., level_index(low)], quantiles[..., level_index(high)]
