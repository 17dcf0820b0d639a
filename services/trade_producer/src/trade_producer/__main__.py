"""``python -m trade_producer``: one command per trade source."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import structlog
import typer

from tickcast.kafka import DeliveryError, ensure_topics
from tickcast.logging import configure_logging
from tickcast.metrics import serve_metrics
from tickcast.supervise import RestartSettings, supervise
from tickcast.topics import Topic, TopicNames
from trade_producer.config import Settings
from tickcast.binance_files.dump_files import DumpKind, discover
from trade_producer.exit_codes import ExitCode
from trade_producer.shutdown import stop_on_signals
from trade_producer.sink import TradeSink
from trade_producer.topic_tail import read_high_water_marks

if TYPE_CHECKING:  # python-binance takes seconds to import: only live and backfill load it
    from trade_producer.dedupe import HighWaterMarks
    from trade_producer.exchange.rest import ExchangeRest

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
    rich_markup_mode="markdown",
)


@app.callback()
def main() -> None:
    # An explicit callback keeps the subcommands even when only one is registered.
    pass


def _settings() -> Settings:
    """Read the configuration and set up logging, before anything can log."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, service="trade_producer")
    return settings


def _start(settings: Settings) -> TopicNames:
    serve_metrics(settings.metrics_port)
    topics = TopicNames(settings.kafka)
    # Idempotent: a fresh broker works without a separate create-topics step.
    ensure_topics(settings.kafka, [spec for spec in topics.specs() if spec.name in _needed(topics)])
    return topics


def _needed(topics: TopicNames) -> set[str]:
    return {
        topics(Topic.TRADES),
        topics.dlq(Topic.TRADES),  # holes: trades the exchange never delivered
        topics(Topic.SYMBOL_REQUESTS),
        topics.dlq(Topic.SYMBOL_REQUESTS),
    }


