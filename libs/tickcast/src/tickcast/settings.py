"""Configuration shared by every service, read from the environment (and ``.env``).

Each service extends :class:`ServiceSettings` with its own fields; the names
here are the ones documented in ``.env.example``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    """``<repository>/.local`` when running from a source checkout, else ``./.local``."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "uv.lock").is_file() and (folder / "libs" / "tickcast").is_dir():
            return folder / ".local"
    return Path.cwd() / ".local"


def absolute_home(value: Path) -> Path:
    """A relative ``TICKCAST_HOME`` is taken from where the command runs, once, at start."""
    return value.expanduser().absolute()


class KafkaSettings(BaseSettings):
    """``KAFKA_*``: where the broker is and how topics are laid out."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", env_file=".env", extra="ignore")

    bootstrap_servers: str = Field("127.0.0.1:9092", description="Comma-separated host:port list.")
    topic_prefix: str = Field("", description="Prepended to every topic name (isolates tests and tenants).")
    partitions: int = Field(3, ge=1, description="Partitions of each data topic.")
    replication_factor: int = Field(1, ge=1)
    security_protocol: str | None = Field(None, description="e.g. SASL_SSL for a managed cluster.")
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None

    def client_config(self) -> dict[str, str]:
        """librdkafka settings common to producers, consumers and admin clients."""
        config = {"bootstrap.servers": self.bootstrap_servers}
        optional = {
            "security.protocol": self.security_protocol,
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": self.sasl_password,
        }
        config.update({name: value for name, value in optional.items() if value})
        return config


class RedisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REDIS_", env_file=".env", extra="ignore")

    url: str = Field("redis://127.0.0.1:6379/0", description="redis:// URL of the online store and cache.")
    key_prefix: str = Field("tickcast:", description="Prepended to every Redis key the services write.")


class ServiceSettings(BaseSettings):
    """Settings every service has; a service subclasses this for its own.

    The shared fields keep their plain names (``LOG_LEVEL``, ``LOG_FORMAT``,
    ``METRICS_PORT``) whatever ``env_prefix`` a service sets for its own fields,
    so one ``.env`` and one compose anchor configure every service alike.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", validation_alias="LOG_LEVEL")
    log_format: Literal["json", "console"] = Field(
        "console", validation_alias="LOG_FORMAT", description="json for machines, console for people."
    )
    metrics_port: int = Field(
        0, ge=0, validation_alias="METRICS_PORT", description="Prometheus /metrics port; 0 disables it."
    )
    tickcast_home: Path = Field(
        default_factory=default_home,
        validation_alias="TICKCAST_HOME",
        description="Root of every file a service keeps (window state, stores, registry); default <repo>/.local.",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)

    @field_validator("tickcast_home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return absolute_home(value)
