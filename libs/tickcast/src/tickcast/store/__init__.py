"""Feature store: the :class:`FeatureStore` interface and the factory that picks an adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tickcast.store.base import KEY_COLUMNS, META_COLUMNS, FeatureStore

if TYPE_CHECKING:
    from tickcast.store.settings import FeatureStoreSettings

__all__ = ["KEY_COLUMNS", "META_COLUMNS", "FeatureStore", "make_feature_store"]


def make_feature_store(settings: FeatureStoreSettings) -> FeatureStore:
    """The adapter named by ``FEATURE_STORE`` (``feast``, the default, or ``hopsworks``)."""
    # Imported here: each adapter pulls in a heavy client library the other does not need.
    if settings.feature_store == "feast":
        from tickcast.store.feast_store import FeastFeatureStore

        return FeastFeatureStore.from_settings(settings)
    if settings.feature_store == "hopsworks":
        from tickcast.store.hopsworks_store import HopsworksFeatureStore

        return HopsworksFeatureStore.from_settings(settings)
    raise ValueError(f"unknown FEATURE_STORE {settings.feature_store!r}: expected feast or hopsworks")
