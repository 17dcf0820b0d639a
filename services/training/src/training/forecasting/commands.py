"""What ``python -m training forecast`` and ``forecast-evaluate`` do, apart from parsing options."""

from __future__ import annotations

from typing import Any

import structlog

from tickcast.forecast.store import forecast_set_name, load_forecaster_set

from training.cli.options import DatasetSource, Source, day_range
from training.config import TrainingSettings
from training.forecasting.data import PooledCloses, closes_from_frame, closes_from_klines
from training.forecasting.registration import register_set
from training.forecasting.session import ForecastSession, ForecastSettings, evaluate_set, run_forecast_session
from training.tracking import RunTracker

log = structlog.get_logger(__name__)


def pooled_closes(data: DatasetSource, settings: TrainingSettings) -> PooledCloses:
    symbols, interval = settings.symbol_list(), settings.interval
    if data.source == Source.klines:
        if data.klines_dir is None:
            raise ValueError("--klines-dir is required with --source klines")
        first, last = day_range(data.start, data.end, data.lookback)
        return closes_from_klines(data.klines_dir, symbols, interval, settings.interval_ms(), first, last)
    frame = data.frame(settings)
    return closes_from_frame(frame, settings.interval_ms(), "synthetic" if data.source == Source.synthetic else "store")


def forecast_settings(settings: TrainingSettings, neural: bool = True) -> ForecastSettings:
    return ForecastSettings(neural=neural, seed=settings.seed,
        horizons=tuple(settings.forecast_horizon_list()), dead_band=settings.dead_band,
        validation_fraction=settings.validation_fraction, test_fraction=settings.test_fraction,
        margin=settings.gate_margin, alpha=settings.gate_alpha)


def train_forecasters(settings: TrainingSettings, pooled: PooledCloses, register: bool = True,
                      neural: bool = True) -> tuple[ForecastSession, str, str | None]:
    """Fit, score, gate; keep the report and every decision in MLflow; register the set. (session, run, version)"""
    name = forecast_set_name(settings.symbol_list(), settings.interval)
    chosen = forecast_settings(settings, neural)
    tracker = RunTracker(settings.registry)
    run_id = tracker.start(f"forecast {name}", params={
        "symbols": ",".join(pooled.symbols), "interval": settings.interval,
        "horizons": ",".join(map(str, chosen.horizons)), "dead_band": chosen.dead_band, "source": pooled.source,
        "validation_fraction": chosen.validation_fraction, "test_fraction": chosen.test_fraction,
        "alpha": chosen.alpha, "margin": chosen.margin, "coverage_tolerance": chosen.coverage_tolerance,
        "volatility_margin": chosen.volatility_margin, "neural": chosen.neural,
    }, tags={"tickcast.model_name": name, "tickcast.kind": "forecaster-set"})
    try:
        session = run_forecast_session(pooled, chosen, settings.interval, name)
        tracker.log_params(run_id, {"test_start_ms": session.split.test_start_ms,
                                    "validation_start_ms": session.split.validation_start_ms,
                                    "train_rows": len(session.split.train), "test_rows": len(session.split.test)})
        tracker.log_metrics(run_id, session.forecaster_set.info["test_metrics"])
        tracker.log_text(run_id, session.table + "\n", "forecast_report.txt")
        tags = {k: v for d in session.decisions for k, v in d.tags().items()}
        tracker.set_tags(run_id, {k[:250]: v[:5000] for k, v in tags.items()})
        for decision in session.decisions:
            decision_run = tracker.start(
                f"{name} h{decision.horizon} {decision.target}: {decision.served}",
                tags={"tickcast.model_name": name, **{k[:250]: v[:5000] for k, v in decision.tags().items()}},
                decisions=True)
            tracker.log_metrics(decision_run, decision.numbers)
            tracker.end(decision_run)
        version = None
        if register:
            version = register_set(settings.registry, run_id, session.forecaster_set, name, {
                "source": pooled.source, "test_start_ms": str(session.split.test_start_ms),
                "served": ", ".join(f"h{d.horizon} {d.target}={'model' if d.served_is_model else 'baseline'} "
                                    f"{d.served}" for d in session.decisions)[:5000]})
            session.forecaster_set.version = version
        tracker.end(run_id)
    except BaseException:
        tracker.end(run_id, failed=True)
        raise
    return session, run_id, version


def evaluate_forecasters(settings: TrainingSettings, pooled: PooledCloses, version: str | None) -> tuple[str, Any]:
    name = forecast_set_name(settings.symbol_list(), settings.interval)
    forecaster_set = load_forecaster_set(settings.registry.tracking_uri(), name, version)
    if forecaster_set is None:
        raise ValueError(f"{name} has no registered forecaster set; run `python -m training forecast` first")
    scores, table = evaluate_set(forecaster_set, pooled)
    tracker = RunTracker(settings.registry)
    run_id = tracker.start(f"forecast-evaluate {name} v{forecaster_set.version}", params={
        "version": forecaster_set.version, "source": pooled.source,
        "first_ms": int(pooled.times.min()), "last_ms": int(pooled.times.max()),
    }, tags={"tickcast.model_name": name, "tickcast.kind": "forecaster-set"})
    tracker.log_metrics(run_id, {k: v for s in scores.values() for k, v in s.metrics().items()})
    tracker.log_text(run_id, table + "\n", "forecast_holdout.txt")
    tracker.end(run_id)
    header = f"{name} v{forecaster_set.version} on {pooled.source} prices (MLflow run {run_id})"
    return header + "\n\n" + table, scores
