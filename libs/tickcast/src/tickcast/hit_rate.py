"""A hit rate with its Wilson score interval (statsmodels), so a short window does not look certain."""

from __future__ import annotations

from dataclasses import dataclass

from statsmodels.stats.proportion import proportion_confint

CONFIDENCE = 0.95


@dataclass(frozen=True)
class HitRate:
    rate: float
    low: float  # Wilson interval at CONFIDENCE
    high: float
    hits: int
    count: int


def hit_rate(hits: int, count: int, confidence: float = CONFIDENCE) -> HitRate | None:
    """None before anything was scored."""
    if count <= 0:
        return None
    rate = hits / count
    low, high = proportion_confint(hits, count, alpha=1 - confidence, method="wilson")
    # At 0 or 1 hits the bound is the rate itself, up to rounding: never on the wrong side of it.
    return HitRate(rate, min(float(low), rate), max(float(high), rate), hits, count)
