"""``python -m training``: datasets, training sessions, the registry and the champion gate."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer

from tickcast.intervals import interval_ms
from tickcast.metrics import serve_metrics
from training.cli.options import (
    CandlesOpt,
    DatasetOptions,
    DatasetSource,
    EndOpt,
    KlinesOpt,
    LookbackOpt,
    NameOpt,
    ProcessOpt,
    Scope,
    Source,
    SourceOpt,
    StartOpt,
    dataset_options,
    make_settings,
    scope_options,
)
from training.cli.challenger import app as challenger_app
from training.config import TrainingSettings

log = structlog.get_logger("training")

app = typer.Typer(
    help="Train TensorFlow models on offline features, measure them against baselines, register them, "
    "and promote a champion only when it beats persistence and the current champion.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(challenger_app, name="challenger")


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def _model_name(settings: TrainingSettings, name: str | None) -> str:
    from tickcast.serving import registered_model_name

    return name or registered_model_name(settings.symbol_list(), settings.interval, settings.horizon_list()[0])


def _print_session(result: Any) -> None:
    typer.echo(f"\n{result.model_name}  (MLflow run {result.session_run_id})\n")
    typer.echo(result.table)
    if result.decision is not None:
        verdict = "PROMOTED" if result.decision.promote else "not promoted"
        typer.echo(f"\ngate: v{result.decision.candidate_version} {verdict}: {result.decision.reason}")


def _session(settings: TrainingSettings, data: Any, kinds: list[str], apply_gate: bool, external: Any = ()) -> Any:
    from training.pipeline import run_session
    from tickcast.registry import make_registry
    from training.tracking import RunTracker

    registry = make_registry(settings.registry)
    return run_session(
        settings, data, registry, RunTracker(settings.registry), kinds=kinds, external=external, apply_gate=apply_gate
    )


@app.command()
@dataset_options(Source.store)
def train(
    options: DatasetOptions,
    *,
    models: Annotated[str | None, typer.Option(
        help="Comma-separated kinds: mlp, conv, lstm, ridge, lasso, huber, lightgbm [TRAINING_MODELS].")] = None,
    epochs: Annotated[int | None, typer.Option(help="[TRAINING_EPOCHS]")] = None,
    time_budget_s: Annotated[float | None, typer.Option(help="Per-model fit budget [TRAINING_TIME_BUDGET_S].")] = None,
    gate: Annotated[bool, typer.Option(help="Apply the champion gate to the best candidate.")] = True,
) -> None:
    """Train candidates, compare them with the baselines, register them, and gate the best one."""
    settings = options.settings(models=models, epochs=epochs, time_budget_s=time_budget_s)
    _print_session(_session(settings, options.prepare(settings), settings.model_kinds(), gate))


@app.command()
@dataset_options(Source.klines)
def report(
    options: DatasetOptions,
    *,
    models: Annotated[str | None, typer.Option(help="[TRAINING_MODELS]")] = None,
    epochs: Annotated[int | None, typer.Option(help="[TRAINING_EPOCHS]")] = None,
    time_budget_s: Annotated[float | None, typer.Option(help="[TRAINING_TIME_BUDGET_S]")] = None,
) -> None:
    """Every model against the baselines on a period, as a table and an MLflow run; no promotion."""
    settings = options.settings(models=models, epochs=epochs, time_budget_s=time_budget_s)
    _print_session(_session(settings, options.prepare(settings), settings.model_kinds(), apply_gate=False))


@app.command("export-dataset")
@dataset_options(Source.store)
def export_dataset(
    options: DatasetOptions,
    out: Annotated[Path, typer.Option(help="File to write (.csv or .parquet).")],
    file_format: Annotated[ExportFormat | None, typer.Option("--format", help="Default: from the extension.")] = None,
) -> None:
    """Write the labelled dataset (features, targets, direction, split) for training elsewhere."""
    from training.export import write_dataset

    settings = options.settings()
    data = options.prepare(settings)
    chosen = file_format.value if file_format else out.suffix.lstrip(".").lower()
    written = write_dataset(data, out, chosen)
    typer.echo(f"wrote {written.rows} rows x {written.columns} columns to {out} ({chosen}); "
               f"scaler fitted on the training part: {written.scaler_path}")


@app.command()
@dataset_options(Source.store)
def register(
    options: DatasetOptions,
    model_path: Annotated[Path, typer.Argument(
        help="A .keras file taking (lag, n_features) windows; an MLflow model folder (sklearn, lightgbm or "
        "pyfunc flavour); a LightGBM .txt model; or a .joblib scikit-learn regressor, over the feature columns.")],
    scaler: Annotated[Path | None, typer.Option(help="scaler.json from export-dataset, if the model used it.")] = None,
) -> None:
    """Put a model trained elsewhere through the same evaluation, registration and gate."""
    from training.models.trainer import load_external

    settings = options.settings()
    data = options.prepare(settings)
    try:
        external = load_external(model_path, data, scaler)
    except ValueError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    _print_session(_session(settings, data, [], apply_gate=True, external=[external]))


@app.command()
@dataset_options(Source.store)
def evaluate(
    options: DatasetOptions,
    version: Annotated[str | None, typer.Option(help="Version to score (default: the champion).")] = None,
    name: NameOpt = None,
) -> None:
    """Score the champion (or --version) on a whole period against persistence and EMA drift."""
    from training.evaluation.holdout import evaluate_on_period
    from tickcast.registry import make_registry
    from training.tracking import RunTracker

    settings = options.settings()
    model_name = _model_name(settings, name)
    registry = make_registry(settings.registry)
    chosen = version or registry.champion_version(model_name)
    if chosen is None:
        raise typer.BadParameter(f"{model_name} has no champion; pass --version")
    model = registry.load(model_name, chosen)
    frame = options.frame(settings)
    result = evaluate_on_period(model, frame, settings.interval_ms(), settings.ema_span, settings.fee_bps)
    tracker = RunTracker(settings.registry)
    run_id = tracker.start(f"evaluate {model_name} v{chosen}", params={
        "version": chosen, "rows": result.model.n, "feature_set_version": result.feature_set_version,
        "first_ms": int(frame["timestamp_ms"].min()), "last_ms": int(frame["timestamp_ms"].max()),
    }, tags={"tickcast.model_name": model_name})
    tracker.log_metrics(run_id, {f"{row.name}_{key}": value for row in result.rows
                                 for key, value in row.evaluation.metrics("holdout_").items()}
                        | {"dm_statistic": result.versus_persistence.statistic,
                           "dm_p_value": result.versus_persistence.p_value})
    tracker.log_text(run_id, result.table + "\n", "holdout.txt")
    tracker.end(run_id)
    typer.echo(f"\n{model_name} v{chosen} on {result.model.n} rows (MLflow run {run_id})\n")
    typer.echo(result.table)
    if result.feature_set_version != model.feature_set_version:
        typer.echo(f"\nwarning: features are {result.feature_set_version}, the model was trained on "
                   f"{model.feature_set_version}")
    beats = result.model.mae < result.rows[0].evaluation.mae and result.versus_persistence.p_value < settings.gate_alpha
    typer.echo(f"\nvs persistence: skill {result.model.skill:+.4f}, DM p={result.versus_persistence.p_value:.3g}: "
               f"{'beats' if beats else 'does not beat'} persistence at alpha {settings.gate_alpha:g}")


@app.command()
@dataset_options(Source.klines)
def forecast(
    options: DatasetOptions,
    *,
    register: Annotated[bool, typer.Option(help="Register the set (champion alias) so inference serves it.")] = True,
    neural: Annotated[bool, typer.Option(help="Also fit the TensorFlow quantile and log-RV networks.")] = True,
) -> None:
    """Distribution, volatility and p_up forecasters per horizon against their baselines; each target is
    served by a model only when it beats that target's best baseline; the set is registered."""
    from training.forecasting.commands import pooled_closes, train_forecasters

    settings = options.settings(forecast_horizons=options.horizons)  # default: TRAINING_FORECAST_HORIZONS
    session, run_id, version = train_forecasters(settings, pooled_closes(options.data, settings), register, neural)
    typer.echo(f"\n{session.forecaster_set.name} (MLflow run {run_id})"
               + (f", registered as v{version} (champion)" if version else ", not registered") + "\n")
    typer.echo(session.table)


