"""Applies and records live-promotion decisions: the registry's champion alias, its tags, a log line, a metric.

Recorded like the offline gate's decisions: ``live_promotion.*`` tags on the challenger's version
(the gate writes ``gate.*``), the decision logged, counted, and kept in Redis for ``GET /models``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Protocol

import structlog

from inference import metrics
from inference.live_promotion import LivePromotionDecision

log = structlog.get_logger(__name__)


class PromotionRegistry(Protocol):
    """The two registry calls a decision needs (``tickcast.registry.base.ModelRegistry`` has both)."""

    def tag_version(self, name: str, version: str, tags: dict[str, str]) -> None: ...

    def set_champion(self, name: str, version: str) -> None: ...


class DecisionLog(Protocol):
    def record_promotion_decision(self, decision_json: str) -> None: ...


def apply(decision: LivePromotionDecision, registry: PromotionRegistry, store: DecisionLog) -> None:
    """Move the champion alias when promoted (the champion watcher swaps it in), and record the decision."""
    if decision.promote:
        registry.set_champion(decision.model_name, decision.challenger_version)
    registry.tag_version(decision.model_name, decision.challenger_version, decision.tags())
    metrics.LIVE_PROMOTION_DECISIONS.labels("promote" if decision.promote else "keep").inc()
    log.info("live promotion decision", model=decision.model_name, version=decision.challenger_version,
             promoted=decision.promote, reason=decision.reason, **decision.tags())
    # JSON has no NaN: a test without a verdict (no variance) is null.
    values = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in asdict(decision).items()}
    store.record_promotion_decision(json.dumps(values))
