"""Model registries: MLflow (default) or Hopsworks, behind :class:`ModelRegistry`.

The registry stores and hands out model bundles (:mod:`tickcast.model_bundle`); it never
imports :mod:`tickcast.serving`, which uses it to find the champion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tickcast.registry.base import CHAMPION_ALIAS, ModelRegistry, ModelToRegister, VersionSummary

if TYPE_CHECKING:
    from tickcast.registry.settings import RegistrySettings

__all__ = ["CHAMPION_ALIAS", "ModelRegistry", "ModelToRegister", "VersionSummary", "make_registry"]


def make_registry(settings: RegistrySettings) -> ModelRegistry:
    """The registry named by ``MODEL_REGISTRY``."""
    # Imported here: each adapter pulls in a heavy client library the other does not need.
    if settings.backend == "mlflow":
        from tickcast.registry.mlflow_registry import MlflowRegistry

        return MlflowRegistry.from_settings(settings)
    if settings.backend == "hopsworks":
        from tickcast.registry.hopsworks_registry import HopsworksRegistry

        return HopsworksRegistry.from_settings(settings)
    raise ValueError(f"unknown MODEL_REGISTRY {settings.backend!r}: expected mlflow or hopsworks")
