"""Every knob of the feature pipeline, from the environment (see ``.env.example``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from tickcast.store.settings import FeatureStoreSettings


class Settings(FeatureStoreSettings):
    """The feature store's settings (shared with training) plus the faust worker's."""

    status_interval: str = Field(
        "1m", validation_alias="FEATURES_STATUS_INTERVAL", description="Interval whose warm-up is reported on requested symbols' status (the one inference serves).")
    # faust worker.
    faust_app_id: str = Field(
        "feature-pipeline", description="Consumer group and internal topic stem (prefixed)."
    )
    faust_data_dir: Path = Field(
        default_factory=lambda fields: fields["tickcast_home"] / "faust",
        description="faust's local data folder; default $TICKCAST_HOME/faust.",
    )
    faust_web_port: int = Field(0, ge=0, description="faust's web/health port; 0 disables the web server.")
    feature_batch_max: int = Field(
        2000, ge=1, description="Candles processed (and stored) per batch at most."
    )
    feature_batch_within_s: float = Field(
        0.2, gt=0, description="Longest wait to fill a batch: candles closing together share one store write."
    )
    feature_pending_batches: int = Field(
        8,
        ge=1,
        description=(
            "Processed batches that may wait for the store writer before the agent waits too "
            "(the writer merges them into one write); bounds the features-topic tail read at start-up."
        ),
    )
    faust_recovery_stall_s: float = Field(
        90.0, gt=0, description="A table recovery still running after this long ends the worker, to be restarted."
    )
    faust_commit_interval_s: float = Field(
        1.0, gt=0, description="How often processed offsets are committed."
    )
    faust_session_timeout_s: float = Field(
        30.0, gt=0, description="Consumer session timeout: how soon a dead worker's partitions move on."
    )

    def app_id(self) -> str:
        """The faust app id under the topic prefix, so its internal topics are isolated too."""
        return f"{self.kafka.topic_prefix}{self.faust_app_id}"

    def faust_app_dir(self) -> Path:
        """faust's local data of this app (its tables' files), under the app id."""
        return self.faust_data_dir.resolve() / self.app_id()
