"""Topic naming and settings from the environment."""

from __future__ import annotations

import pytest

from tickcast.intervals import interval_ms, parse_intervals, window_start
from tickcast.settings import KafkaSettings
from tickcast.topics import Topic, TopicNames


def test_topics_follow_prefix_and_partitions(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "dev-")
    monkeypatch.setenv("KAFKA_PARTITIONS", "6")
    names = TopicNames(KafkaSettings())
    assert names(Topic.TRADES) == "dev-trades"
    assert names.dlq(Topic.CANDLES) == "dev-candles.dlq"
    specs = {spec.name: spec for spec in names.specs()}
    assert {"dev-trades", "dev-candles", "dev-features", "dev-predictions"} <= specs.keys()
    assert {"dev-trades.dlq", "dev-candles.dlq", "dev-features.dlq"} <= specs.keys()
    assert specs["dev-trades"].partitions == 6
    assert specs["dev-symbol-requests"].partitions == 1


def test_settings_come_from_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-a:9092,broker-b:9092")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    config = KafkaSettings().client_config()
    assert config == {"bootstrap.servers": "broker-a:9092,broker-b:9092", "security.protocol": "SASL_SSL"}


def test_bad_partition_count_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KAFKA_PARTITIONS", "zero")
    with pytest.raises(ValueError, match="partitions"):
        KafkaSettings()


def test_intervals():
    assert interval_ms("1m") == 60_000
    assert interval_ms("4h") == 14_400_000
    assert window_start(1_704_067_265_123, "1m") == 1_704_067_260_000
    assert parse_intervals("1m, 5m,1h") == ["1m", "5m", "1h"]
    with pytest.raises(ValueError, match="unknown interval '0m'"):
        interval_ms("0m")


def test_shared_service_settings_keep_plain_names_under_a_prefix(monkeypatch: pytest.MonkeyPatch):
    from pydantic_settings import SettingsConfigDict

    from tickcast.settings import ServiceSettings

    class PrefixedSettings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="SOME_SERVICE_")
        batch_size: int = 1

    monkeypatch.setenv("METRICS_PORT", "9123")
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("SOME_SERVICE_BATCH_SIZE", "7")
    settings = PrefixedSettings()
    assert (settings.metrics_port, settings.log_format, settings.batch_size) == (9123, "json", 7)
    assert PrefixedSettings(metrics_port=5).metrics_port == 5


def test_every_producer_partitions_like_faust_and_quixstreams():
    from tickcast.kafka import producer_config

    # Same key, same partition number on every topic, whichever client wrote it.
    assert producer_config(KafkaSettings())["partitioner"] == "murmur2_random"


def test_challenger_predictions_have_a_topic_of_their_own(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "dev-")
    monkeypatch.setenv("KAFKA_PARTITIONS", "6")
    names = TopicNames(KafkaSettings())
    specs = {spec.name: spec for spec in names.specs()}
    assert names(Topic.PREDICTIONS_CHALLENGERS) == "dev-predictions.challengers" != names(Topic.PREDICTIONS)
    assert specs["dev-predictions.challengers"].partitions == 6  # keyed by symbol like predictions
