"""``python -m trade_producer``: one command per trade source."""

from __future__ import annotations

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


if __name__ == "__main__":
    app()
