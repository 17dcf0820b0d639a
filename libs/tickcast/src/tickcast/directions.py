"""Which way a forecast points: one definition for live inference and predictions at a past moment."""

from __future__ import annotations

from tickcast.contracts import Direction


def direction_of(log_return: float, dead_band: float) -> Direction:
    """``up`` / ``down`` beyond the model's dead band, ``flat`` within it."""
    if log_return > dead_band:
        return "up"
    if log_return < -dead_band:
        return "down"
    return "flat"
