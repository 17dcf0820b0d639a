"""Reads of the broker that ride out its passing errors, up to a deadline.

A topic created a moment ago has no leader yet; a broker that just started is still loading its
group coordinator; a broker restart drops the connection. Each of these answers a metadata,
watermark or committed-offset read with an error that goes away within seconds. A service that
reads the broker at start-up (the tail of a topic, a group's committed offsets) retries such
errors with the shared back-off (``tickcast.supervise.RestartPolicy``) until a deadline, then
fails with :class:`BrokerNotReady`, whose message says what to do. Any other error is raised at
once: retrying it would only hide it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import structlog
from confluent_kafka import KafkaError, KafkaException

from tickcast.supervise import RestartPolicy

log = structlog.get_logger(__name__)

T = TypeVar("T")

DEFAULT_DEADLINE_S = 60.0

# Quick retries: a start-up read waits for a leader election or a coordinator, not for an outage.
READ_BACKOFF = RestartPolicy(max_attempts=0, base_delay_s=0.2, max_delay_s=2.0, jitter=0.2)

# Errors a broker gives while it (or a topic) is still coming up, or while it restarts.
TRANSIENT_CODES = frozenset({
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,  # a topic just created, not yet in every broker's metadata
    KafkaError.REPLICA_NOT_AVAILABLE,
    KafkaError.NOT_ENOUGH_REPLICAS,
    KafkaError.UNKNOWN_LEADER_EPOCH,
    KafkaError.FENCED_LEADER_EPOCH,
    KafkaError.OFFSET_NOT_AVAILABLE,
    KafkaError.KAFKA_STORAGE_ERROR,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NETWORK_EXCEPTION,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.NOT_COORDINATOR,
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._WAIT_COORD,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError._RESOLVE,
    KafkaError._WAIT_CACHE,
    KafkaError._TIMED_OUT_QUEUE,
})


class BrokerNotReady(RuntimeError):
    """A read of the broker kept failing with passing errors until its deadline."""


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is one a broker gives while coming up or restarting (worth a retry)."""
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        return error.args[0].code() in TRANSIENT_CODES or error.args[0].retriable()
    return False


def retry_transient(
    what: str,
    read: Callable[[], T],
    deadline_s: float = DEFAULT_DEADLINE_S,
    *,
    policy: RestartPolicy = READ_BACKOFF,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    unit_random: Callable[[], float] = random.random,
) -> T:
    """``read()``, retried after transient Kafka errors until ``deadline_s`` has passed.

    ``what`` names the read for people ("watermarks of trades[0]"); it heads the one log line
    written when the first retry starts and the message of :class:`BrokerNotReady`.
    """
    deadline = clock() + deadline_s
    attempt = 0
    while True:
        try:
            result = read()
        except KafkaException as error:
            if not is_transient(error):
                raise
            attempt += 1
            remaining = deadline - clock()
            if remaining <= 0:
                raise BrokerNotReady(
                    f"{what}: the broker still answers {error.args[0]} after {deadline_s:g} s and "
                    f"{attempt} attempt(s). Check that Kafka is running and reachable "
                    f"(`make status`, KAFKA_BOOTSTRAP_SERVERS) and that the topics exist (`make topics`), "
                    f"then start again."
                ) from error
            if attempt == 1:
                log.info("broker not ready; retrying", read=what, error=str(error.args[0]),
                         deadline_s=deadline_s)
            sleep(min(policy.delay_s(attempt, unit_random()), remaining))
        else:
            if attempt:
                log.info("broker ready", read=what, attempts=attempt + 1)
            return result
