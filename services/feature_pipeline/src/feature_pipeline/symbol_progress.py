"""What the feature pipeline says about requested symbols: how far their features have warmed up.

A new symbol's first vector needs :data:`MIN_CANDLES` candles and :data:`HOURLY_CLOSES` completed
hours in its buffer; until then its status is ``warming_features`` with that share done, then the
same stage at 100 % ("features published") until inference reports ``serving``. Pure: the reports
go to :class:`tickcast.symbol_progress.SymbolProgress`, which writes only what changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tickcast.contracts import FeatureVector, SymbolStage
from tickcast.features.definitions import HOURLY_CLOSES, MIN_CANDLES

from feature_pipeline.processing import SymbolState

# Steps of the reported share: a write per 5 %, not one per candle.
STEP = 0.05


def warm_share(position: int, completed_hours: int) -> float:
    """The share of the warm-up a buffer has done (1.0: its vectors are emitted), in steps of 5 %."""
    share = min(1.0, (position + 1) / MIN_CANDLES, completed_hours / HOURLY_CLOSES)
    return round(int(share / STEP) * STEP, 2)


def warming_reports(
    states: Mapping[bytes, SymbolState], vectors: Iterable[FeatureVector], interval: str
) -> list[tuple[str, SymbolStage, dict[str, Any]]]:
    """One report per symbol of the batch (of the served ``interval``): its warm-up, or its features out."""
    emitted = {vector.symbol for vector in vectors if vector.interval == interval}
    reports: list[tuple[str, SymbolStage, dict[str, Any]]] = []
    for key, state in states.items():
        symbol, _, key_interval = key.decode().partition(":")
        if key_interval != interval:
            continue
        if symbol in emitted:
            reports.append((symbol, "warming_features", {"progress": 1.0,
                            "detail": "features published; inference follows"}))
            continue
        buffer = state.buffer
        reports.append((symbol, "warming_features", {
            "progress": warm_share(buffer.position, buffer.completed_hours),
            "detail": f"candles arriving: the features need {MIN_CANDLES} candles and {HOURLY_CLOSES} completed "
                      f"hours ({buffer.completed_hours} so far)",
        }))
    return reports
