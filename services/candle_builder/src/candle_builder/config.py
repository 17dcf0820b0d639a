"""Every knob of the candle builder, from the environment (``CANDLE_*`` plus the shared ones)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from tickcast.intervals import parse_intervals
from tickcast.settings import ServiceSettings

from candle_builder.windowing import WindowPlan


class Settings(ServiceSettings):
    candle_intervals: str = Field("1m", description="Comma-separated candle intervals, e.g. 1m,5m,1h.")
    candle_grace_ms: int = Field(
        2_000, ge=0, description="How long after a window ends late trades still count."
    )
    candle_max_gap_fill_ms: int = Field(
        86_400_000, ge=1, description="A longer stretch without trades is skipped, not gap-filled."
    )
    candle_max_future_ms: int = Field(
        300_000, ge=0, description="Trades stamped further ahead of the clock are refused."
    )
    candle_backlog_idle_ms: int = Field(
        5_000,
        ge=0,
        description="Trades older than a minute (replay, backlog) close on the clock only after this long idle.",
    )
    candle_consumer_group: str = Field(
        "candle-builder", description="Consumer group (under the topic prefix)."
    )
    candle_instance_id: str = Field(
        "0",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Distinct per replica: its transactional and group member id.",
    )
    candle_state_dir: Path = Field(
        default_factory=lambda fields: fields["tickcast_home"] / "candle-builder",
        description="Local window state (RocksDB); default $TICKCAST_HOME/candle-builder.",
    )
    candle_commit_interval_s: float = Field(
        1.0, gt=0, description="Checkpoint period while no window closes."
    )
    candle_emit_commit_gap_ms: int = Field(
        # Only binds when windows close faster than this, i.e. in replays; live candles never wait.
        500,
        ge=0,
        description="Emitted candles are committed (published) at once, but at most once per this period.",
    )
    candle_tick_ms: int = Field(100, ge=10, description="Idle-close check period and consumer poll timeout.")
    candle_transaction_timeout_ms: int = Field(30_000, ge=1_000, description="Kafka transaction.timeout.ms.")

    @field_validator("candle_intervals")
    @classmethod
    def _valid_intervals(cls, text: str) -> str:
        WindowPlan.of(parse_intervals(text), grace_ms=0)
        return text

    def window_plan(self) -> WindowPlan:
        return WindowPlan.of(
            parse_intervals(self.candle_intervals),
            grace_ms=self.candle_grace_ms,
            max_gap_fill_ms=self.candle_max_gap_fill_ms,
        )

    def consumer_group(self) -> str:
        """The group id under the topic prefix, so its changelog topics are isolated too."""
        return f"{self.kafka.topic_prefix}{self.candle_consumer_group}"
