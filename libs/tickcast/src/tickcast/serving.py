"""What inference uses: the champion model of a registered name, ready to predict.

``champion_version`` is cheap (one registry query) so a server can poll it and reload
only when the champion moved; ``load_champion`` fetches and loads the model files.
``settings`` is a :class:`tickcast.registry.settings.RegistrySettings`, or any settings object
that carries one as ``.registry`` (e.g. the training service's settings).

Serving uses the registry; the registry never imports serving.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tickcast.model_bundle.servable import ServableModel
from tickcast.registry import make_registry
from tickcast.registry.base import CHAMPION_ALIAS
from tickcast.registry.settings import RegistrySettings

__all__ = ["CHAMPION_ALIAS", "ServableModel", "challenger_versions", "champion_version", "load_champion",
           "load_version", "registered_model_name"]


def registered_model_name(symbols: Sequence[str], interval: str, horizon: int) -> str:
    """One registered model per (symbols, interval, horizon), e.g. ``tickcast-btcusdt-1m-h5``."""
    if not symbols:
        raise ValueError("a model is trained on at least one symbol")
    parts = "-".join(sorted({re.sub(r"[^a-z0-9]", "", symbol.lower()) for symbol in symbols}))
    return f"tickcast-{parts}-{interval}-h{horizon}"


def champion_version(settings: Any, model_name: str) -> str | None:
    """Which version holds the ``champion`` alias; None when there is no champion (or no such model)."""
    return make_registry(_registry_settings(settings)).champion_version(model_name)


def load_champion(settings: Any, model_name: str) -> ServableModel | None:
    """The champion of ``model_name`` loaded and ready to predict, or None when there is none."""
    registry = make_registry(_registry_settings(settings))
    version = registry.champion_version(model_name)
    if version is None:
        return None
    return registry.load(model_name, version)


def challenger_versions(settings: Any, model_name: str) -> list[str]:
    """Versions a user marked as challengers (served in shadow beside the champion), ascending."""
    return make_registry(_registry_settings(settings)).challenger_versions(model_name)


def load_version(settings: Any, model_name: str, version: str) -> ServableModel:
    """One registered version of ``model_name`` loaded and ready to predict."""
    return make_registry(_registry_settings(settings)).load(model_name, version)


def _registry_settings(settings: Any) -> RegistrySettings:
    return getattr(settings, "registry", settings)
