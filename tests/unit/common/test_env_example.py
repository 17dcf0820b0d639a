""".env.example documents every setting that a service reads from the environment."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[3]
CONFIG_MODULES = [
    "tickcast.settings",
    "tickcast.supervise",
    "tickcast.lag",
    "tickcast.stack",
    "tickcast.rate_limited_log",
    "tickcast.periodic_summary",
    "tickcast.registry.settings",
    "tickcast.store.settings",
    "trade_producer.config",
    "candle_builder.config",
    "feature_pipeline.config",
    "training.config",
    "inference.config",
    "gateway.config",
]
NESTED = {"kafka", "redis", "registry"}  # nested settings classes are checked on their own


def accepted_names(prefix: str, field_name: str, field: FieldInfo) -> set[str]:
    """The environment variable names that set this field."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return {choice.upper() for choice in alias.choices if isinstance(choice, str)}
    if isinstance(alias, str):
        return {alias.upper()}
    return {f"{prefix}{field_name}".upper()}


def settings_classes() -> list:
    found = []
    for module_name in CONFIG_MODULES:
        module = importlib.import_module(module_name)
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, BaseSettings) and cls.__module__ == module_name:
                found.append(pytest.param(cls, id=f"{module_name}.{cls.__name__}"))
    return found


@pytest.mark.parametrize("settings_class", settings_classes())
def test_every_setting_is_in_env_example(settings_class: type[BaseSettings]):
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    prefix = settings_class.model_config.get("env_prefix", "")
    missing = [
        sorted(names)
        for field_name, field in settings_class.model_fields.items()
        if field_name not in NESTED
        if not (names := accepted_names(prefix, field_name, field)) & documented
    ]
    assert not missing, f"{settings_class.__name__}: not in .env.example: {missing}"
