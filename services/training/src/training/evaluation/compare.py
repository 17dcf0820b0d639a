"""``compare``: registered versions of one model side by side."""

from __future__ import annotations

from collections.abc import Sequence

from tickcast.registry import VersionSummary
from training.evaluation.report import format_table

METRICS = ("test_mae", "test_mae_persistence", "test_skill", "test_directional_accuracy", "test_strategy_return",
           "test_buy_and_hold_return")


def versions_table(name: str, versions: Sequence[VersionSummary]) -> str:
    if not versions:
        return f"{name}: no registered versions"
    headers = ["version", "champion", "kind", "test period (ms)", *METRICS, "gate"]
    rows = []
    for summary in versions:
        period = f"{summary.tags.get('test_start_ms', '?')}..{summary.tags.get('test_end_ms', '?')}"
        metrics = [_number(summary.metrics.get(metric)) for metric in METRICS]
        decision = summary.tags.get("gate.decision", "-")
        reason = summary.tags.get("gate.reason", "")
        rows.append([summary.version, "*" if summary.is_champion else "", summary.tags.get("kind", "?"), period,
                     *metrics, f"{decision}: {reason}" if reason else decision])
    return f"{name}\n\n" + format_table(headers, rows)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"
