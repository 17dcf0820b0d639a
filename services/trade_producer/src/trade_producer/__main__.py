"""``python -m trade_producer``: one command per trade source."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import structlog
import typer

from tickcast.logging import configure_logging
from tickcast.metrics import serve_metrics
from tickcast.topics import Topic, TopicNames
from trade_producer.config import Settings
from trade_producer.dumpfile import DumpKind, discover
from trade_producer.shutdown import stop_on_signals
from trade_producer.sink import TradeSink
from trade_producer.topic_tail import read_high_water_marks

log = structlog.get_logger("trade_producer")

app = typer.Typer(
    help=(
        "Put Binance trades onto the Kafka 'trades' topic exactly once, keyed by symbol.\n\n"
        "Sources: live (websocket streams with REST gap filling and a control topic for new symbols), "
        "backfill (REST, by time range), replay (data-dump files) and synthetic (labelled fake trades). "
        "Configuration comes from TRADE_PRODUCER_* and KAFKA_* environment variables."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main() -> None:
    """Binance trades onto Kafka's 'trades' topic, exactly once."""


def _start(settings: Settings) -> TopicNames:
    configure_logging(settings.log_level, settings.log_format, service="trade_producer")
    serve_metrics(settings.metrics_port)
    return TopicNames(settings.kafka)


@app.command()
def replay(
    path: Annotated[Path, typer.Argument(help="A dump file (.csv or .zip) or a folder of them (sorted by date).")],
    speed: Annotated[str, typer.Option(help="'max' for as fast as possible, or N for N x real time.")] = "max",
    symbol: Annotated[
        str | None, typer.Option(help="Symbol of the trades; default: from the file name, e.g. BTCUSDT-trades-...")
    ] = None,
    kind: Annotated[
        DumpKind | None, typer.Option(help="File format; default: from the file name (-trades- or -aggTrades-).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Replay Binance data-dump files ('trades' or 'aggTrades', CSV or zipped CSV, header or not).

    Rows already on the topic (same symbol, id not above the last one there) are skipped,
    so replaying the same files twice adds nothing. Timestamps in microseconds are
    converted to milliseconds.
    """
    from trade_producer.replay import parse_speed, replay as run_replay, wanted_spaces

    settings = Settings()
    topics = _start(settings)
    try:
        pace = parse_speed(speed)
        dumps = discover(path, symbol, kind)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    topic = topics(Topic.TRADES)
    marks = read_high_water_marks(settings.kafka, topic, wanted_spaces(dumps), chunk=settings.dedupe_scan_chunk)
    sink = TradeSink(settings.kafka, topic, marks)
    with stop_on_signals() as stop:
        try:
            report = run_replay(dumps, sink, pace, stop, progress=progress)
        finally:
            sink.flush(settings.flush_timeout_seconds)
    log.info(
        "replay finished",
        files=report.files,
        produced=report.produced,
        skipped_duplicates=report.skipped_duplicates,
        rejected=report.rejected,
        seconds=round(report.seconds, 3),
        trades_per_second=round(report.produced / report.seconds) if report.seconds else None,
        stopped_early=stop.is_set(),
    )


def _parse_start(text: str) -> int:
    if text.strip().lower() == "now":
        return int(time.time() * 1000)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@app.command()
def synthetic(
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols to invent trades for.")] = "BTCUSDT",
    seed: Annotated[int, typer.Option(help="Same seed and start, same trades.")] = 42,
    trades: Annotated[int, typer.Option(help="Trades per symbol; 0 runs until stopped.")] = 100_000,
    start: Annotated[str, typer.Option(help="UTC time of the first trade (ISO 8601) or 'now'.")] = "2024-01-01T00:00:00Z",
    speed: Annotated[str, typer.Option(help="'max', or N for N x the trades' own clock.")] = "max",
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Invent seeded, reproducible trades for OFFLINE DEMOS. THE PRICES ARE NOT REAL.

    Volatility clusters (GARCH), arrivals come in bursts (Hawkes) and order flow is
    imbalanced and persistent. Every message carries source="synthetic" and the
    command logs a warning saying so. Trade ids start at 1 per symbol.
    """
    from trade_producer.config import parse_symbols
    from trade_producer.dedupe import id_space
    from trade_producer.replay import parse_speed
    from trade_producer.synthetic import SyntheticTrades
    from trade_producer.synthetic_feed import START_PRICES, run_synthetic, warn_not_real

    settings = Settings()
    topics = _start(settings)
    try:
        pace = parse_speed(speed)
        start_ms = _parse_start(start)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    names = parse_symbols(symbols)
    warn_not_real(names)
    generators = [SyntheticTrades(name, seed, start_ms, START_PRICES.get(name, 100.0)) for name in names]
    topic = topics(Topic.TRADES)
    wanted = {id_space(name, aggregate=False) for name in names}
    sink = TradeSink(settings.kafka, topic, read_high_water_marks(settings.kafka, topic, wanted))
    with stop_on_signals() as stop:
        try:
            produced = run_synthetic(generators, sink, trades, pace, stop, progress=progress)
        finally:
            sink.flush(settings.flush_timeout_seconds)
    warn_not_real(names)
    log.info("synthetic finished", produced=produced, skipped_duplicates=sink.skipped, stopped_early=stop.is_set())


if __name__ == "__main__":
    app()
