"""Control messages: requests that change what the system follows.

A :class:`SymbolRequest` on the ``symbol-requests`` topic asks the trade producer to
start streaming a symbol: it checks the symbol against the exchange, backfills
``lookback_minutes`` of history (its own default when None), then adds it to the
live streams. The gateway produces these; invalid ones go to the topic's DLQ.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tickcast.contracts import Contract, EpochMs, Symbol


class SymbolRequest(Contract):
    """Start following ``symbol``, with ``lookback_minutes`` of history first."""

    symbol: Symbol
    requested_at_ms: EpochMs
    lookback_minutes: Annotated[int, Field(ge=0, le=7 * 24 * 60)] | None = Field(
        None, description="History to backfill before going live; None for the producer's default."
    )


def symbol_request_group(topic_prefix: str) -> str:
    """The consumer group of the trade producer's listener on ``symbol-requests`` (only the live feed runs one).

    The gateway asks the broker whether this group has members before it accepts a request.
    """
    return f"{topic_prefix}trade-producer-control"
