"""Model registries: MLflow (default) or Hopsworks, behind :class:`ModelRegistry`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from training.registry.base import ModelRegistry, ModelToRegister, VersionSummary

if TYPE_CHECKING:
    from training.config import RegistrySettings

__all__ = ["ModelRegistry", "ModelToRegister", "VersionSummary", "make_registry"]


def make_registry(settings: RegistrySettings) -> ModelRegistry:
    """The registry named by ``MODEL_REGISTRY``."""
    # Imported here: each adapter pulls in a heavy client library the other does not need.
    if settings.backend == "mlflow":
        from training.registry.mlflow_registry import MlflowRegistry

        return MlflowRegistry.from_settings(settings)
    if settings.backend == "hopsworks":
        from training.registry.hopsworks_registry import HopsworksRegistry

        return HopsworksRegistry.from_settings(settings)
    raise ValueError(f"unknown MODEL_REGISTRY {settings.backend!r}: expected mlflow or hopsworks")
