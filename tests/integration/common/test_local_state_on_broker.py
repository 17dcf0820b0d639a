"""What the real broker says about a state folder's topics: kept while they go on, discarded once recreated."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from tickcast.kafka import ensure_topics, producer_config
from tickcast.local_state import guard_local_state, has_state, read_identity
from tickcast.settings import KafkaSettings
from tickcast.topics import TopicSpec

pytestmark = pytest.mark.integration


def fill(directory: Path) -> None:
    (directory / "tables").mkdir(parents=True, exist_ok=True)
    (directory / "tables" / "data").write_text("window state")


def test_state_follows_its_topics(kafka_settings: KafkaSettings, namespace: str, tmp_path: Path):
    source, changelog = f"{namespace}source-{uuid.uuid4().hex[:6]}", f"{namespace}app-table-changelog"
    ensure_topics(kafka_settings, [TopicSpec(source, 2, 1), TopicSpec(changelog, 2, 1)])
    state = tmp_path / "app"

    assert not guard_local_state(state, kafka_settings, [source], [f"{namespace}app-"])
    identity = read_identity(kafka_settings, [source], [f"{namespace}app-"])
    assert set(identity.topics) == {source, changelog}
    assert identity.cluster_id

    fill(state)
    producer = Producer(producer_config(kafka_settings))
    for number in range(10):
        producer.produce(changelog, b"value", key=str(number).encode())
    assert producer.flush(30) == 0
    assert not guard_local_state(state, kafka_settings, [source], [f"{namespace}app-"]), "the same topics, further on"
    assert has_state(state)

    admin = AdminClient(kafka_settings.client_config())
    admin.delete_topics([changelog], operation_timeout=30)[changelog].result(30)
    deadline = time.monotonic() + 60
    while changelog in admin.list_topics(timeout=30).topics:
        assert time.monotonic() < deadline, "the changelog was not deleted"
        time.sleep(0.2)
    time.sleep(1.0)
    ensure_topics(kafka_settings, [TopicSpec(changelog, 2, 1)])
    assert guard_local_state(state, kafka_settings, [source], [f"{namespace}app-"]), "a recreated changelog"
    assert not has_state(state)
