"""The request body of POST /symbols accepts what its JSON schema says, and nothing else."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.api.schemas import SymbolRequestBody


@pytest.mark.parametrize("minutes", [None, 0, 60, 60.0, 7 * 24 * 60])
def test_lookback_minutes_is_a_json_integer_in_range(minutes: object) -> None:
    body = SymbolRequestBody.model_validate_json(
        f'{{"symbol": "SOLUSDT", "lookback_minutes": {_json(minutes)}}}'
    )
    assert body.lookback_minutes == minutes


@pytest.mark.parametrize("minutes", [False, True, '"60"', 60.5, -1, 7 * 24 * 60 + 1])
def test_anything_else_is_refused(minutes: object) -> None:
    with pytest.raises(ValidationError, match="lookback_minutes"):
        SymbolRequestBody.model_validate_json(
            f'{{"symbol": "SOLUSDT", "lookback_minutes": {_json(minutes)}}}'
        )


def test_unknown_fields_and_lower_case_symbols_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        SymbolRequestBody.model_validate_json('{"symbol": "SOLUSDT", "exchange": "binance"}')
    with pytest.raises(ValidationError, match="symbol"):
        SymbolRequestBody.model_validate_json('{"symbol": "solusdt"}')


def _json(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
