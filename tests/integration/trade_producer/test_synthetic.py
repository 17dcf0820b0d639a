"""The synthetic command: labelled, loud, and identical for the same seed."""

from __future__ import annotations

import pytest

from support.kafka import consume
from tickcast.contracts import Trade
from tickcast.kafka import ensure_topics
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames

from .conftest import run_cli

pytestmark = pytest.mark.integration


def test_same_seed_gives_identical_messages_all_labelled_synthetic_and_a_rerun_adds_nothing(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    args = ("synthetic", "--symbols", "BTCUSDT,ETHUSDT", "--seed", "5", "--trades", "3000", "--no-progress")
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert "warning" in first.stderr.lower() and "NOT REAL" in first.stderr

    other = kafka_settings.model_copy(update={"topic_prefix": kafka_settings.topic_prefix + "again-"})
    ensure_topics(other, TopicNames(other).specs())
    second = run_cli(*args, env={"KAFKA_TOPIC_PREFIX": other.topic_prefix})
    assert second.returncode == 0, second.stderr

    first_records = consume(kafka_settings, topics(Topic.TRADES), expected=6000)
    second_records = consume(other, TopicNames(other)(Topic.TRADES), expected=6000)
    by_key = lambda records: {  # noqa: E731
        key: [r.value for r in records if r.key == key] for key in (b"BTCUSDT", b"ETHUSDT")
    }
    assert by_key(first_records) == by_key(second_records)
    assert all(len(values) == 3000 for values in by_key(first_records).values())
    trades = [Trade.parse(record.value) for record in first_records]
    assert {trade.source for trade in trades} == {"synthetic"}

    # Run again into the first topic: every id is already there, nothing is added.
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert "skipped_duplicates=6000" in again.stderr
    assert len(consume(kafka_settings, topics(Topic.TRADES), expected=6000)) == 6000