@app.command("forecast-evaluate")
@dataset_options(Source.klines)
def forecast_evaluate(
    options: DatasetOptions,
    version: Annotated[str | None, typer.Option(help="Forecaster-set version (default: the champion).")] = None,
) -> None:
    """Score a registered forecaster set and its baselines on a period it never saw (e.g. later kline files)."""
    from training.forecasting.commands import evaluate_forecasters, pooled_closes

    settings = options.settings()
    try:
        text, _ = evaluate_forecasters(settings, pooled_closes(options.data, settings), version)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(text)


@app.command()
@scope_options()
def compare(options: Scope, name: NameOpt = None) -> None:
    """Registered versions side by side with their test metrics and gate decisions."""
    from training.evaluation.compare import versions_table
    from tickcast.registry import make_registry

    settings = options.settings()
    model_name = _model_name(settings, name)
    typer.echo(versions_table(model_name, make_registry(settings.registry).versions(model_name)))


def _override(scope: Scope, action: str, name: str | None, version: str | None, reason: str) -> None:
    from training.pipeline import manual_decision
    from tickcast.registry import make_registry
    from training.tracking import RunTracker

    settings = scope.settings()
    model_name = _model_name(settings, name)
    try:
        champion = manual_decision(
            make_registry(settings.registry), RunTracker(settings.registry), model_name, action, reason, version
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"{model_name}: champion is now {('v' + champion) if champion else 'none'} ({action}: {reason})")


