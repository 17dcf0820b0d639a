"""``python -m inference``: serve the champion model on the features stream."""

from __future__ import annotations

import signal
import threading

import typer

from inference.config import Settings
from tickcast.logging import configure_logging
from tickcast.metrics import serve_metrics

app = typer.Typer(help="Tickcast inference: features in, predictions out (Kafka and Redis).",
                  no_args_is_help=True, add_completion=False)


def _model_name(settings: Settings) -> str:
    if settings.model_name:
        return settings.model_name
    from tickcast.serving import registered_model_name

    return registered_model_name(settings.symbol_list, settings.interval, settings.horizon)


@app.command()
def run() -> None:
    """Consume features and candles, predict with the champion, publish until SIGINT/SIGTERM."""
    from inference.champion import RegistryChampions
    from inference.service import run_supervised
    from tickcast.lag import watch_consumer_lag
    from tickcast.topics import Topic, TopicNames

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, service="inference")
    serve_metrics(settings.metrics_port)
    topics = TopicNames(settings.kafka)
    watch_consumer_lag(settings.metrics_port, settings.kafka, settings.group_id,
                       [topics(Topic.FEATURES), topics(Topic.CANDLES)])
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    champions = RegistryChampions(_model_name(settings))
    promotions = champions.registry() if settings.live_promotion else None
    run_supervised(settings, champions, stop, _forecaster_sets(settings), promotions)


def _forecaster_sets(settings: Settings) -> object:
    """The registered forecaster set to follow, or None when INFERENCE_FORECASTS is off."""
    if not settings.forecasts:
        return None
    from tickcast.forecast.store import forecast_set_name
    from tickcast.registry.settings import RegistrySettings

    from inference.forecaster_sets import RegistryForecasterSets

    name = settings.forecast_set_name or forecast_set_name(settings.symbol_list, settings.interval)
    return RegistryForecasterSets(name, RegistrySettings().tracking_uri())


@app.command()
def champion() -> None:
    """Print the registered model this service serves and its champion version; exit 1 when there is none."""
    from inference.champion import RegistryChampions

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, service="inference")
    source = RegistryChampions(_model_name(settings))
    version = source.champion_version()
    typer.echo(f"{source.model_name}: " + (f"champion v{version}" if version else "no champion (baseline served)"))
    if not version:
        raise typer.Exit(1)  # scripts ask "is there a champion?" by the exit code


@app.command()
def forecasters() -> None:
    """Print the forecaster set this service follows and its champion version; exit 1 when there is none."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, service="inference")
    source = _forecaster_sets(settings)
    if source is None:
        typer.echo("distribution forecasts are off (INFERENCE_FORECASTS=false)")
        raise typer.Exit(1)
    version = source.version()  # type: ignore[attr-defined]
    typer.echo(f"{source.name}: " + (f"champion v{version}" if version else "no forecaster set (none served)"))  # type: ignore[attr-defined]
    if not version:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
