"""Canary checks for a patch of a third-party library's internals: fail loudly, naming the patch."""

from __future__ import annotations

import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]


def assert_version_pinned(patch: str, distribution: str, tested: tuple[str, ...], service: str) -> None:
    """The installed version is in the tested range, and the service pins exactly that range."""
    tested_range = SpecifierSet(",".join(tested))
    installed = version(distribution)
    assert installed in tested_range, (
        f"{patch}: written for {distribution}{tested_range}, installed {installed}; "
        "check what the patch relies on, then widen the range in the patch and the pyproject"
    )
    project = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())
    pins = [Requirement(text) for text in project["project"]["dependencies"]]
    [pin] = [requirement for requirement in pins if requirement.name == distribution]
    assert pin.specifier == tested_range, (
        f"{patch}: services/{service}/pyproject.toml pins {distribution}{pin.specifier}, "
        f"the patch was tested with {tested_range}"
    )


def assert_parameters(patch: str, function: object, expected: list[str]) -> None:
    """``function`` still takes the parameters the patch calls it with, in that order."""
    assert callable(function), f"{patch}: {function!r} is no longer callable"
    found = list(inspect.signature(function).parameters)
    assert found[: len(expected)] == expected, (
        f"{patch}: {getattr(function, '__qualname__', function)} takes {found}, the patch expects {expected}"
    )
