"""Optional API keys for the write endpoints (``GATEWAY_API_KEYS``); reads stay open.

The dependency is attached (and the key documented in the OpenAPI document) only when keys
are configured: with none, the write endpoints are open and the document says nothing of a key.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

API_KEY_HEADER = "X-API-Key"

_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="One of the keys the gateway was started with (GATEWAY_API_KEYS).",
)


def key_is_accepted(offered: str | None, accepted: frozenset[str]) -> bool:
    """No keys configured means the endpoint is open; otherwise the offered key must be one of them."""
    if not accepted:
        return True
    if not offered:
        return False
    # Compare against every key in constant time, so timing does not reveal a prefix match.
    return any(hmac.compare_digest(offered.encode(), key.encode()) for key in accepted)


async def require_write_key(
    request: Request, offered: Annotated[str | None, Depends(_api_key_header)]
) -> None:
    if not key_is_accepted(offered, request.app.state.settings.api_keys):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=f"a valid {API_KEY_HEADER} header is required for this endpoint",
            headers={"WWW-Authenticate": API_KEY_HEADER},
        )
