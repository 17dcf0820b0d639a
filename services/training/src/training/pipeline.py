"""A training session: baselines, candidates, registration, and the champion gate.

Dataflow: prepared dataset -> baselines on the test part -> each candidate fitted,
evaluated on the same test rows, logged as an MLflow run and registered -> the best
candidate goes through the gate against persistence and the current champion ->
the comparison table is printed and kept with the session run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import structlog

from training import metrics as prom
from training.baselines import ema_drift, persistence
from tickcast.model_bundle.bundle import save_bundle
from tickcast.model_bundle.flavours import KERAS
from training.config import TrainingSettings
from training.dataset import NEXT_RETURN_COLUMN, PreparedDataset, build_samples
from training.evaluation import Evaluation, direction_report, evaluate
from training.gate import GateDecision, decide
from training.models import FitSettings
from training.plots import equity_curve, predicted_vs_actual
from tickcast.registry import ModelRegistry, ModelToRegister
from training.report import ReportRow, comparison_table
from tickcast.serving import ServableModel, registered_model_name
from training.tracking import RunTracker
from training.trainer import TrainedModel, train_model

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CandidateResult:
    kind: str
    version: str
    run_id: str
    evaluation: Evaluation
    errors: np.ndarray  # primary-horizon forecast errors on the test rows
    trained: TrainedModel
    validation_mae: float  # picks the session's candidate for the gate, so test rows only judge it


@dataclass(frozen=True)
class SessionResult:
    model_name: str
    session_run_id: str
    rows: list[ReportRow]
    candidates: list[CandidateResult]
    decision: GateDecision | None
    table: str


def fit_settings(settings: TrainingSettings, show_progress: bool = True) -> FitSettings:
    return FitSettings(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        patience=settings.patience,
        learning_rate=settings.learning_rate,
        time_budget_s=settings.time_budget_s,
        seed=settings.seed,
        show_progress=show_progress,
    )


def run_session(
    settings: TrainingSettings,
    data: PreparedDataset,
    registry: ModelRegistry,
    tracker: RunTracker,
    kinds: Sequence[str] = (),
    external: Sequence[TrainedModel] = (),
    apply_gate: bool = True,
    shuffle_labels: bool = False,
    show_progress: bool = True,
) -> SessionResult:
    name = registered_model_name(data.symbols, data.interval, data.horizons[0])
    session_id = tracker.start(
        f"session {name}", params=_session_params(settings, data), tags={"tickcast.model_name": name}
    )
    out_dir = settings.output_dir / session_id
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        rows = _baseline_rows(settings, data)
        candidates: list[CandidateResult] = []
        for kind in kinds:
            trained = train_model(kind, data, fit_settings(settings, show_progress), shuffle_labels)
            candidates.append(_log_and_register(name, trained, data, settings, registry, tracker, session_id, out_dir))
        for trained in external:
            candidates.append(_log_and_register(name, trained, data, settings, registry, tracker, session_id, out_dir))
        rows += [
            ReportRow(c.kind, c.evaluation, c.trained.fit.epochs_run if c.trained.fit else None,
                      c.trained.fit.seconds if c.trained.fit else None, c.version)
            for c in candidates
        ]
        decision = None
        if apply_gate and candidates:
            # Chosen on validation: picking the best of several on test, then testing it there, would
            # favour whichever got lucky on those very rows.
            best = min(candidates, key=lambda candidate: candidate.validation_mae)
            decision = gate_candidate(settings, registry, tracker, name, data, best)
        table = comparison_table(rows)
        tracker.log_text(session_id, table + "\n", "report.txt")
        tracker.log_metrics(session_id, {f"{r.name}_{k}": v for r in rows for k, v in r.evaluation.metrics().items()})
        if decision is not None:
            tracker.set_tags(session_id, decision.tags())
        tracker.end(session_id)
        prom.TRAINING_SESSIONS.labels("ok").inc()
    except BaseException:
        tracker.end(session_id, failed=True)
        prom.TRAINING_SESSIONS.labels("failed").inc()
        raise
    log.info("training session done", model=name, run_id=session_id, candidates=len(candidates))
    return SessionResult(name, session_id, rows, candidates, decision, table)


def _session_params(settings: TrainingSettings, data: PreparedDataset) -> dict[str, object]:
    return {
        "symbols": ",".join(data.symbols),
        "interval": data.interval,
        "horizons": ",".join(map(str, data.horizons)),
        "dead_band": data.dead_band,
        "lag_window": data.lag_window,
        "feature_set_version": data.feature_set_version,
        "n_features": len(data.feature_names),
        "train_rows": len(data.train),
        "validation_rows": len(data.validation),
        "test_rows": len(data.test),
        "train_start_ms": data.split.train_start_ms,
        "test_start_ms": data.split.test_start_ms,
        "test_end_ms": data.split.test_end_ms,
        "gap_candles": data.split.gap_candles,
        "fee_bps": settings.fee_bps,
        "ema_span": settings.ema_span,
    }


def _evaluate(settings: TrainingSettings, data: PreparedDataset, predicted: np.ndarray) -> Evaluation:
    test = data.test
    return evaluate(
        predicted,
        test.targets,
        data.horizons,
        data.column(test, NEXT_RETURN_COLUMN),
        data.column(test, "symbol"),
        settings.fee_bps,
    )


def _baseline_rows(settings: TrainingSettings, data: PreparedDataset) -> list[ReportRow]:
    n = len(data.test)
    return [
        ReportRow("persistence", _evaluate(settings, data, persistence(n, data.horizons))),
        ReportRow(
            "ema_drift",
            _evaluate(settings, data, ema_drift(data.labelled, data.test.rows, data.horizons, settings.ema_span)),
        ),
    ]


def _log_and_register(
    name: str,
    trained: TrainedModel,
    data: PreparedDataset,
    settings: TrainingSettings,
    registry: ModelRegistry,
    tracker: RunTracker,
    session_id: str,
    out_dir: Path,
) -> CandidateResult:
    """Evaluate on the test part, keep plots and report in a child run, register the bundle."""
    test = data.test
    windows = test.last(trained.metadata.lag_window)
    predicted = trained.servable.predict_all_horizons(windows)
    evaluation = _evaluate(settings, data, predicted)
    folder = out_dir / trained.kind
    folder.mkdir(parents=True, exist_ok=True)
    title = f"{name} {trained.kind}: skill {evaluation.skill:+.4f}"
    artifacts = [
        predicted_vs_actual(test.targets[:, 0], predicted[:, 0], title, folder / "predicted_vs_actual.png"),
        equity_curve(evaluation.backtest, title, folder / "equity_curve.png"),
    ]
    probabilities = trained.servable.predict_direction_proba(windows)
    if probabilities is not None:
        (folder / "direction_report.txt").write_text(direction_report(test.directions, probabilities.argmax(axis=1)))
        artifacts.append(folder / "direction_report.txt")
    params: dict[str, object] = {"kind": trained.kind, "model_lag": trained.metadata.lag_window}
    if trained.fit is not None and trained.metadata.flavour != KERAS:
        params.update(seed=settings.seed, fit=trained.fit.stopped_by, flavour=trained.metadata.flavour)
        params.update({f"shrinkage_h{h}": factor for h, factor in zip(data.horizons, trained.shrinkage, strict=False)})
    elif trained.fit is not None:
        params.update(
            epochs=settings.epochs, batch_size=settings.batch_size, patience=settings.patience,
            learning_rate=settings.learning_rate, time_budget_s=settings.time_budget_s, seed=settings.seed,
            epochs_run=trained.fit.epochs_run, best_epoch=trained.fit.best_epoch, stopped_by=trained.fit.stopped_by,
        )
        params.update({f"shrinkage_h{h}": factor for h, factor in zip(data.horizons, trained.shrinkage, strict=False)})
    run_id = tracker.start(
        f"{trained.kind} {name}", params=params, tags={"tickcast.model_name": name}, parent_run_id=session_id
    )
    chosen_on = validation_mae(trained, data)
    metrics = {**evaluation.metrics(), "validation_mae": chosen_on}
    if trained.fit is not None:
        metrics.update(fit_seconds=trained.fit.seconds, best_val_loss=trained.fit.best_val_loss)
    tracker.log_metrics(run_id, metrics)
    tracker.log_artifacts(run_id, artifacts, "plots")
    bundle = save_bundle(folder / "bundle", trained.model, trained.scaler, trained.metadata, windows[:5])
    version = registry.register(
        name,
        ModelToRegister(
            bundle_dir=bundle,
            metrics=evaluation.metrics(),
            tags={
                "kind": trained.kind,
                "feature_set_version": data.feature_set_version,
                "test_start_ms": str(data.split.test_start_ms),
                "test_end_ms": str(data.split.test_end_ms),
                "session_run_id": session_id,
            },
            input_example=windows[:5],
            run_id=run_id,
        ),
    )
    tracker.set_tags(run_id, {"tickcast.registered_version": version})
    tracker.end(run_id)
    prom.TEST_SKILL.labels(name, trained.kind).set(evaluation.skill)
    if trained.fit is not None:
        prom.FIT_SECONDS.labels(trained.kind).observe(trained.fit.seconds)
    log.info("candidate evaluated", model=name, kind=trained.kind, version=version, **_brief(evaluation))
    errors = predicted[:, 0] - test.targets[:, 0]
    return CandidateResult(trained.kind, version, run_id, evaluation, errors, trained, chosen_on)


def validation_mae(trained: TrainedModel, data: PreparedDataset) -> float:
    """Primary-horizon MAE on the validation part: how a session picks the candidate it gates."""
    windows = data.validation.last(trained.metadata.lag_window)
    return float(np.mean(np.abs(trained.servable.predict(windows) - data.validation.primary_targets())))


def _brief(evaluation: Evaluation) -> dict[str, float]:
    return {"mae": evaluation.mae, "mae_persistence": evaluation.mae_persistence, "skill": evaluation.skill}


def champion_errors(champion: ServableModel, data: PreparedDataset) -> tuple[np.ndarray | None, str | None]:
    """The champion's primary-horizon errors on exactly the candidate's test rows, or why not."""
    missing = sorted(set(champion.feature_names) - set(data.labelled.columns))
    if missing:
        return None, f"features missing from this dataset: {missing}"
    if (champion.interval, champion.horizon) != (data.interval, data.horizons[0]):
        return None, f"champion is {champion.interval} h{champion.horizon}, candidate {data.interval} h{data.horizons[0]}"
    on_test = np.zeros(len(data.labelled), dtype=bool)
    on_test[data.test.rows] = True
    samples = build_samples(
        data.labelled, champion.feature_names, [data.horizons[0]], champion.lag_window, data.interval_ms, on_test
    )
    if not np.array_equal(samples.rows, data.test.rows):
        return None, f"its inputs cover {len(samples)} of the {len(data.test)} test rows"
    return champion.predict(samples.windows) - data.test.targets[:, 0], None


def gate_candidate(
    settings: TrainingSettings,
    registry: ModelRegistry,
    tracker: RunTracker,
    name: str,
    data: PreparedDataset,
    candidate: CandidateResult,
) -> GateDecision:
    """Apply the gate to ``candidate``; move the alias if it earned it; record the decision everywhere."""
    current = registry.champion_version(name)
    errors, problem = None, None
    if current is not None:
        try:
            errors, problem = champion_errors(registry.load(name, current), data)
        except Exception as exc:  # a broken champion must not block the record of this decision
            problem = f"could not be loaded: {exc!r}"
    decision = decide(
        candidate.version,
        candidate.errors,
        data.test.targets[:, 0],  # persistence predicts 0, so its error is minus the outcome
        horizon=data.horizons[0],
        margin=settings.gate_margin,
        alpha=settings.gate_alpha,
        champion_version=current,
        champion_errors=errors,
        champion_problem=problem,
    )
    if decision.promote:
        registry.set_champion(name, candidate.version)
    record_decision(registry, tracker, name, candidate.version, decision.tags(), decision.promote, decision.reason)
    tracker.set_tags(candidate.run_id, decision.tags())
    return decision


def record_decision(
    registry: ModelRegistry,
    tracker: RunTracker,
    name: str,
    version: str,
    tags: dict[str, str],
    promoted: bool,
    reason: str,
) -> None:
    """Every gate or manual decision: tags on the version, a run in the gate experiment, a log line."""
    registry.tag_version(name, version, tags)
    run_id = tracker.start(f"{name} v{version}: {tags.get('gate.decision', 'decision')}", tags={
        "tickcast.model_name": name, "tickcast.version": version, **tags,
    }, decisions=True)
    numbers = {key.removeprefix("gate."): float(value) for key, value in tags.items() if _is_number(value)}
    tracker.log_metrics(run_id, numbers)
    tracker.end(run_id)
    prom.GATE_DECISIONS.labels(tags.get("gate.decision", "unknown")).inc()
    log.info("champion decision", model=name, version=version, promoted=promoted, reason=reason, **tags)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def manual_decision(
    registry: ModelRegistry,
    tracker: RunTracker,
    name: str,
    action: str,
    reason: str,
    version: str | None = None,
) -> str | None:
    """``promote`` moves the champion alias to ``version``; ``demote`` removes it (or moves it to
    ``version``). Both record who-knows-why in ``reason``. Returns the champion afterwards.
    """
    if not reason.strip():
        raise ValueError("a manual override needs a reason")
    previous = registry.champion_version(name)
    known = {summary.version for summary in registry.versions(name)}
    if version is not None and version not in known:
        raise ValueError(f"{name} has no version {version}; it has {sorted(known, key=int)}")
    if action == "promote":
        if version is None:
            raise ValueError("promote needs a version")
        registry.set_champion(name, version)
    elif action == "demote":
        if previous is None and version is None:
            raise ValueError(f"{name} has no champion to demote")
        registry.clear_champion(name) if version is None else registry.set_champion(name, version)
    else:
        raise ValueError(f"unknown action {action!r}")
    current = registry.champion_version(name)
    tags = {
        "gate.decision": f"manual-{action}",
        "gate.reason": reason,
        "gate.previous_champion": previous or "",
        "gate.champion_after": current or "",
        "gate.decided_at_ms": str(int(time.time() * 1000)),
    }
    record_decision(registry, tracker, name, version or previous or "", tags, action == "promote", reason)
    return current
