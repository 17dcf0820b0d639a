"""Where models are registered: ``MODEL_REGISTRY`` and the MLflow or Hopsworks connection."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickcast.settings import absolute_home, default_home


class RegistrySettings(BaseSettings):
    """Where models are registered and which registry holds the ``champion`` alias.

    Shared by training (registers, moves the alias) and inference (loads the champion
    through :mod:`tickcast.serving`).
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    backend: Literal["mlflow", "hopsworks"] = Field(
        "mlflow", validation_alias="MODEL_REGISTRY", description="Model registry: mlflow (default) or hopsworks."
    )
    tickcast_home: Path = Field(
        default_factory=default_home,
        validation_alias="TICKCAST_HOME",
        description="Local state root (MLflow database, artifacts); default <repo>/.local.",
    )
    mlflow_tracking_uri: str | None = Field(
        None, validation_alias="MLFLOW_TRACKING_URI", description="Default: sqlite:///$TICKCAST_HOME/mlflow/mlflow.db."
    )
    mlflow_artifact_root: str | None = Field(
        None, validation_alias="MLFLOW_ARTIFACT_ROOT", description="Default: $TICKCAST_HOME/mlflow/artifacts."
    )
    mlflow_experiment: str = Field("tickcast-training", validation_alias="MLFLOW_EXPERIMENT")
    hopsworks_host: str | None = Field(None, validation_alias="HOPSWORKS_HOST")
    hopsworks_port: int = Field(443, validation_alias="HOPSWORKS_PORT")
    hopsworks_project: str | None = Field(None, validation_alias="HOPSWORKS_PROJECT")
    hopsworks_api_key: SecretStr | None = Field(None, validation_alias="HOPSWORKS_API_KEY")

    @field_validator("tickcast_home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return absolute_home(value)

    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.tickcast_home / 'mlflow' / 'mlflow.db').resolve()}"

    def artifact_root(self) -> str:
        if self.mlflow_artifact_root:
            return self.mlflow_artifact_root
        return (self.tickcast_home / "mlflow" / "artifacts").resolve().as_uri()
