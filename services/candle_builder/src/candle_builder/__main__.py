"""``python -m candle_builder``: the candle builder service and its batch form."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from tickcast.progress import progress_bar

app = typer.Typer(
    help="Event-time OHLCV candles from trades, equal to the exchange's klines.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def run() -> None:
    """Consume the trades topic and produce candles, exactly once, until stopped (SIGTERM/Ctrl-C)."""
    from tickcast.lag import watch_consumer_lag
    from tickcast.logging import configure_logging
    from tickcast.metrics import serve_metrics
    from tickcast.topics import Topic, TopicNames

    from candle_builder.config import Settings
    from candle_builder.service import run as run_service

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, service="candle-builder")
    serve_metrics(settings.metrics_port)
    watch_consumer_lag(settings.metrics_port, settings.kafka, settings.consumer_group(),
                       [TopicNames(settings.kafka)(Topic.TRADES)])
    run_service(settings)


@app.command("from-file")
def from_file(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A trades or aggTrades dump (CSV or zip).")
    ],
    interval: Annotated[str, typer.Option(help="Comma-separated intervals, e.g. 1m,5m.")] = "1m",
    symbol: Annotated[
        str | None, typer.Option(help="Symbol of the trades; default from the file name.")
    ] = None,
) -> None:
    """Print the candles of a trades file as JSON lines, built as the service would (no Kafka)."""
    from tickcast.intervals import parse_intervals

    from candle_builder.aggregate import build_candles
    from tickcast.binance_files.trades import read_trades, symbol_from_filename

    name = symbol or symbol_from_filename(path)
    trades = list(progress_bar(read_trades(path, name), desc=f"reading {path.name}", unit=" trades", file=sys.stderr))
    for candle in build_candles(trades, parse_intervals(interval)):
        typer.echo(candle.model_dump_json())


if __name__ == "__main__":
    app()
