"""The Diebold-Mariano test of equal forecast accuracy: one definition for the offline gates and live promotion."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

# Fewer paired losses than this give no verdict (p = 1): the variance estimate means nothing yet.
MIN_PAIRS = 10


@dataclass(frozen=True)
class DieboldMariano:
    statistic: float  # negative when the first forecast has the smaller losses
    p_value: float  # one-sided: probability of a statistic this low if both were equally good
    lag: int


def diebold_mariano(losses_a: np.ndarray, losses_b: np.ndarray, horizon: int) -> DieboldMariano:
    """Is forecast A's loss smaller than B's? Newey-West variance of the loss difference.

    The lag covers at least the H-1 overlap of H-candle returns and grows with n,
    since absolute errors also cluster with volatility.
    """
    difference = np.asarray(losses_a, dtype=np.float64) - np.asarray(losses_b, dtype=np.float64)
    n = len(difference)
    if n < MIN_PAIRS:
        return DieboldMariano(float("nan"), 1.0, 0)
    lag = min(n - 1, max(horizon - 1, int(4 * (n / 100) ** (2 / 9))))
    centred = difference - difference.mean()
    variance = float(centred @ centred) / n
    for k in range(1, lag + 1):
        weight = 1 - k / (lag + 1)  # Bartlett kernel keeps the variance positive
        variance += 2 * weight * float(centred[k:] @ centred[:-k]) / n
    if variance <= 0:
        return DieboldMariano(float("nan"), 1.0, lag)
    statistic = difference.mean() / math.sqrt(variance / n)
    return DieboldMariano(float(statistic), float(norm.cdf(statistic)), lag)
