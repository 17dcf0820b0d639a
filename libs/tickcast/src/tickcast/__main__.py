"""``python -m tickcast``: administrative commands shared by the stack."""

from __future__ import annotations

from pathlib import Path

import typer

from tickcast.kafka import ensure_topics
from tickcast.logging import configure_logging
from tickcast.settings import KafkaSettings
from tickcast.topics import TopicNames

app = typer.Typer(help="Tickcast administration: topics and contracts.", no_args_is_help=True, add_completion=False)


@app.command("create-topics")
def create_topics() -> None:
    """Create every Tickcast topic that is missing (safe to repeat)."""
    configure_logging()
    settings = KafkaSettings()
    specs = TopicNames(settings).specs()
    created = ensure_topics(settings, specs)
    existing = [spec.name for spec in specs if spec.name not in created]
    parts = [f"created {len(created)}: {', '.join(created)}" if created else "",
             f"{len(existing)} already there" if existing else ""]
    typer.echo(f"topics on {settings.bootstrap_servers}: " + "; ".join(part for part in parts if part))


@app.command("create-registry")
def create_registry() -> None:
    """Create the model registry's database if it is missing (safe to repeat).

    `make up` runs it before the services: training, inference and the gateway open the same
    SQLite database at once, and MLflow's first schema migration, run by several processes
    together, fails in all but one of them.
    """
    from tickcast.registry.settings import RegistrySettings

    configure_logging()
    settings = RegistrySettings()
    if settings.backend != "mlflow":
        typer.echo(f"model registry: {settings.backend} (nothing to create)")
        return
    from tickcast.registry.mlflow_support import mlflow_client

    client = mlflow_client(settings)
    client.search_experiments(max_results=1)  # the tracking tables
    client.search_registered_models(max_results=1)  # the registry's (the same database, its own store)
    typer.echo(f"model registry: {settings.tracking_uri()} ready")


@app.command("stack")
def stack(
    procfile: Path = typer.Argument(..., exists=True, dir_okay=False, help="The services, one per line."),
    cwd: Path = typer.Option(Path.cwd(), help="Where the services run."),
) -> None:
    """Run every service of a Procfile; restart one that dies, alone (what `make up` runs)."""
    from tickcast.stack import Stack, StackSettings

    raise typer.Exit(Stack(procfile, cwd, StackSettings()).run())


@app.command("schemas")
def schemas() -> None:
    """Print the JSON schema of every message contract."""
    import json

    from tickcast.contracts import Candle, DeadLetter, FeatureVector, Prediction, Trade

    for model in (Trade, Candle, FeatureVector, Prediction, DeadLetter):
        typer.echo(json.dumps(model.model_json_schema(), indent=2))


if __name__ == "__main__":
    app()
