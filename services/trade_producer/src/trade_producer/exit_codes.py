"""What ``python -m trade_producer`` exits with, so scripts and process managers can tell failures apart."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # anything unexpected (with its traceback)
    USAGE = 2  # a bad option or argument (typer's own code)
    EXCHANGE_UNREACHABLE = 3  # REST failed after every retry (network, 5xx, rate limits)
    EXCHANGE_BLOCKED = 4  # HTTP 403: the exchange's web application firewall refused this client
    RESTRICTED_LOCATION = 5  # HTTP 451: the exchange does not serve the location this runs from
    TRADES_MISSING = 6  # backfill finished, but some trades could not be had (gap records on trades.dlq)
