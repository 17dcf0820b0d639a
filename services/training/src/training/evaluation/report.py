"""The comparison table of models and baselines, as printed and as kept with the run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from training.evaluation.measures import Evaluation


@dataclass(frozen=True)
class ReportRow:
    name: str  # "persistence", "ema_drift", "mlp", ...
    evaluation: Evaluation
    epochs: int | None = None
    fit_seconds: float | None = None
    version: str | None = None


def _row_cells(row: ReportRow) -> list[str]:
    e = row.evaluation
    direction = "-" if e.directional_n == 0 else (
        f"{e.directional_accuracy:.3f} [{e.directional_ci_low:.3f}, {e.directional_ci_high:.3f}]"
    )
    return [
        row.name,
        row.version or "-",
        f"{e.mae:.6g}",
        f"{e.rmse:.6g}",
        f"{e.skill:+.4f}",
        direction,
        f"{e.backtest.strategy_return:+.2%}",
        f"{e.backtest.buy_and_hold_return:+.2%}",
        str(e.backtest.trades),
        "-" if row.epochs is None else str(row.epochs),
        "-" if row.fit_seconds is None else f"{row.fit_seconds:.1f}",
    ]


HEADERS = ["model", "version", "MAE", "RMSE", "skill", "dir. acc. [95% CI]", "long/flat", "buy&hold", "trades",
           "epochs", "fit s"]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)).rstrip()
             for line in [headers, ["-" * width for width in widths], *rows]]
    return "\n".join(lines)


def comparison_table(rows: Sequence[ReportRow]) -> str:
    return format_table(HEADERS, [_row_cells(row) for row in rows])
