"""Feature store: the :class:`FeatureStore` interface and the factory that picks an adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from feature_pipeline.store.base import KEY_COLUMNS, META_COLUMNS, FeatureStore

if TYPE_CHECKING:
    from feature_pipeline.config import Settings

__all__ = ["KEY_COLUMNS", "META_COLUMNS", "FeatureStore", "make_feature_store"]


def make_feature_store(settings: Settings) -> FeatureStore:
    """The adapter named by ``FEATURE_STORE`` (``feast``, the default, or ``hopsworks``)."""
    # Imported here: each adapter pulls in a heavy client library the other does not need.
    if settings.feature_store == "feast":
        from feature_pipeline.store.feast_store import FeastFeatureStore

        return FeastFeatureStore.from_settings(settings)
    if settings.feature_store == "hopsworks":
        from feature_pipeline.store.hopsworks_store import HopsworksFeatureStore

        return HopsworksFeatureStore.from_settings(settings)
    raise ValueError(f"unknown FEATURE_STORE {settings.feature_store!r}: expected feast or hopsworks")