@app.command()
@scope_options()
def promote(
    options: Scope,
    version: Annotated[str, typer.Argument(help="Version to make champion.")],
    reason: Annotated[str, typer.Option(help="Why (recorded with the decision).")],
    name: NameOpt = None,
) -> None:
    """Manual override: make VERSION the champion, recording the reason."""
    _override(options, "promote", name, version, reason)


@app.command()
@scope_options()
def demote(
    options: Scope,
    reason: Annotated[str, typer.Option(help="Why (recorded with the decision).")],
    to: Annotated[str | None, typer.Option(help="Version to fall back to (default: no champion).")] = None,
    name: NameOpt = None,
) -> None:
    """Manual override: remove the champion (or fall back to --to), recording the reason."""
    _override(options, "demote", name, to, reason)


@app.command()
def backtest(
    every: Annotated[str, typer.Option(help="Retraining period, as `schedule --every` (e.g. 7d, 1d).")] = "7d",
    lookback: Annotated[str, typer.Option(help="Trailing window each session trains on, as `schedule --lookback`.")] = "30d",
    start: Annotated[str | None, typer.Option(help="First UTC day scored, YYYY-MM-DD (sessions train on the "
                                              "--lookback before it).")] = None,
    end: EndOpt = None,
    source: SourceOpt = Source.klines,
    klines_dir: KlinesOpt = None,
    process: ProcessOpt = "ar1",
    candles: CandlesOpt = 20_000,
    models: Annotated[str | None, typer.Option(help="[TRAINING_MODELS]")] = None,
    epochs: Annotated[int | None, typer.Option(help="[TRAINING_EPOCHS]")] = None,
    time_budget_s: Annotated[float | None, typer.Option(help="[TRAINING_TIME_BUDGET_S]")] = None,
) -> None:
    """Walk a period forward retraining every --every on the trailing --lookback, exactly as `schedule`
    would have, and score what would have been served on the next --every (nothing is registered)."""
    from datetime import date, timedelta

    from tqdm import tqdm

    from training import replay_report
    from training.pipeline import fit_settings
    from training.replay import replay_retraining
    from training.data.sources import utc_ms
    from training.tracking import RunTracker

    settings = make_settings(models=models, epochs=epochs, time_budget_s=time_budget_s)
    every_ms, lookback_ms = interval_ms(every), interval_ms(lookback)
    if source == Source.synthetic:
        frame = DatasetSource(source, process=process, candles=candles).frame(settings)
        first_ms = int(frame["timestamp_ms"].min()) + lookback_ms
        end_ms = int(frame["timestamp_ms"].max()) + settings.interval_ms()
    else:
        if start is None or end is None:
            raise typer.BadParameter("--start and --end are required (the period to score)")
        first, last = date.fromisoformat(start), date.fromisoformat(end)
        data_start = first - timedelta(milliseconds=lookback_ms)
        frame = DatasetSource(source, data_start.isoformat(), end, klines_dir=klines_dir).frame(settings)
        first_ms, end_ms = utc_ms(first), utc_ms(last)
    kinds = settings.model_kinds()
    name = _model_name(settings, None)
    steps = max(1, -(-(end_ms - first_ms) // every_ms))
    with tqdm(total=steps, desc=f"backtest {name}", unit="session") as bar:
        def advance(step: Any) -> None:
            bar.set_postfix(served=step.served, skill=f"{step.skill:+.3f}")
            bar.update(1)

        result = replay_retraining(frame, settings, kinds, first_ms, end_ms, every_ms, lookback_ms,
                                   fit_settings(settings, show_progress=False), on_step=advance)
    params = {
        "symbols": ",".join(settings.symbol_list()), "interval": settings.interval, "horizon": result.horizon,
        "kinds": ",".join(kinds), "every": every, "lookback": lookback, "start_ms": first_ms, "end_ms": end_ms,
        "source": source.value, "gate_alpha": settings.gate_alpha, "gate_margin": settings.gate_margin,
        "fee_bps": settings.fee_bps, "seed": settings.seed,
    }
    out_dir = settings.output_dir / f"backtest-{int(time.time())}"
    run_id = replay_report.log_replay(RunTracker(settings.registry), result, name, params, out_dir)
    typer.echo(f"\n{name}: replayed retraining, {len(result.steps)} sessions (MLflow run {run_id})\n")
    typer.echo(result.steps_table())
    typer.echo("\n" + result.table())
    verdict = result.versus_persistence
    typer.echo(f"\nserved vs persistence: skill {result.served.skill:+.4f}, DM p={verdict.p_value:.3g}")


@app.command()
def schedule(
    every: Annotated[str, typer.Option(help="Time between sessions, e.g. 1d, 6h.")] = "1d",
    runs: Annotated[int, typer.Option(help="Stop after this many sessions; 0 runs forever.")] = 0,
    source: SourceOpt = Source.store,
    lookback: LookbackOpt = "30d",
    klines_dir: KlinesOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    process: ProcessOpt = "ar1",
    candles: CandlesOpt = 20_000,
) -> None:
    """Retrain challengers on the latest --lookback every --every and apply the same gate."""
    settings = make_settings()
    serve_metrics(settings.metrics_port)
    period_s = interval_ms(every) / 1000
    done = 0
    while True:
        started = time.monotonic()
        try:
            data = DatasetSource(source, start, end, lookback, klines_dir, process, candles).prepare(settings)
            _print_session(_session(settings, data, settings.model_kinds(), apply_gate=True))
        except Exception:
            # One bad session (no data yet, store down) must not stop the schedule.
            log.exception("scheduled training session failed")
        done += 1
        if runs and done >= runs:
            return
        pause = max(0.0, period_s - (time.monotonic() - started))
        log.info("next training session", in_s=round(pause), every=every)
        time.sleep(pause)

if __name__ == "__main__":
    app()
