"""Heavy clients are optional extras of the tickcast package: a clear error when one is missing."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_extra(module: str, extra: str, needed_for: str) -> ModuleType:
    """``import module``, or say which ``tickcast[extra]`` to install for ``needed_for``."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module.split(".")[0]:
            raise
        raise ModuleNotFoundError(
            f"{needed_for} needs {module!r}, which this environment lacks: install tickcast[{extra}]",
            name=error.name,
        ) from error
