"""Stored JSON documents checked against their contract: served as stored, never re-encoded without need."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import structlog

from tickcast.contracts import Contract, ContractError

log = structlog.get_logger(__name__)

C = TypeVar("C", bound=Contract)


def parse_or_none(model: type[C], document: bytes, symbol: str) -> C | None:
    """The document as ``model``; a malformed one is logged and None, never served."""
    try:
        return model.parse(document)
    except ContractError as exc:
        log.error("malformed document in the store", model=model.__name__, symbol=symbol, reason=str(exc))
        return None


def with_source(document: bytes, parsed: Contract) -> bytes:
    """The document as stored, or re-encoded when it predates the ``source`` field.

    Such a document parses with ``source="unknown"``; re-encoding makes the answer say so
    instead of leaving the field out. Current documents are handed on untouched.
    """
    if b'"source":' in document or "source" not in type(parsed).model_fields:
        return document
    return parsed.to_json_bytes()


def valid_documents(model: type[Contract], documents: Iterable[bytes], symbol: str) -> list[bytes]:
    """The documents that satisfy ``model`` (each with its ``source``); malformed ones are logged and left out."""
    valid = []
    for document in documents:
        parsed = parse_or_none(model, document, symbol)
        if parsed is not None:
            valid.append(with_source(document, parsed))
    return valid