@app.command()
def replay(
    path: Annotated[
        Path, typer.Argument(help="A dump file (.csv or .zip) or a folder of them (sorted by date).")
    ],
    speed: Annotated[
        str, typer.Option(help="'max' for as fast as possible, or N for N x real time.")
    ] = "max",
    symbol: Annotated[
        str | None,
        typer.Option(help="Symbol of the trades; default: from the file name, e.g. BTCUSDT-trades-..."),
    ] = None,
    kind: Annotated[
        DumpKind | None,
        typer.Option(help="File format; default: from the file name (-trades- or -aggTrades-)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Replay Binance data-dump files ('trades' or 'aggTrades', CSV or zipped CSV, header or not).

    Rows already on the topic (same symbol, id not above the last one there) are skipped,
    so replaying the same files twice adds nothing. Timestamps in microseconds are
    converted to milliseconds.
    """
    from trade_producer.replay.feed import parse_speed, replay as run_replay, wanted_spaces

    settings = _settings()
    try:
        pace = parse_speed(speed)
        dumps = discover(path, symbol, kind)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    topics = _start(settings)
    topic = topics(Topic.TRADES)
    marks = read_high_water_marks(
        settings.kafka, topic, wanted_spaces(dumps), chunk=settings.dedupe_scan_chunk
    )
    sink = TradeSink.for_bulk(settings.kafka, topic, marks)
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


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _utc_ms(text: str) -> int:
    """``2024-01-01T00:00:00Z`` (naive times are UTC), ``now`` or ``now-26h``, as epoch milliseconds."""
    from tickcast.intervals import interval_ms

    spec = text.strip().lower()
    if spec == "now":
        return int(time.time() * 1000)
    if spec.startswith("now-"):
        try:
            return int(time.time() * 1000) - interval_ms(spec.removeprefix("now-"))
        except ValueError as error:
            raise typer.BadParameter(f"{text!r}: expected now-<N><s|m|h|d>, e.g. now-26h") from error
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time (e.g. 2024-01-01T00:00:00Z) or 'now'"
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@app.command()
def synthetic(
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols to invent trades for.")] = "BTCUSDT",
    seed: Annotated[int, typer.Option(help="Same seed and start, same trades.")] = 42,
    trades: Annotated[int, typer.Option(help="Trades per symbol; 0 runs until stopped.")] = 100_000,
    start: Annotated[
        str, typer.Option(help="UTC time of the first trade: ISO 8601, 'now', or 'now-26h' (a day of history).")
    ] = "2024-01-01T00:00:00Z",
    speed: Annotated[
        str,
        typer.Option(
            help="'max'; N for N x the trades' own clock; or 'live': each trade when the wall clock reaches it "
            "(history before now at full speed, then real time)."
        ),
    ] = "max",
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    history_share: Annotated[
        float,
        typer.Option(
            min=0.01, max=1.0,
            help="Trades before this command started (the history of --start now-26h) are this share as "
            "frequent, each larger, so each minute moves and trades as much: less work to turn a day of "
            "history into candles and features. 1 keeps every trade.",
        ),
    ] = 1.0,
    resume: Annotated[
        bool | None,
        typer.Option(
            help="Continue each symbol after its last trade on the topic (next id, same price, from that time). "
            "Default: an endless feed (--trades 0) resumes; a finite one replays the seed, skipping trades "
            "already on the topic."
        ),
    ] = None,
    control: Annotated[
        bool | None,
        typer.Option(
            help="Listen on the symbol-requests topic and invent trades for requested symbols too (labelled "
            "synthetic). Default: on for an endless feed (--trades 0)."
        ),
    ] = None,
) -> None:
    """Invent seeded, reproducible trades for OFFLINE DEMOS. THE PRICES ARE NOT REAL.

    Volatility clusters (GARCH), arrivals come in bursts (Hawkes) and order flow is
    imbalanced and persistent. Every message carries source="synthetic" and the
    command logs a warning saying so. Trade ids start at 1 per symbol; a resumed feed
    continues after the last id on the topic. An endless feed also follows POST /symbols:
    a requested symbol joins, from the wall clock on, labelled synthetic like the rest.
    """
    from confluent_kafka import KafkaException
    from trade_producer.config import parse_symbols
    from trade_producer.dedupe import HighWaterMarks, id_space
    from trade_producer.replay.feed import parse_speed
    from trade_producer.synthetic.trades import SyntheticTrades
    from trade_producer.synthetic.feed import START_PRICES, run_synthetic, warn_not_real
    from trade_producer.synthetic.resume import start_point
    from trade_producer.topic_tail import read_last_trades

    try:
        pace = "live" if speed == "live" else parse_speed(speed)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    start_ms = _utc_ms(start)
    history_until_ms = int(time.time() * 1000)  # once: every attempt's generators thin the same trades
    settings = _settings()
    topics = _start(settings)
    names = parse_symbols(symbols)
    warn_not_real(names)
    topic = topics(Topic.TRADES)
    requests = None
    restored: list[str] = []
    starts: dict[str, int] = {}  # requested symbols start at the wall clock of their request
    if control if control is not None else trades == 0:
        from tickcast.settings import RedisSettings
        from tickcast.symbol_status import SymbolStatusBoard
        from trade_producer.synthetic.symbol_requests import SyntheticSymbolRequests

        requests = SyntheticSymbolRequests(
            settings, SymbolStatusBoard(settings.kafka, RedisSettings(), "trade_producer"), names)
        restored = requests.restore()
        names += restored
    skipped_at_first: list[int] = []  # trades already on the topic before this command
    last: list[tuple[int, int]] = []  # (produced, skipped) of the attempt that completed

    resuming = trades == 0 if resume is None else resume

    def generators_after(last_trades: dict) -> list[SyntheticTrades]:
        """Each symbol's generator, continuing its last trade on the topic."""
        made = []
        for name in names:
            point = start_point(starts.get(name, start_ms), START_PRICES.get(name, 100.0),
                                last_trades.get(id_space(name, False)),
                                live_now_ms=int(time.time() * 1000) if pace == "live" else None)
            if point.resumed:
                log.info("synthetic feed resumes after the last trade on the topic", symbol=name,
                         first_trade_id=point.first_trade_id, start=_iso(point.start_ms), price=point.price,
                         quiet_for_s=round(point.gap_ms / 1000, 1))
            made.append(SyntheticTrades(name, seed, point.start_ms, point.price, point.first_trade_id,
                                        history_share=history_share, history_until_ms=history_until_ms))
        return made

    class _StopOrNewSymbol:
        """The feed's stop signal: stopping, or a requested symbol to add (the generators restart with it)."""

        def is_set(self) -> bool:
            return stop.is_set() or (requests is not None and requests.arrived.is_set())

    def attempt() -> None:
        while True:
            run_once()
            if requests is None or stop.is_set():
                return
            added = requests.take()
            now_ms = int(time.time() * 1000)
            starts.update({name: now_ms for name in added})
            names.extend(added)
            warn_not_real(added)
            requests.started(added)

    def run_once() -> None:
        wanted = {id_space(name, aggregate=False) for name in names}
        last_trades = read_last_trades(settings.kafka, topic, wanted, chunk=settings.dedupe_scan_chunk)
        marks = HighWaterMarks({space: last.trade_id for space, last in last_trades.items()})
        if resuming:
            # Every attempt continues from the topic: what a failed delivery did write is kept,
            # what it did not is invented afresh after it.
            generators = generators_after(last_trades)
        else:
            # Seeded generators replay the same trades; those already on the topic are skipped, so a
            # fresh producer after a failed delivery (e.g. a broker restart) adds each trade once.
            generators = [SyntheticTrades(name, seed, start_ms, START_PRICES.get(name, 100.0),
                                          history_share=history_share, history_until_ms=history_until_ms)
                          for name in names]
        sink = TradeSink.for_bulk(settings.kafka, topic, marks)
        produced = 0
        try:
            produced = run_synthetic(generators, sink, trades, pace, _StopOrNewSymbol(), progress=progress)
        finally:
            if not skipped_at_first:
                skipped_at_first.append(sink.skipped)
            sink.flush(settings.flush_timeout_seconds)
        last.append((produced, sink.skipped))

    with stop_on_signals() as stop:
        if requests is not None:
            requests.start(stop)
            requests.started(restored)  # symbols requested in earlier runs: streaming again
        supervise("trade_producer", attempt, (DeliveryError, KafkaException), RestartSettings().policy(), stop=stop)
    warn_not_real(names)
    produced, skipped = last[-1] if last else (0, 0)
    log.info(
        "synthetic finished",
        # Trades added by this command, whichever attempt delivered them.
        produced=produced + skipped - (skipped_at_first[0] if skipped_at_first else 0),
        skipped_duplicates=skipped_at_first[0] if skipped_at_first else 0,
        stopped_early=stop.is_set(),
    )


@app.command()
def backfill(
    symbol: Annotated[str, typer.Argument(help="Exchange symbol, e.g. BTCUSDT.")],
    start: Annotated[str, typer.Option(help="UTC start, ISO 8601 (e.g. 2024-01-01T00:00:00Z), inclusive.")],
    end: Annotated[str, typer.Option(help="UTC end, ISO 8601 or 'now', exclusive.")] = "now",
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Fetch a symbol's trades for a UTC time range from the REST API, paged by trade id.

    Honours the exchange's rate limits (X-MBX-USED-WEIGHT-1M, 429 Retry-After, 418).
    Resumes after the last trade id already on the topic, so a re-run adds nothing.
    """
    import asyncio
    import threading

    from trade_producer.backfill import backfill as run_backfill
    from trade_producer.dedupe import id_space
    from trade_producer.exchange.holes import HoleRecorder
    from trade_producer.exchange.range_fill import RangeFiller
    from trade_producer.exchange.rest import ExchangeRefused, ExchangeUnavailable

    start_ms, end_ms = _utc_ms(start), _utc_ms(end)
    if end_ms <= start_ms:
        raise typer.BadParameter("--end must be after --start")
    settings = _settings()
    topics = _start(settings)
    symbol = symbol.upper()
    topic = topics(Topic.TRADES)
    marks = read_high_water_marks(
        settings.kafka, topic, [id_space(symbol, aggregate=False)], chunk=settings.dedupe_scan_chunk
    )
    sink = _exchange_sink(settings, topic, marks)

    holes = HoleRecorder(sink, topics.dlq(Topic.TRADES))

    async def run(stop: threading.Event) -> int:
        rest = _rest(settings)
        filler = RangeFiller(rest, sink, holes, settings.gap_fill_deadline_seconds)
        try:
            return await run_backfill(rest, sink, filler, symbol, start_ms, end_ms, stop.is_set, progress=progress)
        finally:
            await rest.close()

    with stop_on_signals() as stop:
        try:
            produced = asyncio.run(run(stop))
        except (ExchangeUnavailable, ExchangeRefused) as error:
            _fail(error)
        finally:
            sink.flush(settings.flush_timeout_seconds)
    log.info(
        "backfill finished", symbol=symbol, produced=produced, skipped_duplicates=sink.skipped, missing=holes.recorded
    )
    if holes.recorded:
        log.error(
            "backfill incomplete: trades missing, see the MissingTrades records on the dead-letter topic",
            symbol=symbol, missing=holes.recorded, topic=topics.dlq(Topic.TRADES),
        )  # fmt: skip
        raise typer.Exit(code=ExitCode.TRADES_MISSING)


def _fail(error: Exception) -> NoReturn:
    """End on an exchange that cannot or will not serve us: what happened, what to do, a distinct code."""
    from trade_producer.exchange.rest import ExchangeBlocked, ExchangeRefused

    if isinstance(error, ExchangeRefused):
        code = ExitCode.EXCHANGE_BLOCKED if isinstance(error, ExchangeBlocked) else ExitCode.RESTRICTED_LOCATION
        log.error("exchange refused access", status=error.status, error=str(error), exit_code=int(code))
    else:
        code = ExitCode.EXCHANGE_UNREACHABLE
        log.error("exchange unreachable", error=str(error), exit_code=int(code))
    raise typer.Exit(code=code)


def _exchange_sink(settings: Settings, topic: str, marks: HighWaterMarks) -> TradeSink:
    """The sink of live and backfill: trades wait for an absent broker as long as configured."""
    return TradeSink(
        settings.kafka, topic, marks,
        **{"queue.buffering.max.messages": settings.producer_queue_messages,
           "delivery.timeout.ms": int(settings.delivery_timeout_seconds * 1000)},
    )  # fmt: skip


def _rest(settings: Settings) -> ExchangeRest:
    from trade_producer.exchange.rest import ExchangeRest

    return ExchangeRest.connect(
        settings.binance_api_url,
        api_key=settings.binance_api_key,
        weight_budget=settings.rest_weight_budget,
        max_retries=settings.rest_max_retries,
        page_size=settings.rest_page_size,
    )


@app.command()
def live(
    symbols: Annotated[
        str | None,
        typer.Option(help="Comma-separated symbols; default TRADE_PRODUCER_SYMBOLS (BTCUSDT,ETHUSDT)."),
    ] = None,
    control: Annotated[
        bool, typer.Option(help="Listen on the symbol-requests topic for symbols to add.")
    ] = True,
) -> None:
    """Stream Binance spot trades over multiplexed websockets until SIGTERM.

    Reconnects with exponential back-off and jitter, and before the 24 h connection
    limit; after every reconnect the gap since the last produced trade id is filled
    from REST. On SIGTERM the producer flushes and exits.
    """
    import asyncio
    import signal

    from tickcast.lag import watch_consumer_lag
    from tickcast.settings import RedisSettings
    from tickcast.symbol_status import SymbolStatusBoard
    from trade_producer.config import parse_symbols
    from trade_producer.dedupe import id_space
    from trade_producer.live.streams import LiveStreams
    from trade_producer.exchange.rest import ExchangeRefused, ExchangeUnavailable
    from trade_producer.live.symbol_requests import SymbolRequestListener, control_group

    settings = _settings()
    topics = _start(settings)
    if control:
        watch_consumer_lag(settings.metrics_port, settings.kafka, control_group(settings.kafka),
                           [topics(Topic.SYMBOL_REQUESTS)])
    names = parse_symbols(symbols) if symbols else settings.symbol_list()
    topic = topics(Topic.TRADES)
    marks = read_high_water_marks(
        settings.kafka,
        topic,
        {id_space(name, aggregate=False) for name in names},
        chunk=settings.dedupe_scan_chunk,
    )
    sink = _exchange_sink(settings, topic, marks)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        rest = _rest(settings)
        try:
            known = await rest.trading_symbols()
            if unknown := [name for name in names if name not in known]:
                raise typer.BadParameter(f"not trading on the exchange: {', '.join(unknown)}")
            streams = LiveStreams(settings, rest, sink, stop, topics.dlq(Topic.TRADES))
            tasks = [asyncio.create_task(streams.run(names), name="streams")]
            if control:
                board = SymbolStatusBoard(settings.kafka, RedisSettings(), "trade_producer")
                tasks.append(
                    asyncio.create_task(SymbolRequestListener(settings, streams, rest, sink, board).run(stop))
                )
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            stop.set()
            await asyncio.gather(*tasks)
        finally:
            await rest.close()
            log.warning("live streaming stopped, flushing")

    try:
        asyncio.run(run())
    except (ExchangeUnavailable, ExchangeRefused) as error:
        _fail(error)
    finally:
        sink.flush(settings.flush_timeout_seconds)


if __name__ == "__main__":
    app()
