"""Local state is trusted only against the broker and topics it was built from.

A service's local state (the candle builder's window store, faust's table data) holds what it
read from some topics of some Kafka cluster, up to some offsets. Met by another cluster (``make
clean`` wiped the broker but not the state), or by a topic deleted and created again, that state
describes messages that are not there: the candle builder then refused every trade as late and
died on a changelog offset "lower than already saved". So a marker file next to the state
(``broker-identity.json`` in its folder) records the cluster id, the id of each topic the state
depends on and where each partition ended; at start the broker is asked again, and state that
does not match is discarded with one warning saying why, before anything opens it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from confluent_kafka import KafkaException, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from tickcast.settings import KafkaSettings

log = structlog.get_logger(__name__)

MARKER = "broker-identity.json"


@dataclass(frozen=True)
class TopicIdentity:
    topic_id: str
    ends: dict[int, int] = field(default_factory=dict)  # partition -> end offset when recorded


@dataclass(frozen=True)
class BrokerIdentity:
    """What local state depends on: the cluster, and each topic it was read from or written to."""

    cluster_id: str
    topics: dict[str, TopicIdentity]

    def to_json(self) -> str:
        return json.dumps({
            "cluster_id": self.cluster_id,
            "topics": {name: {"id": t.topic_id, "ends": {str(p): end for p, end in sorted(t.ends.items())}}
                       for name, t in sorted(self.topics.items())},
        }, indent=1)

    @classmethod
    def from_json(cls, text: str) -> BrokerIdentity:
        data = json.loads(text)
        return cls(str(data["cluster_id"]), {
            name: TopicIdentity(str(t["id"]), {int(p): int(end) for p, end in t["ends"].items()})
            for name, t in data["topics"].items()
        })


# --- the decision, no I/O -------------------------------------------------------------------


def mismatch(saved: BrokerIdentity | None, current: BrokerIdentity) -> str | None:
    """Why state recorded against ``saved`` cannot be trusted against ``current``; None if it can.

    Topics that exist now but were not recorded (created after the record) do not count against
    it: the state cannot depend on what did not exist yet when it was last checked.
    """
    if saved is None:
        return "no record of the broker it was built against"
    if saved.cluster_id != current.cluster_id:
        return f"another Kafka cluster (state from cluster {saved.cluster_id}, broker is {current.cluster_id})"
    for name, before in sorted(saved.topics.items()):
        now = current.topics.get(name)
        if now is None:
            return f"topic {name} no longer exists"
        if now.topic_id != before.topic_id:
            return f"topic {name} was deleted and created again"
        for partition, end in sorted(before.ends.items()):
            if now.ends.get(partition, 0) < end:
                return (f"topic {name} partition {partition} ends at {now.ends.get(partition, 0)}, "
                        f"before offset {end} the state had already seen")
    return None


def has_state(directory: Path) -> bool:
    """Anything in the folder besides the marker."""
    return directory.is_dir() and any(entry.name != MARKER for entry in directory.iterdir())


# --- asking the broker ----------------------------------------------------------------------


def read_identity(kafka: KafkaSettings, topics: Sequence[str], topic_prefixes: Sequence[str] = (),
                  timeout_s: float = 30.0) -> BrokerIdentity:
    """The cluster id, and the id and partition ends of ``topics`` plus every topic named with one of
    ``topic_prefixes`` (e.g. a stream library's changelog topics), those that exist.

    Retries what a broker answers while it is starting (leaders not elected yet) until ``timeout_s``.
    """
    admin = AdminClient({**kafka.client_config(), "allow.auto.create.topics": False, "log_level": 0})
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return _read_identity(admin, topics, topic_prefixes, max(1.0, deadline - time.monotonic()))
        except KafkaException as error:
            if time.monotonic() >= deadline:
                raise KafkaException(error.args[0]) from error
            time.sleep(0.5)


def _read_identity(admin: AdminClient, topics: Sequence[str], topic_prefixes: Sequence[str],
                   timeout_s: float) -> BrokerIdentity:
    cluster_id = admin.describe_cluster(request_timeout=timeout_s).result(timeout_s).cluster_id
    existing = admin.list_topics(timeout=timeout_s).topics
    names = sorted({name for name in existing if name in topics or name.startswith(tuple(topic_prefixes))})
    if not names:
        return BrokerIdentity(str(cluster_id), {})
    described = admin.describe_topics(TopicCollection(names), request_timeout=timeout_s)
    ids = {name: str(future.result(timeout_s).topic_id) for name, future in described.items()}
    partitions = [TopicPartition(name, partition) for name in names for partition in existing[name].partitions]
    ends: dict[str, dict[int, int]] = {name: {} for name in names}
    if partitions:
        answers = admin.list_offsets({tp: OffsetSpec.latest() for tp in partitions}, request_timeout=timeout_s)
        for tp, future in answers.items():
            ends[tp.topic][tp.partition] = future.result(timeout_s).offset
    return BrokerIdentity(str(cluster_id), {name: TopicIdentity(ids[name], ends[name]) for name in names})


# --- the guard ------------------------------------------------------------------------------


def guard_local_state(directory: Path, kafka: KafkaSettings, topics: Sequence[str],
                      topic_prefixes: Sequence[str] = (), service: str = "") -> bool:
    """Discard ``directory``'s content unless it was built against this broker and these topics,
    then record them. Call before anything opens the state. True when state was discarded.
    """
    return keep_or_discard(directory, read_identity(kafka, topics, topic_prefixes), service)


def keep_or_discard(directory: Path, current: BrokerIdentity, service: str = "") -> bool:
    """``guard_local_state`` once the broker has answered: the folder's side of it."""
    marker = directory / MARKER
    discarded = False
    if has_state(directory):
        try:
            saved = BrokerIdentity.from_json(marker.read_text()) if marker.exists() else None
        except (ValueError, KeyError, TypeError):
            saved = None
        reason = mismatch(saved, current)
        if reason is not None:
            log.warning("local state does not match the broker; discarded, rebuilt from the topics",
                        service=service, state_dir=str(directory), reason=reason)
            shutil.rmtree(directory)
            discarded = True
    directory.mkdir(parents=True, exist_ok=True)
    temporary = marker.with_suffix(".tmp")
    temporary.write_text(current.to_json())
    temporary.replace(marker)
    return discarded
