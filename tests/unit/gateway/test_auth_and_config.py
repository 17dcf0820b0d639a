"""API keys and the gateway's settings."""

from __future__ import annotations

import pytest

from gateway.api.auth import key_is_accepted
from gateway.config import GatewaySettings


def test_without_configured_keys_writes_are_open() -> None:
    assert key_is_accepted(None, frozenset())


def test_with_configured_keys_only_those_are_accepted() -> None:
    keys = frozenset({"alpha", "beta"})
    assert key_is_accepted("beta", keys)
    assert not key_is_accepted("gamma", keys)
    assert not key_is_accepted("", keys)
    assert not key_is_accepted(None, keys)


def test_api_keys_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_API_KEYS", " alpha, beta ,")
    monkeypatch.setenv("GATEWAY_PORT", "9123")
    settings = GatewaySettings()
    assert settings.api_keys == frozenset({"alpha", "beta"})
    assert settings.port == 9123


def test_a_bad_setting_is_refused_with_its_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_REDIS_TIMEOUT_S", "0")
    with pytest.raises(ValueError, match="GATEWAY_REDIS_TIMEOUT_S"):
        GatewaySettings()
