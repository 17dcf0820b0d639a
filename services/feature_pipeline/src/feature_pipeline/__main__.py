"""``python -m feature_pipeline``: the stream worker, the historical backfill and store utilities."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from feature_pipeline import SERVICE
from feature_pipeline.config import Settings
from tickcast.logging import configure_logging
from tickcast.metrics import serve_metrics

app = typer.Typer(
    help="Feature pipeline: candles -> feature vectors -> feature store and the features topic.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, service=SERVICE)
    return settings


@app.command()
def stream() -> None:
    """Run the faust worker: consume candles, write vectors to the store and the features topic.

    The worker is a child process, restarted from the last commit when it exits with an error
    (e.g. the broker restarted under it); SIGTERM/SIGINT are passed on and stop it cleanly.
    """
    from feature_pipeline.supervisor import run_supervised

    from tickcast.lag import watch_consumer_lag
    from tickcast.local_state import guard_local_state
    from tickcast.topics import Topic, TopicNames

    settings = _settings()
    # faust's table data (its datadir) is trusted only against the cluster, the candles topic
    # and the app's own internal topics (the table's changelog) it was built from.
    guard_local_state(settings.faust_app_dir(), settings.kafka, [TopicNames(settings.kafka)(Topic.CANDLES)],
                      [f"{settings.app_id()}-"], service="feature_pipeline")
    serve_metrics(settings.metrics_port)
    # faust commits under its app id as the group.
    watch_consumer_lag(settings.metrics_port, settings.kafka, settings.app_id(),
                       [TopicNames(settings.kafka)(Topic.CANDLES)])
    raise typer.Exit(run_supervised(settings))


@app.command(hidden=True)
def worker(
    metrics_port: Annotated[int, typer.Option(help="Private port of the worker's own metrics; 0: none.")] = 0,
) -> None:
    """One faust worker process: what `stream` runs and restarts."""
    from feature_pipeline.app import StructlogWorker, build_app, quiet_library_loggers
    from tickcast.store import make_feature_store
    from feature_pipeline.supervisor import serve_worker_metrics

    settings = _settings()
    quiet_library_loggers()  # before the store opens: Feast's registry notices too
    serve_worker_metrics(metrics_port)
    feature_store = make_feature_store(settings)
    try:
        StructlogWorker(build_app(settings, feature_store), settings).execute_from_commandline()
    finally:
        feature_store.close()


@app.command()
def backfill(
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols, e.g. BTCUSDT,ETHUSDT.")],
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (UTC), included.")],
    interval: Annotated[str, typer.Option(help="Candle interval.")] = "1m",
    source: Annotated[
        str,
        typer.Option(help="'files' (kline data-dump files under --data-dir) or 'rest' (exchange REST API)."),
    ] = "files",
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder searched for SYMBOL-INTERVAL-DATE.zip files.")
    ] = None,
) -> None:
    """Load historical candles, compute features with the stream's code and fill the offline store."""
    from feature_pipeline.backfill import run_backfill
    from tickcast.store.loaders import make_loader
    from tickcast.store import make_feature_store

    settings = _settings()
    loader = make_loader(source, data_dir)
    store = make_feature_store(settings)
    try:
        report = run_backfill(
            loader,
            store,
            [s.strip().upper() for s in symbols.split(",") if s.strip()],
            interval,
            date.fromisoformat(start),
            date.fromisoformat(end),
        )
    finally:
        store.close()
    typer.echo(report.summary())


@app.command()
def features() -> None:
    """Print the feature table (name, formula, lookback, source) and the feature-set version."""
    from tickcast.features import features_markdown

    typer.echo(features_markdown())


@app.command()
def compact() -> None:
    """Merge the offline store's part files (Feast adapter; run while no worker writes)."""
    from tickcast.store.feast_store import FeastFeatureStore

    settings = _settings()
    merged = FeastFeatureStore.from_settings(settings).compact()
    typer.echo(f"merged {merged} part file(s)")


if __name__ == "__main__":
    app()
