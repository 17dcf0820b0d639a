"""Fixtures: a real Kafka broker and a real Redis, with a fresh namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from support import infra
from support.kafka import delete_topics_with_prefix
from tickcast.kafka import ensure_topics
from tickcast.settings import KafkaSettings, RedisSettings
from tickcast.topics import TopicNames


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with infra.kafka_bootstrap() as servers:
        yield servers


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with infra.redis_url() as url:
        yield url


@pytest.fixture
def namespace() -> str:
    """A prefix no other test uses, for topics, consumer groups and Redis keys."""
    return f"t{uuid.uuid4().hex[:10]}-"


@pytest.fixture
def kafka_settings(kafka_bootstrap: str, namespace: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[KafkaSettings]:
    """Settings for this test's own topics, created on the real broker.

    The environment is set too, so services started in subprocesses see the same. They are
    deleted when the test ends.
    """
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", namespace)
    monkeypatch.setenv("KAFKA_PARTITIONS", "3")
    settings = KafkaSettings()
    ensure_topics(settings, TopicNames(settings).specs())
    yield settings
    delete_topics_with_prefix(kafka_bootstrap, namespace)


@pytest.fixture
def topics(kafka_settings: KafkaSettings) -> TopicNames:
    return TopicNames(kafka_settings)


@pytest.fixture
def redis_settings(redis_server_url: str, namespace: str, monkeypatch: pytest.MonkeyPatch) -> RedisSettings:
    monkeypatch.setenv("REDIS_URL", redis_server_url)
    monkeypatch.setenv("REDIS_KEY_PREFIX", f"{namespace}")
    return RedisSettings()
