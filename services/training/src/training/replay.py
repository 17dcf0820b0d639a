"""A backtest that replays the retraining schedule: what would really have been served.

Walking forward from ``start``, every ``every`` milliseconds (a *cutoff*) it does what
``training schedule`` does at that moment: a session on the trailing ``lookback`` of data
(only rows before the cutoff, labelled only with outcomes known by then), every kind
fitted, the best on validation put through the same gate against persistence and the
champion of the time. The champion after the gate (or persistence when there is none,
as inference serves) then forecasts the next ``every`` of data, which no model has seen.
Each kind's own forecast of those rows is kept too, as if it were served ungated.

Nothing is registered: the replay's champions live in memory. Pure logic, no MLflow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import structlog

from training.evaluation.baselines import ema_drift, persistence
from training.config import TrainingSettings
from training.data.dataset import NEXT_RETURN_COLUMN, PreparedDataset, add_labels, build_samples, prepare_dataset
from training.evaluation.measures import Evaluation, evaluate
from tickcast.diebold_mariano import DieboldMariano, diebold_mariano
from training.evaluation.gate import GateDecision, decide
from training.models.networks import FitSettings
from training.pipeline import champion_errors, validation_mae
from training.evaluation.report import ReportRow, comparison_table, format_table
from training.models.trainer import train_model
from tickcast.serving import ServableModel

log = structlog.get_logger(__name__)

SERVED = "served"
PERSISTENCE = "persistence"


@dataclass(frozen=True)
class ReplayStep:
    cutoff_ms: int  # the session ran here, on data before it
    until_ms: int  # its champion served up to here
    candidate: str | None  # the kind the session put through the gate
    decision: GateDecision | None
    served: str  # "persistence", or "<kind> (step N)"
    n: int  # rows scored in [cutoff, until)
    mae: float
    mae_persistence: float
    problem: str | None = None  # why the session failed (the schedule then keeps the old champion)

    @property
    def skill(self) -> float:
        return 1 - self.mae / self.mae_persistence if self.n and self.mae_persistence > 0 else float("nan")


@dataclass(frozen=True)
class ReplayResult:
    steps: list[ReplayStep]
    rows: np.ndarray  # rows of ``labelled`` scored, in time order
    labelled: pd.DataFrame
    horizon: int
    predictions: dict[str, np.ndarray]  # served, each kind ungated: primary-horizon forecasts on ``rows``
    report_rows: list[ReportRow]
    versus_persistence: DieboldMariano  # served against persistence on every scored row
    cutoffs_promoted: list[int] = field(default_factory=list)

    @property
    def targets(self) -> np.ndarray:
        return self.labelled[f"target_h{self.horizon}"].to_numpy()[self.rows]

    @property
    def served(self) -> Evaluation:
        return next(row.evaluation for row in self.report_rows if row.name == SERVED)

    def table(self) -> str:
        return comparison_table(self.report_rows)

    def steps_table(self) -> str:
        def when(ms: int) -> str:
            return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")

        rows = [
            [
                str(index + 1), when(step.cutoff_ms), when(step.until_ms), step.candidate or "-",
                "-" if step.decision is None else ("promote" if step.decision.promote else "keep"),
                step.served, str(step.n), f"{step.mae:.6g}", f"{step.mae_persistence:.6g}", f"{step.skill:+.4f}",
                step.problem or ("" if step.decision is None else step.decision.reason),
            ]
            for index, step in enumerate(self.steps)
        ]
        headers = ["step", "cutoff", "serves until", "candidate", "gate", "served", "rows", "MAE", "MAE persistence",
                   "skill", "reason"]
        return format_table(headers, rows)


def cutoffs(start_ms: int, end_ms: int, every_ms: int) -> list[int]:
    if every_ms <= 0 or end_ms <= start_ms:
        raise ValueError("the replay needs start < end and a positive retraining period")
    return list(range(start_ms, end_ms, every_ms))


def replay_retraining(
    frame: pd.DataFrame,
    settings: TrainingSettings,
    kinds: Sequence[str],
    start_ms: int,
    end_ms: int,
    every_ms: int,
    lookback_ms: int,
    fit: FitSettings,
    on_step: Callable[[ReplayStep], None] | None = None,
) -> ReplayResult:
    """Replay the schedule on ``frame`` (features from before ``start - lookback`` to ``end``)."""
    if not kinds:
        raise ValueError("the replay needs at least one model kind")
    horizon = settings.horizon_list()[0]
    interval_ms = settings.interval_ms()
    labelled = add_labels(frame, [horizon], settings.dead_band, interval_ms)
    times = labelled["timestamp_ms"].to_numpy()
    champion: ServableModel | None = None
    steps: list[ReplayStep] = []
    scored_rows: list[np.ndarray] = []
    forecasts: dict[str, list[np.ndarray]] = {SERVED: [], **{kind: [] for kind in kinds}}
    promoted_at: list[int] = []
    for index, cutoff in enumerate(cutoffs(start_ms, end_ms, every_ms)):
        until = min(cutoff + every_ms, end_ms)
        trained: dict[str, ServableModel] = {}
        candidate, decision, problem = None, None, None
        try:
            session = frame[(frame["timestamp_ms"] >= cutoff - lookback_ms) & (frame["timestamp_ms"] < cutoff)]
            data = prepare_dataset(
                session, settings.horizon_list(), settings.dead_band, settings.interval, interval_ms,
                settings.lag_window, settings.validation_fraction, settings.test_fraction,
                settings.excluded_features(),
            )
            candidate, decision, trained = _session(settings, data, kinds, fit, champion, step=str(index + 1))
            if decision.promote:
                champion = trained[candidate]
                promoted_at.append(cutoff)
        except Exception as exc:  # as the schedule: a failed session keeps the old champion
            problem = f"session failed: {exc}"
            log.warning("replayed session failed", cutoff_ms=cutoff, error=str(exc))
        block = (times >= cutoff) & (times < until)
        names = champion.feature_names if champion is not None else _feature_names(settings, labelled, trained)
        samples = build_samples(labelled, names, [horizon], settings.lag_window, interval_ms, block)
        if champion is None or len(samples) == 0:
            served = persistence(len(samples), [horizon])[:, 0]
        else:
            served = champion.predict(samples.windows)
        forecasts[SERVED].append(served)
        for kind in kinds:
            model = trained.get(kind)
            usable = model is not None and len(samples) > 0
            forecasts[kind].append(model.predict(samples.windows) if usable else np.full(len(samples), np.nan))
        scored_rows.append(samples.rows)
        actual = samples.targets[:, 0]
        step = ReplayStep(
            cutoff, until, candidate, decision,
            PERSISTENCE if champion is None else f"{champion.kind} (step {champion.version})",
            len(samples),
            float(np.mean(np.abs(served - actual))) if len(samples) else float("nan"),
            float(np.mean(np.abs(actual))) if len(samples) else float("nan"),
            problem,
        )
        steps.append(step)
        if on_step is not None:
            on_step(step)
    rows = np.concatenate(scored_rows) if scored_rows else np.empty(0, dtype=np.int64)
    predictions = {name: np.concatenate(parts) if parts else np.empty(0) for name, parts in forecasts.items()}
    return _result(settings, labelled, rows, horizon, predictions, steps, promoted_at)


def _session(
    settings: TrainingSettings,
    data: PreparedDataset,
    kinds: Sequence[str],
    fit: FitSettings,
    champion: ServableModel | None,
    step: str,
) -> tuple[str, GateDecision, dict[str, ServableModel]]:
    """What one scheduled session decides: fit every kind, gate the best on validation."""
    trained, chosen_on = {}, {}
    for kind in kinds:
        model = train_model(kind, data, fit)
        trained[kind] = dataclasses.replace(model.servable, name="replay", version=step)
        chosen_on[kind] = validation_mae(model, data)
    best = min(chosen_on, key=chosen_on.__getitem__)
    predicted = trained[best].predict(data.test.last(trained[best].lag_window))
    errors, problem = (None, None) if champion is None else champion_errors(champion, data)
    decision = decide(
        step, predicted - data.test.targets[:, 0], data.test.targets[:, 0], horizon=data.horizons[0],
        margin=settings.gate_margin, alpha=settings.gate_alpha,
        champion_version=None if champion is None else champion.version,
        champion_errors=errors, champion_problem=problem,
    )
    return best, decision, trained


def _feature_names(settings: TrainingSettings, labelled: pd.DataFrame, trained: dict[str, ServableModel]) -> list[str]:
    if trained:
        return next(iter(trained.values())).feature_names
    from training.data.dataset import feature_columns

    return [name for name in feature_columns(labelled) if name not in set(settings.excluded_features())]


def _result(
    settings: TrainingSettings,
    labelled: pd.DataFrame,
    rows: np.ndarray,
    horizon: int,
    predictions: dict[str, np.ndarray],
    steps: list[ReplayStep],
    promoted_at: list[int],
) -> ReplayResult:
    if len(rows) == 0:
        raise ValueError("no row of the replayed period could be scored")
    targets = labelled[f"target_h{horizon}"].to_numpy()[rows][:, None]
    next_returns = labelled[NEXT_RETURN_COLUMN].to_numpy()[rows]
    symbols = labelled["symbol"].to_numpy()[rows]

    def scored(name: str, predicted: np.ndarray) -> ReportRow:
        return ReportRow(name, evaluate(predicted, targets, [horizon], next_returns, symbols, settings.fee_bps))

    report = [
        scored(PERSISTENCE, persistence(len(rows), [horizon])),
        scored("ema_drift", ema_drift(labelled, rows, [horizon], settings.ema_span)),
        scored(SERVED, predictions[SERVED][:, None]),
    ]
    for kind, predicted in predictions.items():
        # A kind whose session failed somewhere has no forecast there: scored where it has one would
        # compare it on other rows than the rest, so it is scored with persistence in those gaps.
        if kind != SERVED:
            report.append(scored(f"{kind} ungated", np.nan_to_num(predicted, nan=0.0)[:, None]))
    served_losses = np.abs(predictions[SERVED] - targets[:, 0])
    versus = diebold_mariano(served_losses, np.abs(targets[:, 0]), horizon)
    return ReplayResult(steps, rows, labelled, horizon, predictions, report, versus, promoted_at)
