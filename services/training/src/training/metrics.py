"""Prometheus metrics of training: what was trained, how well, and what the gate decided."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TRAINING_SESSIONS = Counter("tickcast_training_sessions_total", "Training sessions by outcome.", ["outcome"])
GATE_DECISIONS = Counter("tickcast_training_gate_decisions_total", "Champion gate decisions.", ["decision"])
TEST_SKILL = Gauge(
    "tickcast_training_test_skill", "Skill vs persistence (1 - MAE/MAE_persistence) of the last candidate.",
    ["model_name", "kind"],
)
FIT_SECONDS = Histogram(
    "tickcast_training_fit_seconds", "Wall-clock seconds of one model fit.", ["kind"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600),
)
