"""The replayed-retraining backtest as an MLflow run: tables, per-step CSV and plots."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from training.plots import equity_curve
from training.replay import SERVED, ReplayResult
from training.tracking import RunTracker


def error_advantage_plot(result: ReplayResult, title: str, path: Path) -> Path:
    """Cumulative |persistence error| - |forecast error| over time: rising means beating "no change".

    Dashed lines mark the sessions; solid ones the sessions whose gate promoted a new champion.
    """
    from matplotlib.figure import Figure

    times = pd.to_datetime(result.labelled["timestamp_ms"].to_numpy()[result.rows], unit="ms", utc=True)
    actual = result.targets
    figure = Figure(figsize=(11, 4.5))
    axes = figure.subplots()
    for name, predicted in result.predictions.items():
        gain = np.abs(actual) - np.abs(np.nan_to_num(predicted, nan=0.0) - actual)
        axes.plot(times, np.cumsum(gain), linewidth=1.6 if name == SERVED else 0.8,
                  label=name if name == SERVED else f"{name} (ungated)")
    for step in result.steps:
        promoted = step.cutoff_ms in result.cutoffs_promoted
        axes.axvline(pd.Timestamp(step.cutoff_ms, unit="ms", tz="UTC"), color="green" if promoted else "grey",
                     linestyle="-" if promoted else ":", linewidth=0.8)
    axes.axhline(0, color="red", linewidth=0.8)
    axes.set_ylabel("cumulative error advantage over persistence")
    axes.legend(loc="upper left", fontsize=8)
    figure.suptitle(title)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    return path


def step_skill_plot(result: ReplayResult, title: str, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 3.5))
    axes = figure.subplots()
    skills = [step.skill for step in result.steps]
    colours = ["green" if s > 0 else "firebrick" for s in np.nan_to_num(skills)]
    axes.bar(range(1, len(skills) + 1), np.nan_to_num(skills), color=colours)
    axes.axhline(0, color="black", linewidth=0.8)
    axes.set_xlabel("step (one retraining period)")
    axes.set_ylabel("skill of what was served")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    return path


def steps_frame(result: ReplayResult) -> pd.DataFrame:
    return pd.DataFrame([
        {
            "cutoff_ms": step.cutoff_ms, "until_ms": step.until_ms, "candidate": step.candidate or "",
            "promoted": bool(step.decision and step.decision.promote), "served": step.served, "rows": step.n,
            "mae": step.mae, "mae_persistence": step.mae_persistence, "skill": step.skill,
            "p_value": np.nan if step.decision is None else step.decision.p_value,
            "reason": step.problem or ("" if step.decision is None else step.decision.reason),
        }
        for step in result.steps
    ])


def log_replay(
    tracker: RunTracker, result: ReplayResult, name: str, params: Mapping[str, object], out_dir: Path
) -> str:
    """One MLflow run holding the whole backtest; returns its id."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run_id = tracker.start(f"backtest {name}", params=params, tags={"tickcast.model_name": name,
                                                                      "tickcast.kind": "replayed-retraining"})
    try:
        title = f"{name}: replayed retraining, served skill {result.served.skill:+.4f}"
        steps_csv = out_dir / "steps.csv"
        steps_frame(result).to_csv(steps_csv, index=False)
        plots = [
            error_advantage_plot(result, title, out_dir / "error_advantage.png"),
            step_skill_plot(result, title, out_dir / "skill_by_step.png"),
            equity_curve(result.served.backtest, title, out_dir / "served_equity_curve.png"),
        ]
        tracker.log_artifacts(run_id, plots, "plots")
        tracker.log_artifacts(run_id, [steps_csv])
        tracker.log_text(run_id, result.table() + "\n", "report.txt")
        tracker.log_text(run_id, result.steps_table() + "\n", "steps.txt")
        metrics = {key: value for row in result.report_rows
                   for key, value in row.evaluation.metrics(f"replay_{row.name.replace(' ', '_')}_").items()}
        metrics |= {
            "dm_statistic": result.versus_persistence.statistic, "dm_p_value": result.versus_persistence.p_value,
            "steps": float(len(result.steps)), "promotions": float(len(result.cutoffs_promoted)),
            "failed_steps": float(sum(step.problem is not None for step in result.steps)),
        }
        tracker.log_metrics(run_id, metrics)
        tracker.end(run_id)
    except BaseException:
        tracker.end(run_id, failed=True)
        raise
    return run_id
