"""Which feature store (``FEATURE_STORE``) and how to reach it; read by the feature pipeline and training."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from tickcast.settings import ServiceSettings


class FeatureStoreSettings(ServiceSettings):
    """``FEATURE_STORE`` and its adapter's connection: Feast (default) or Hopsworks."""

    feature_store: Literal["feast", "hopsworks"] = Field("feast", description="Feature store adapter.")

    # Feast (embedded): Redis online store, parquet files + duckdb offline store.
    feast_repo_path: Path = Field(
        default_factory=lambda fields: fields["tickcast_home"] / "feast",
        description="Feast repository folder, created on first use; default $TICKCAST_HOME/feast.",
    )
    feast_project: str = Field("tickcast", pattern=r"^[A-Za-z0-9_]+$", description="Feast project name.")
    feast_offline_compact_parts: int = Field(
        256, ge=2, description="Merge the offline part files of an interval once there are this many."
    )

    # Hopsworks (managed): see the README for how to connect a real cluster.
    hopsworks_host: str | None = Field(
        None, description="e.g. c.app.hopsworks.ai; None = hopsworks.login() defaults."
    )
    hopsworks_port: int = 443
    hopsworks_project: str | None = None
    hopsworks_api_key: SecretStr | None = None
    hopsworks_feature_group: str = Field("candle_features", description="Offline feature group (history).")
    hopsworks_feature_group_version: int = Field(1, ge=1)
