"""Assembles the quixstreams application of the candle builder from its settings."""

from __future__ import annotations

import structlog
from confluent_kafka import KafkaException
from quixstreams import Application
from quixstreams.exceptions import PartitionAssignmentError
from quixstreams.kafka.exceptions import BaseKafkaException, KafkaBrokerUnavailableError
from quixstreams.kafka import ConnectionConfig
from tickcast.kafka import ensure_topics
from tickcast.local_state import guard_local_state
from tickcast.supervise import RestartSettings, supervise
from tickcast.topics import Topic, TopicNames

from candle_builder import SERVICE
from candle_builder.config import Settings
from candle_builder.stream import CandleOperator, OperatorConfig

log = structlog.get_logger(__name__)


# Failures of the connection to Kafka, as quixstreams and librdkafka report them.
RECOVERABLE = (PartitionAssignmentError, BaseKafkaException, KafkaBrokerUnavailableError, KafkaException)


def build_application(settings: Settings) -> Application:
    """An exactly-once application reading trades and writing candles, ready to ``run()``."""
    topics = TopicNames(settings.kafka)
    group = settings.consumer_group()
    member = f"{group}-{settings.candle_instance_id}"
    app = Application(
        broker_address=ConnectionConfig.from_librdkafka_dict(settings.kafka.client_config()),
        consumer_group=group,
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
        commit_interval=settings.candle_commit_interval_s,
        consumer_poll_timeout=settings.candle_tick_ms / 1000,
        state_dir=settings.candle_state_dir,
        loglevel=None,  # quixstreams' records go through our structured handler
        auto_create_topics=True,
        producer_extra_config={
            # A fixed id per replica: a restarted replica fences its killed predecessor
            # and aborts its open transaction at once, instead of after the timeout.
            "transactional.id": member,
            "transaction.timeout.ms": settings.candle_transaction_timeout_ms,
            "linger.ms": 5,
            "compression.type": "lz4",
            # murmur2, as the Java client, faust (features) and inference (predictions) use:
            # a symbol's candles, features and predictions share a partition number.
            "partitioner": "murmur2_random",
        },
        consumer_extra_config={
            # Static membership: a restarted replica takes its partitions back without
            # waiting for the killed one's session to expire.
            "group.instance.id": member,
            "isolation.level": "read_committed",
        },
    )
    trades = app.topic(topics(Topic.TRADES), key_deserializer="bytes", value_deserializer="bytes")
    sdf = app.dataframe(trades)
    CandleOperator(
        sdf,
        OperatorConfig(
            plan=settings.window_plan(),
            trades_topic=topics(Topic.TRADES),
            candles_topic=topics(Topic.CANDLES),
            dead_letter_topic=topics.dlq(Topic.TRADES),
            max_future_ms=settings.candle_max_future_ms,
            tick_s=settings.candle_tick_ms / 1000,
            emit_commit_gap_s=settings.candle_emit_commit_gap_ms / 1000,
            backlog_idle_ms=settings.candle_backlog_idle_ms,
        ),
    )
    return app


def changelog_prefix(group: str) -> str:
    """quixstreams names its changelog topics ``changelog__<group>--<topic>--<store>``."""
    return f"changelog__{group}--"


def run(settings: Settings) -> None:
    """Create missing topics, then build candles until SIGTERM/SIGINT."""
    topics = TopicNames(settings.kafka)
    ensure_topics(settings.kafka, topics.specs())
    group = settings.consumer_group()
    # quixstreams keeps the group's windows under <state_dir>/<group>: trusted only against the
    # cluster, trades, candles and changelog topics they were built from.
    guard_local_state(settings.candle_state_dir / group, settings.kafka,
                      [topics(Topic.TRADES), topics(Topic.CANDLES)], [changelog_prefix(group)], service=SERVICE)
    plan = settings.window_plan()
    log.info(
        "candle builder starting",
        intervals=",".join(plan.intervals),
        base_ms=plan.base_ms,
        grace_ms=plan.grace_ms,
        group=settings.consumer_group(),
        instance=settings.candle_instance_id,
        state_dir=str(settings.candle_state_dir),
    )
    # A broker restart can surface as a failed partition assignment (watermark lookups while
    # leaders move) that stops the application. Everything is committed transactionally, so
    # a fresh application resumes exactly where the last commit left off.
    supervise(SERVICE, lambda: build_application(settings).run(), RECOVERABLE, RestartSettings().policy())
