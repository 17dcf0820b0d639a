"""When each symbol's last trade reached the ``trades`` topic, read from the topic's end.

The trade producer stamps each message with its own clock when it sends it (the trade's own
time is in the message), so the end of each partition says how long ago the feed last
delivered, whatever the data's age (a replay of 2021 is fresh if it is flowing). A background
task reads only what arrived since its last look, at most the last ``tail`` messages of each
partition, every few seconds: a few watermark requests when nothing moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from tickcast.contracts import ContractError, Trade
from tickcast.kafka import consumer_config
from tickcast.settings import KafkaSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LastTrade:
    symbol: str
    trade_time_ms: int  # the exchange's time of the trade
    received_ms: int  # when the producer sent it (the message's timestamp)


class TradeTail:
    """The newest trade seen per symbol; ``error`` says why the topic could not be read, if it could not."""

    def __init__(self, kafka: KafkaSettings, topic: str, tail: int, interval_s: float) -> None:
        self._kafka = kafka
        self._topic = topic
        self._tail = tail
        self._interval_s = interval_s
        self._consumer: Consumer | None = None
        self._high: dict[int, int] = {}
        self.last: dict[str, LastTrade] = {}
        self.error: str | None = "not read yet"
        self.checked_ms: int | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def topic(self) -> str:
        return self._topic

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="trade-tail")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await asyncio.to_thread(self._consumer.close)
            self._consumer = None

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.read_once)
                self.error = None
            except (KafkaException, KeyError, RuntimeError) as exc:
                if self.error is None or self.error == "not read yet":
                    log.warning("trades topic not readable: feed freshness unknown", topic=self._topic,
                                error=str(exc))
                self.error = f"the {self._topic} topic could not be read: {exc}"
            await asyncio.sleep(self._interval_s)

    def read_once(self) -> None:
        """Read what arrived at the end of each partition since the last call."""
        consumer = self._connected()
        topic = consumer.list_topics(self._topic, timeout=5).topics.get(self._topic)
        if topic is None or topic.error is not None:
            raise RuntimeError(f"no topic {self._topic!r}")
        starts: list[TopicPartition] = []
        ends: dict[int, int] = {}
        for partition in sorted(topic.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(self._topic, partition), timeout=5)
            if high > low and high != self._high.get(partition):
                start = max(low, high - self._tail, self._high.get(partition, low))
                starts.append(TopicPartition(self._topic, partition, start))
                ends[partition] = high
        if starts:
            self._read(consumer, starts, ends)
        self.checked_ms = int(time.time() * 1000)

    def _read(self, consumer: Consumer, starts: list[TopicPartition], ends: dict[int, int]) -> None:
        consumer.assign(starts)
        waiting = set(ends)
        deadline = time.monotonic() + 5.0
        try:
            while waiting and time.monotonic() < deadline:
                for message in consumer.consume(1000, timeout=0.5):
                    partition = message.partition() or 0
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            waiting.discard(partition)
                        continue
                    if (message.offset() or 0) >= ends[partition] - 1:
                        waiting.discard(partition)
                    self._note(message.value() or b"", message.timestamp()[1])
        finally:
            consumer.unassign()
        for partition, high in ends.items():
            if partition not in waiting:
                self._high[partition] = high

    def _note(self, value: bytes, received_ms: int) -> None:
        try:
            trade = Trade.parse(value)
        except ContractError:
            return  # refused downstream; not a sign of a live feed
        seen = self.last.get(trade.symbol)
        if seen is None or received_ms >= seen.received_ms:
            self.last[trade.symbol] = LastTrade(trade.symbol, trade.timestamp_ms, received_ms)

    def _connected(self) -> Consumer:
        if self._consumer is None:
            self._consumer = Consumer(consumer_config(
                self._kafka, f"gateway-trade-tail-{uuid.uuid4().hex}",
                **{"enable.partition.eof": True, "isolation.level": "read_uncommitted"},
            ))
        return self._consumer
