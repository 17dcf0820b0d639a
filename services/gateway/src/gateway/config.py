"""Every knob of the gateway, read from the environment (and ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from tickcast.intervals import parse_intervals
from tickcast.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """``GATEWAY_*`` plus the shared ``KAFKA_*``, ``REDIS_*`` and logging variables.

    Gateway-only variables carry the ``GATEWAY_`` prefix through their alias, so the shared
    ones (``LOG_LEVEL``, ``REDIS_URL``...) keep the names every service reads.
    """

    model_config = SettingsConfigDict(**{**ServiceSettings.model_config, "populate_by_name": True})

    host: str = Field("127.0.0.1", validation_alias="GATEWAY_HOST", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535, validation_alias="GATEWAY_PORT")
    api_keys: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(),
        validation_alias="GATEWAY_API_KEYS",
        description="Comma-separated keys accepted in X-API-Key by write endpoints; empty leaves them open.",
    )
    redis_connect_timeout_s: float = Field(
        0.5,
        gt=0,
        validation_alias="GATEWAY_REDIS_CONNECT_TIMEOUT_S",
        description="Give up connecting to Redis after this long (a 503, never a hang).",
    )
    redis_timeout_s: float = Field(
        1.0,
        gt=0,
        validation_alias="GATEWAY_REDIS_TIMEOUT_S",
        description="Give up waiting for a Redis reply after this long.",
    )
    redis_max_connections: int = Field(256, ge=1, validation_alias="GATEWAY_REDIS_MAX_CONNECTIONS")
    kafka_timeout_s: float = Field(
        5.0,
        gt=0,
        validation_alias="GATEWAY_KAFKA_TIMEOUT_S",
        description="POST /symbols answers 503 when the broker has not acknowledged within this time.",
    )
    latest_cache_ttl_s: float = Field(
        1.0,
        ge=0,
        validation_alias="GATEWAY_LATEST_CACHE_TTL_S",
        description="How long GET .../latest trusts its in-memory copy, kept current by the predictions "
        "channel, before reading Redis again; 0 reads Redis every time.",
    )
    ws_queue_size: int = Field(
        256,
        ge=1,
        validation_alias="GATEWAY_WS_QUEUE_SIZE",
        description="Predictions buffered per WebSocket client; a slower client loses the oldest.",
    )

    stale_after_s: float = Field(
        60.0,
        gt=0,
        validation_alias="GATEWAY_STALE_AFTER_S",
        description="A symbol with no trade for this long (or whose candles fall this far behind its trades, "
        "beyond one interval) is stale: /health says degraded and the dashboard warns.",
    )
    freshness_interval_s: float = Field(
        5.0, gt=0, validation_alias="GATEWAY_FRESHNESS_INTERVAL_S",
        description="How often the end of the trades topic is read for the age of each symbol's last trade.",
    )
    trade_tail: int = Field(
        2000, ge=1, validation_alias="GATEWAY_TRADE_TAIL",
        description="At most this many messages read from the end of each trades partition per look.",
    )
    candle_intervals: str = Field(
        "1m",
        validation_alias="CANDLE_INTERVALS",
        description="The candle builder's intervals (the same variable): GET /candles serves these; the first "
        "one measures freshness.",
    )

    # GET /predictions/{symbol}/at: which model, and where past candles are when the store lacks them.
    model_name: str | None = Field(
        None, validation_alias="INFERENCE_MODEL_NAME",
        description="The served model (inference's variable); default from INFERENCE_SYMBOLS, interval and horizon.")
    model_symbols: str = Field(
        "BTCUSDT", validation_alias="INFERENCE_SYMBOLS", description="Symbols the served model was trained on.")
    horizon: int = Field(5, ge=1, validation_alias="INFERENCE_HORIZON", description="The served model's horizon.")
    klines_dir: Path | None = Field(
        None, validation_alias="GATEWAY_KLINES_DIR",
        description="Folder of exchange kline files (data-dump layout) to rebuild past features from when "
        "the offline store lacks them; unset: the offline store only.")
    model_cache_size: int = Field(
        4, ge=1, validation_alias="GATEWAY_MODEL_CACHE_SIZE", description="Models kept loaded for past predictions.")

    @property
    def interval_list(self) -> list[str]:
        return parse_intervals(self.candle_intervals)

    @field_validator("candle_intervals")
    @classmethod
    def _valid_intervals(cls, value: str) -> str:
        if not parse_intervals(value):
            raise ValueError("CANDLE_INTERVALS names no interval")
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(key.strip() for key in value.split(",") if key.strip())
        return value
