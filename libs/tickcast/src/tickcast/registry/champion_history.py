"""When each version became champion: recorded as the alias moves, read back for a past moment.

MLflow keeps only where an alias points now, so every move of the champion alias also writes a
registered-model tag ``champion.at.<epoch ms>`` = version (empty when the champion was removed).
History starts with the first move recorded this way: before it, the registry cannot say who
was champion, and callers say so rather than guess.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass

CHAMPION_TAG_PREFIX = "champion.at."


@dataclass(frozen=True)
class ChampionChange:
    at_ms: int
    version: str | None  # None: the champion was removed


def change_tag(at_ms: int, version: str | None) -> tuple[str, str]:
    """The registered-model tag that records one move of the alias."""
    return f"{CHAMPION_TAG_PREFIX}{at_ms}", version or ""


def history_from_tags(tags: Mapping[str, str]) -> list[ChampionChange]:
    """Every recorded move, oldest first; tags that are not moves are ignored."""
    changes = []
    for key, value in tags.items():
        if not key.startswith(CHAMPION_TAG_PREFIX):
            continue
        stamp = key.removeprefix(CHAMPION_TAG_PREFIX)
        if stamp.isdigit():
            changes.append(ChampionChange(int(stamp), value or None))
    return sorted(changes, key=lambda change: change.at_ms)


def champion_at(history: list[ChampionChange], time_ms: int) -> ChampionChange | None:
    """The move in force at ``time_ms`` (its version may be None: no champion then);
    None when the history starts after ``time_ms`` (or is empty): not known."""
    index = bisect_right([change.at_ms for change in history], time_ms)
    return history[index - 1] if index else None
