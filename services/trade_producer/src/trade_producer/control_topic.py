"""The symbol-requests topic as a feed reads it at start: the symbols asked for in earlier runs.

Shared by the live and the synthetic feed, which both stream again, after a restart, every symbol
requested before their group's committed offset.
"""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition

from tickcast.contracts import ContractError
from tickcast.control import SymbolRequest
from tickcast.kafka import committed_offsets, topic_partitions, watermark_offsets


def requests_already_handled(consumer: Consumer, topic: str, timeout: float = 30.0) -> list[str]:
    """Valid requested symbols in every partition up to the group's committed offset, in order."""
    partitions = topic_partitions(consumer, topic, timeout=timeout)
    committed = committed_offsets(consumer, [TopicPartition(topic, p) for p in partitions], timeout=timeout)
    symbols: dict[str, None] = {}
    for position in committed:
        if position.offset <= 0:  # nothing committed yet (or nothing before it)
            continue
        low, _high = watermark_offsets(consumer, position, timeout=timeout)
        consumer.assign([TopicPartition(topic, position.partition, low)])
        while True:
            message = consumer.poll(5.0)
            if message is None or message.error() is not None or message.offset() >= position.offset:
                break
            try:
                symbols.setdefault(SymbolRequest.parse(message.value() or b"").symbol, None)
            except ContractError:
                pass  # refused at the time, and dead-lettered then
            if message.offset() + 1 >= position.offset:
                break
        consumer.unassign()
    return list(symbols)
