"""Runs the inference service in-process against the real broker and Redis."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from inference.config import Settings
from tickcast.contracts import Contract
from tickcast.kafka import CheckedProducer
from tickcast.redis_keys import RedisKeys
from tickcast.settings import KafkaSettings, RedisSettings
from tickcast.topics import Topic, TopicNames
from tickcast.registry.settings import RegistrySettings
from tickcast.registry import make_registry
from support.registries import mlflow_registry_settings


@pytest.fixture
def inference_settings(kafka_settings: KafkaSettings, redis_settings: RedisSettings, namespace: str) -> Settings:
    return Settings(
        kafka=kafka_settings,
        redis=redis_settings,
        group_id=f"{namespace}inference",
        interval="1m",
        horizon=5,
        champion_poll_seconds=0.2,
        batch_linger_ms=20,
    )


@pytest.fixture(scope="session")
def registry_settings(tmp_path_factory: pytest.TempPathFactory) -> RegistrySettings:
    """A fresh MLflow registry (SQLite and local artifacts), its database created up front.

    Creating the database takes seconds; tests use their own model names, so one registry serves all.
    """
    root: Path = tmp_path_factory.mktemp("mlflow")
    settings = mlflow_registry_settings(root)
    make_registry(settings)
    return settings


@pytest.fixture
def redis_client(redis_settings: RedisSettings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_settings.url, decode_responses=True)
    yield client
    for key in client.scan_iter(match=f"{redis_settings.key_prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def live_channel(redis_client: redis.Redis, keys: RedisKeys) -> Iterator[list[dict]]:
    """Every message published on the predictions channel, decoded, as it arrives."""
    received: list[dict] = []
    stop = threading.Event()
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.predictions_channel())

    def listen() -> None:
        while not stop.is_set():
            message = pubsub.get_message(timeout=0.1)
            if message:
                received.append(json.loads(message["data"]))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    yield received
    stop.set()
    listener.join(timeout=5)
    pubsub.close()


@pytest.fixture
def keys(redis_settings: RedisSettings) -> RedisKeys:
    return RedisKeys(redis_settings.key_prefix)


@pytest.fixture
def send(kafka_settings: KafkaSettings, topics: TopicNames) -> Iterator[Callable[[Topic, list[Contract]], None]]:
    """Produce contract messages (keyed by symbol) and wait until the broker has them all."""
    producer = CheckedProducer(kafka_settings, **{"linger.ms": 1})

    def send_messages(topic: Topic, messages: list[Contract]) -> None:
        for message in messages:
            producer.send(topics(topic), message)
        producer.flush()

    yield send_messages
