"""Answers built from the JSON inference stored, checked against the contract but not re-encoded."""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from starlette.responses import Response

from tickcast.contracts import Contract, ContractError

log = structlog.get_logger(__name__)


class StoredJSONResponse(Response):
    """A JSON body that already is JSON bytes (one stored document, or an array of them)."""

    media_type = "application/json"


def valid_documents(model: type[Contract], documents: Iterable[bytes], symbol: str) -> list[bytes]:
    """The documents that satisfy ``model``; a malformed one is logged and left out, never served."""
    valid = []
    for document in documents:
        try:
            model.parse(document)
        except ContractError as exc:
            log.error("malformed document in the store", model=model.__name__, symbol=symbol, reason=str(exc))
            continue
        valid.append(document)
    return valid


def json_array(documents: list[bytes]) -> bytes:
    return b"[" + b",".join(documents) + b"]"
