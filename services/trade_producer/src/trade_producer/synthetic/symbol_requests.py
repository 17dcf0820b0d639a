"""Symbol requests in offline mode: the synthetic feed adds the symbol, labelled synthetic.

The synthetic feed joins the same consumer group as the live feed's listener, so ``POST /symbols``
is accepted and followed in offline mode too. There is no exchange to check the symbol against: a
request that satisfies the contract is accepted and its trades are INVENTED (``source="synthetic"``
on every trade, and on the status record), never presented as market data. The symbol starts at
the wall clock: invented history before now would be late for a candle builder whose partition
already reached now.

:func:`decide` is the pure part; :class:`SyntheticSymbolRequests` reads the topic in a thread and
hands new symbols to the feed, which restarts its generators with them.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import structlog
from confluent_kafka import Consumer, Message

from tickcast.contracts import ContractError
from tickcast.control import SymbolRequest, symbol_request_group
from tickcast.kafka import CheckedProducer, consumer_config, dead_letter
from tickcast.rate_limited_log import RateLimitedLog
from tickcast.symbol_status import SymbolStatusBoard
from tickcast.topics import Topic, TopicNames
from trade_producer.config import Settings
from trade_producer.control_topic import requests_already_handled
from trade_producer.metrics import REJECTED_MESSAGES

log = structlog.get_logger(__name__)
REFUSED_LOG = RateLimitedLog(log, "symbol requests refused (in the dead-letter topic)")
SERVICE = "trade_producer"
SYNTHETIC_DETAIL = "SYNTHETIC trades (offline mode: invented prices, not market data)"


@dataclass(frozen=True)
class Decision:
    """What to do with one request: add ``symbol``, say it is streamed already, or refuse with ``reason``."""

    action: str  # "add", "streamed" or "refuse"
    symbol: str | None = None
    requested_at_ms: int | None = None
    reason: str = ""


def decide(payload: bytes, streamed: set[str]) -> Decision:
    """The synthetic feed's answer to a request: any valid symbol can be invented, once."""
    try:
        request = SymbolRequest.parse(payload)
    except ContractError as error:
        return Decision("refuse", reason=str(error))
    if request.symbol in streamed:
        return Decision("streamed", request.symbol, request.requested_at_ms)
    return Decision("add", request.symbol, request.requested_at_ms)


class SyntheticSymbolRequests:
    """Listens on ``symbol-requests`` in a thread; :meth:`take` hands the feed the symbols to add."""

    def __init__(self, settings: Settings, board: SymbolStatusBoard, streamed: list[str]) -> None:
        self._settings = settings
        self._board = board
        self._topics = TopicNames(settings.kafka)
        self._streamed = set(streamed)
        self._new: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.arrived = threading.Event()  # set when a symbol waits in :meth:`take`
        self._consumer = Consumer(consumer_config(settings.kafka, group_id=symbol_request_group(
            settings.kafka.topic_prefix)))
        self._dead_letters = CheckedProducer(settings.kafka)
        self._thread: threading.Thread | None = None

    def restore(self) -> list[str]:
        """Symbols requested in earlier runs (before the committed offset), not streamed yet: stream them again."""
        topic = self._topics(Topic.SYMBOL_REQUESTS)
        restored = [s for s in requests_already_handled(self._consumer, topic) if s not in self._streamed]
        self._streamed.update(restored)
        if restored:
            log.info("requested symbols restored (synthetic)", symbols=restored)
        return restored

    def start(self, stop: threading.Event) -> None:
        self._consumer.subscribe([self._topics(Topic.SYMBOL_REQUESTS)])
        self._thread = threading.Thread(target=self._run, args=(stop,), name="symbol-requests", daemon=True)
        self._thread.start()

    def take(self) -> list[str]:
        """The symbols that arrived since the last call."""
        self.arrived.clear()
        taken: list[str] = []
        while True:
            try:
                taken.append(self._new.get_nowait())
            except queue.Empty:
                return taken

    def started(self, symbols: list[str]) -> None:
        """The feed now invents trades for ``symbols``."""
        for symbol in symbols:
            self._board.report(symbol, "streaming", source="synthetic", progress=None,
                               detail=f"{SYNTHETIC_DETAIL}; candles and features follow")

    def _run(self, stop: threading.Event) -> None:
        log.info("listening for symbol requests (synthetic feed)", topic=self._topics(Topic.SYMBOL_REQUESTS))
        try:
            while not stop.is_set():
                message = self._consumer.poll(0.5)
                if message is None or message.error() is not None:
                    continue
                self._handle(message)
                self._consumer.commit(message=message, asynchronous=False)
        finally:
            self._consumer.close()
            self._dead_letters.flush()

    def _handle(self, message: Message) -> None:
        decision = decide(message.value() or b"", self._streamed)
        if decision.action == "refuse":
            REJECTED_MESSAGES.labels("control", "ContractError").inc()
            REFUSED_LOG.record("ContractError", reason=decision.reason)
            self._dead_letters.send(
                self._topics.dlq(Topic.SYMBOL_REQUESTS),
                dead_letter(message, reason=decision.reason, error_type="ContractError", service=SERVICE),
            )
            self._dead_letters.flush()
            return
        assert decision.symbol is not None
        if decision.action == "streamed":
            self._board.report(decision.symbol, "streaming", source="synthetic", detail=SYNTHETIC_DETAIL)
            return
        self._board.report(decision.symbol, "validating", requested_at_ms=decision.requested_at_ms,
                           source="synthetic",
                           detail="offline mode: no exchange to check; the synthetic feed invents this symbol")
        self._streamed.add(decision.symbol)
        self._new.put(decision.symbol)
        self.arrived.set()
        log.warning("symbol added to the SYNTHETIC feed (prices are not real)", symbol=decision.symbol)
