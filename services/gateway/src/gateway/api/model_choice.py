"""Which served model a request follows (``model=``): the champion, a challenger by version, or persistence.

Pure, no I/O. What is served now comes from the leaderboard document inference writes
(its champion and challengers), read with the request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from tickcast import persistence_baseline

CHAMPION = "champion"
# What ``model=`` may look like: a keyword or a registry version (MLflow's are numbers).
MODEL_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


class UnknownModel(LookupError):
    """``model=`` names no model served now."""


@dataclass(frozen=True)
class ServedNow:
    champion_version: str | None
    challenger_versions: tuple[str, ...]

    @property
    def choices(self) -> list[str]:
        """What ``model=`` accepts now."""
        return [CHAMPION, *self.challenger_versions, persistence_baseline.NAME]


@dataclass(frozen=True)
class ModelChoice:
    kind: Literal["champion", "challenger", "persistence"]
    version: str | None = None  # a challenger's version


def served_now(document: bytes | str | None) -> ServedNow:
    """The champion and challengers named by inference's leaderboard document (none without one)."""
    try:
        value = json.loads(document) if document else {}
    except json.JSONDecodeError:
        value = {}
    champion = (value.get("champion") or {}).get("model_version") if isinstance(value, dict) else None
    challengers = value.get("challengers", []) if isinstance(value, dict) else []
    versions = tuple(str(c["model_version"]) for c in challengers if isinstance(c, dict) and "model_version" in c)
    return ServedNow(champion, tuple(v for v in versions if v != champion))


def choose(model: str | None, served: ServedNow) -> ModelChoice:
    """``model`` resolved against what is served now; raises UnknownModel with what is served instead."""
    if model is None or model == CHAMPION or (served.champion_version is not None and model == served.champion_version):
        return ModelChoice("champion")
    if model == persistence_baseline.NAME:
        return ModelChoice("persistence")
    if model in served.challenger_versions:
        return ModelChoice("challenger", model)
    raise UnknownModel(f"unknown model {model!r}: served now are {', '.join(served.choices)} (GET /models)")
