"""The JSON form of a forecaster: its kind, then each dataclass field under its own name.

Every forecaster (and its parts, e.g. a network layer) is a frozen dataclass whose field types say
how a value is written and read back, so one pair of functions serves them all: arrays as lists,
tuples and lists element by element, a part with its own JSON form through it, and a field typed
``Any`` (a forecaster held by another, e.g. a volatility) through the ``load`` the registry passes.
"""

from __future__ import annotations

import typing
from dataclasses import fields
from typing import Any

import numpy as np


class JsonForm:
    """Mixin of a frozen dataclass: ``to_json`` and ``from_json`` from its fields' types."""

    def to_json(self) -> dict[str, Any]:
        kind = getattr(type(self), "kind", None)
        data: dict[str, Any] = {} if kind is None else {"kind": kind}
        for field in fields(self):  # type: ignore[arg-type]
            data[field.name] = _written(getattr(self, field.name))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], load: Any = None) -> Any:
        types = typing.get_type_hints(cls)
        return cls(**{field.name: _read(types[field.name], data[field.name], load)
                      for field in fields(cls)})  # type: ignore[arg-type]


def _written(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_written(item) for item in value]
    if hasattr(value, "to_json"):
        return value.to_json()
    return value


def _read(kind: Any, value: Any, load: Any) -> Any:
    if kind is Any:  # another forecaster: its own kind says which
        return load(value)
    if kind in (int, float, str):
        return kind(value)
    if kind is np.ndarray:
        return np.asarray(value)
    origin = typing.get_origin(kind)
    if origin is tuple:
        return tuple(value)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_read(item, element, load) for element in value]
    if hasattr(kind, "from_json"):
        return kind.from_json(value)
    raise TypeError(f"no JSON form for a field of type {kind!r}")
