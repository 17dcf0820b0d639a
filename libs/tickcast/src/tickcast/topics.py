"""Topic names and layout: the one place that says what each topic is called.

Every data topic is keyed by symbol, so all messages of one symbol stay in one
partition and in order. Each input topic has a dead-letter twin ``<topic>.dlq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tickcast.settings import KafkaSettings


class Topic(StrEnum):
    TRADES = "trades"
    CANDLES = "candles"
    FEATURES = "features"
    PREDICTIONS = "predictions"
    # Shadow challengers' predictions: the same contract, apart from ``predictions`` whose readers
    # (relay, Redis, scorer) expect one champion prediction per (symbol, as_of).
    PREDICTIONS_CHALLENGERS = "predictions.challengers"
    SYMBOL_REQUESTS = "symbol-requests"
    # One SymbolStatus per symbol (compacted): where a requested symbol stands.
    SYMBOL_STATUS = "symbol-status"


# Topics a service consumes; each gets a dead-letter topic.
INPUT_TOPICS = (Topic.TRADES, Topic.CANDLES, Topic.FEATURES, Topic.SYMBOL_REQUESTS)


def dlq_name(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    config: tuple[tuple[str, str], ...] = ()


class TopicNames:
    """Resolves logical topics to real names under the configured prefix."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings

    def __call__(self, topic: Topic | str) -> str:
        return f"{self._settings.topic_prefix}{topic}"

    def dlq(self, topic: Topic | str) -> str:
        return self(dlq_name(str(topic)))

    def specs(self) -> list[TopicSpec]:
        """Every topic the system needs, with partitions from configuration."""
        partitions = self._settings.partitions
        replicas = self._settings.replication_factor
        control = (Topic.SYMBOL_REQUESTS, Topic.SYMBOL_STATUS)
        specs = [TopicSpec(self(topic), partitions, replicas) for topic in Topic if topic not in control]
        # Symbol requests are rare control messages; one partition keeps them ordered.
        specs.append(TopicSpec(self(Topic.SYMBOL_REQUESTS), 1, replicas))
        # Only the latest status of each symbol matters: compaction keeps it, and the whole topic
        # rebuilds the Redis mirror.
        specs.append(TopicSpec(self(Topic.SYMBOL_STATUS), 1, replicas, (("cleanup.policy", "compact"),)))
        specs += [TopicSpec(self.dlq(topic), 1, replicas) for topic in INPUT_TOPICS]
        return specs
