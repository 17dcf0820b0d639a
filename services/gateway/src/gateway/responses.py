"""Answers built from the JSON inference stored, checked against the contract but not re-encoded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import structlog
from starlette.responses import Response

from tickcast.contracts import Contract, ContractError

log = structlog.get_logger(__name__)

C = TypeVar("C", bound=Contract)


class StoredJSONResponse(Response):
    """A JSON body that already is JSON bytes (one stored document, or an array of them)."""

    media_type = "application/json"


def parse_or_none(model: type[C], document: bytes, symbol: str) -> C | None:
    """The document as ``model``; a malformed one is logged and None, never served."""
    try:
        return model.parse(document)
    except ContractError as exc:
        log.error("malformed document in the store", model=model.__name__, symbol=symbol, reason=str(exc))
        return None


def valid_documents(model: type[Contract], documents: Iterable[bytes], symbol: str) -> list[bytes]:
    """The documents that satisfy ``model``; malformed ones are logged and left out."""
    return [document for document in documents if parse_or_none(model, document, symbol) is not None]


def json_array(documents: list[bytes]) -> bytes:
    return b"[" + b",".join(documents) + b"]"
