"""Answers built from the JSON inference stored: the bytes as stored, one document or an array of them."""

from __future__ import annotations

from starlette.responses import Response


class StoredJSONResponse(Response):
    """A JSON body that already is JSON bytes (one stored document, or an array of them)."""

    media_type = "application/json"


def json_array(documents: list[bytes]) -> bytes:
    return b"[" + b",".join(documents) + b"]"
