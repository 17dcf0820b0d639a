"""The control topic: symbols to add to the live streams while running.

Each request is checked against the exchange's symbol list, its history is
backfilled (``lookback_minutes``, or the configured default), then the symbol
joins the live streams; the gap between backfill and stream is filled by id like
any other. Invalid or unknown requests go to ``symbol-requests.dlq``. The offset
is committed once a request is fully handled. Each step is reported on the symbol's status
record (validating, backfilling with its share done, streaming, or refused with the reason).
"""

from __future__ import annotations

import asyncio
import time

import structlog
from confluent_kafka import Consumer, Message

from tickcast.contracts import ContractError
from tickcast.control import SymbolRequest, symbol_request_group
from tickcast.kafka import (
    CheckedProducer,
    consumer_config,
    dead_letter,
)
from tickcast.rate_limited_log import RateLimitedLog
from tickcast.settings import KafkaSettings
from tickcast.symbol_status import SymbolStatusBoard
from tickcast.topics import Topic, TopicNames
from trade_producer.backfill import backfill
from trade_producer.config import Settings
from trade_producer.control_topic import requests_already_handled
from trade_producer.dedupe import id_space
from trade_producer.live.streams import LiveStreams
from trade_producer.metrics import REJECTED_MESSAGES
from trade_producer.exchange.rest import ExchangeRest
from trade_producer.sink import TradeSink
from trade_producer.topic_tail import read_high_water_marks

log = structlog.get_logger(__name__)
# Every refused request is counted and dead-lettered; its warning is folded, per kind, per interval.
REFUSED_LOG = RateLimitedLog(log, "symbol requests refused (in the dead-letter topic)")
CONTROL_ERROR_LOG = RateLimitedLog(log, "control topic error")

SERVICE = "trade_producer"


def control_group(kafka: KafkaSettings) -> str:
    """The listener's consumer group, under the topic prefix (its lag is exported too); named once in
    ``tickcast.control`` because the gateway asks the broker about the same group."""
    return symbol_request_group(kafka.topic_prefix)


class SymbolRequestListener:
    def __init__(self, settings: Settings, live: LiveStreams, rest: ExchangeRest, sink: TradeSink,
                 status: SymbolStatusBoard) -> None:
        self._settings = settings
        self._status = status
        self._live = live
        self._rest = rest
        self._sink = sink
        self._topics = TopicNames(settings.kafka)
        self._dead_letters = CheckedProducer(settings.kafka)

    async def run(self, stop: asyncio.Event) -> None:
        topic = self._topics(Topic.SYMBOL_REQUESTS)
        group = control_group(self._settings.kafka)
        consumer = Consumer(consumer_config(self._settings.kafka, group_id=group))
        try:
            await self._restore(consumer, topic)
            consumer.subscribe([topic])
            log.info("listening for symbol requests", topic=topic, group=group)
            while not stop.is_set():
                message = await asyncio.to_thread(consumer.poll, 0.5)
                if message is None:
                    continue
                if message.error() is not None:
                    CONTROL_ERROR_LOG.record(message.error().name(), topic=topic, error=str(message.error()))
                    continue
                await self.handle(message)
                # In a thread: a synchronous commit waits for the broker, and this loop answers the exchange's pings.
                await asyncio.to_thread(consumer.commit, message=message, asynchronous=False)
        finally:
            consumer.close()
            self._dead_letters.flush()

    async def _restore(self, consumer: Consumer, topic: str) -> None:
        """Stream again the symbols requested in earlier runs (those before the committed offset).

        No backfill here: their trades are on the topic up to the last id produced, and
        the first live trade fills the gap since then from REST, like any restart.
        """
        requested = await asyncio.to_thread(requests_already_handled, consumer, topic)
        if not requested:
            return
        trading = await self._rest.trading_symbols()
        restore = [symbol for symbol in requested if symbol in trading and symbol not in self._live.symbols]
        if not restore:
            return
        await asyncio.to_thread(self._load_marks, restore)
        # All at once: one SUBSCRIBE (or the first connection's URL), not a reconnect per symbol.
        self._live.add_symbols(restore)
        log.info("requested symbols restored", symbols=restore)

    async def _report(self, symbol: str, stage: str, **fields: object) -> None:
        # The board flushes to the broker: kept off the event loop, which answers the exchange's pings.
        await asyncio.to_thread(self._status.report, symbol, stage, **fields)  # type: ignore[arg-type]

    async def handle(self, message: Message) -> None:
        try:
            request = SymbolRequest.parse(message.value() or b"")
        except ContractError as error:
            await self._refuse(message, str(error), "ContractError")
            return
        symbol = request.symbol
        if symbol in self._live.symbols:
            log.info("symbol already streamed", symbol=symbol)
            await self._report(symbol, "streaming", source="binance", detail="already streamed live")
            return
        await self._report(symbol, "validating", requested_at_ms=request.requested_at_ms,
                           detail="checking the exchange's symbol list")
        if symbol not in await self._rest.trading_symbols():
            await self._refuse(message, f"{symbol} is not a trading symbol on the exchange", "UnknownSymbol",
                               symbol=symbol)
            return
        lookback = request.lookback_minutes
        lookback = self._settings.control_lookback_minutes if lookback is None else lookback
        await asyncio.to_thread(self._load_marks, [symbol])
        if lookback:
            end_ms = int(time.time() * 1000)
            detail = f"trades of the last {lookback} minutes from the exchange"
            await self._report(symbol, "backfilling", progress=0.0, source="binance", detail=detail)
            reported = [0.0]
            loop = asyncio.get_running_loop()

            def on_share(share: float) -> None:  # after each page; a report per 5 % is plenty
                if share - reported[0] >= 0.05:
                    reported[0] = share
                    loop.create_task(self._report(symbol, "backfilling", progress=round(share, 3), detail=detail))

            produced = await backfill(
                self._rest, self._sink, self._live.filler, symbol, end_ms - lookback * 60_000, end_ms, progress=False,
                on_share=on_share,
            )
            log.info("requested symbol backfilled", symbol=symbol, lookback_minutes=lookback, trades=produced)
        self._live.add_symbol(symbol)
        await self._report(symbol, "streaming", progress=None, source="binance",
                           detail="live trades from the exchange; candles and features follow")

    def _load_marks(self, symbols: list[str]) -> None:
        # Trades of these symbols may already be on the topic (an earlier run, a replay): one scan for all.
        spaces = [id_space(symbol, aggregate=False) for symbol in symbols]
        marks = read_high_water_marks(
            self._settings.kafka, self._topics(Topic.TRADES), spaces, chunk=self._settings.dedupe_scan_chunk
        )
        for space in spaces:
            if (last := marks.get(space)) is not None:
                self._sink.marks.raise_to(space, last)

    async def _refuse(self, message: Message, reason: str, error_type: str, symbol: str | None = None) -> None:
        if symbol is not None:
            await self._report(symbol, "refused", detail=reason)
        REJECTED_MESSAGES.labels("control", error_type).inc()
        REFUSED_LOG.record(error_type, reason=reason, raw=(message.value() or b"").decode(errors="replace"))
        letter = dead_letter(message, reason=reason, error_type=error_type, service=SERVICE)

        def deliver() -> None:  # waits for the broker: kept off the event loop, which answers the exchange's pings
            self._dead_letters.send(self._topics.dlq(Topic.SYMBOL_REQUESTS), letter)
            self._dead_letters.flush()

        await asyncio.to_thread(deliver)
