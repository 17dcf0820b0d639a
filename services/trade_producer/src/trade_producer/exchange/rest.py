"""Binance REST through python-binance's ``AsyncClient``, within the exchange's rate limits.

Every response's ``X-MBX-USED-WEIGHT-1M`` is read; when it reaches the budget the
next call waits for the next minute's window. A 429 (too many requests) or 418
(banned for ignoring 429s) is honoured by sleeping ``Retry-After`` seconds;
network errors and 5xx are retried with exponential back-off and jitter.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import structlog
from binance import AsyncClient
from binance.exceptions import BinanceAPIException, BinanceRequestException

from tickcast.contracts import Trade, TradeSource
from trade_producer.exchange.binance_format import RejectedInput, trade_from_rest
from trade_producer.metrics import REJECTED_MESSAGES, REST_BACKOFFS

log = structlog.get_logger(__name__)

WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
MINUTE_MS = 60_000


class ExchangeUnavailable(RuntimeError):
    """The exchange did not answer usefully after every retry; never papered over with fake data."""


class ExchangeRefused(RuntimeError):
    """The exchange refuses this client outright; retrying will not help, a person must act."""

    status = 0

    def __init__(self, where: str, detail: str) -> None:
        self.where = where
        self.detail = detail
        super().__init__(f"{self.what} ({where}: HTTP {self.status} {detail}). {self.advice}")

    what = ""
    advice = ""


class ExchangeBlocked(ExchangeRefused):
    status = 403
    what = "Binance's web application firewall blocked this client"
    advice = (
        "This IP or its request pattern was blocked, often after rate limits were ignored or from a "
        "flagged network (VPN, cloud range). Wait before retrying, check nothing else on this IP floods the "
        "API, or run from another network."
    )


class RestrictedLocation(ExchangeRefused):
    status = 451
    what = "Binance does not serve the location this runs from"
    advice = (
        "Run from a location Binance serves, or point TRADE_PRODUCER_BINANCE_API_URL and "
        "TRADE_PRODUCER_BINANCE_STREAM_URL at the exchange that serves yours (for example Binance.US: "
        "https://api.binance.us/api and wss://stream.binance.us:9443/)."
    )


REFUSALS: dict[int, type[ExchangeRefused]] = {403: ExchangeBlocked, 451: RestrictedLocation}


def refusal(status: int, where: str, detail: str) -> ExchangeRefused | None:
    """The refusal an HTTP status stands for, or None when it is not one."""
    kind = REFUSALS.get(status)
    return kind(where, detail[:300]) if kind else None


def backoff_seconds(attempt: int, initial: float, ceiling: float, rng: random.Random) -> float:
    """Exponential back-off with full jitter: uniform in [initial/2, min(ceiling, initial * 2**attempt)]."""
    upper = min(ceiling, initial * 2**attempt)
    return rng.uniform(min(initial / 2, upper), upper)


def weight_pause_seconds(used_weight: int | None, budget: int, now_ms: int) -> float:
    """How long to wait before the next call: until the next minute once the budget is used."""
    if used_weight is None or used_weight < budget:
        return 0.0
    return (MINUTE_MS - now_ms % MINUTE_MS) / 1000 + 0.05


def _api_error_text(error: BinanceAPIException) -> str:
    # python-binance puts a non-JSON body (a firewall's HTML page) into the message unreadably.
    if str(error.message).startswith("Invalid JSON error message"):
        return "(no JSON error body)"
    return f"code {error.code}: {error.message}"


def retry_after_seconds(headers: Any, default: float) -> float:
    try:
        return max(float(headers.get("Retry-After")), 0.0)
    except (TypeError, ValueError):
        return default


class ExchangeRest:
    """The REST calls the producer needs, paced by the exchange's own weight accounting."""

    def __init__(
        self,
        client: AsyncClient,
        weight_budget: int = 4800,
        max_retries: int = 8,
        page_size: int = 1000,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.weight_budget = weight_budget
        self.max_retries = max_retries
        self.page_size = page_size
        self.used_weight: int | None = None
        self._sleep = sleep
        self._rng = random.Random()

    @classmethod
    def connect(cls, api_url: str, api_key: str | None = None, **options: Any) -> ExchangeRest:
        """A client pointed at ``api_url`` (``https://api.binance.com/api`` or a local stand-in)."""
        client = AsyncClient(api_key=api_key)
        client.API_URL = api_url.rstrip("/")
        return cls(client, **options)

    async def close(self) -> None:
        await self.client.close_connection()

    async def _call(self, name: str, request: Callable[..., Awaitable[Any]], **params: Any) -> Any:
        reason = "not tried"
        for attempt in range(self.max_retries + 1):
            if pause := weight_pause_seconds(self.used_weight, self.weight_budget, int(time.time() * 1000)):
                REST_BACKOFFS.labels("weight budget").inc()
                log.warning(
                    "REST weight budget reached, waiting", used_weight=self.used_weight, seconds=pause
                )
                await self._sleep(pause)
                self.used_weight = None
            try:
                result = await request(**params)
                self._read_weight(self.client.response)
                return result
            except BinanceAPIException as error:
                self._read_weight(error.response)
                if refused := refusal(error.status_code, f"REST {name}", _api_error_text(error)):
                    raise refused from None
                if error.status_code in (429, 418):
                    wait = retry_after_seconds(error.response.headers, default=60.0)
                    reason = "429 too many requests" if error.status_code == 429 else "418 banned"
                elif error.status_code >= 500:
                    wait, reason = self._backoff(attempt), f"{error.status_code} server error"
                else:
                    raise  # a request the exchange refuses (unknown symbol, bad id): retrying will not help
            except (aiohttp.ClientError, TimeoutError, BinanceRequestException) as error:
                wait, reason = self._backoff(attempt), f"network: {type(error).__name__}"
            REST_BACKOFFS.labels(reason.split(":")[0]).inc()
            log.warning(
                "REST call backing off", call=name, reason=reason, seconds=round(wait, 3), attempt=attempt + 1
            )
            await self._sleep(wait)
        raise ExchangeUnavailable(
            f"Binance REST {name} at {self.client.API_URL} failed after {self.max_retries + 1} attempts "
            f"(last: {reason}); no trades were invented in its place"
        )

    def _backoff(self, attempt: int) -> float:
        return backoff_seconds(attempt, initial=0.5, ceiling=30.0, rng=self._rng)

    def _read_weight(self, response: Any) -> None:
        headers = getattr(response, "headers", None) or {}
        if (value := headers.get(WEIGHT_HEADER)) is not None:
            try:
                self.used_weight = int(value)
            except ValueError:
                pass

    async def trading_symbols(self) -> set[str]:
        """Symbols the exchange lists with status TRADING."""
        info = await self._call("exchangeInfo", self.client.get_exchange_info)
        return {entry["symbol"] for entry in info.get("symbols", []) if entry.get("status") == "TRADING"}

    async def first_trade_id_at(self, symbol: str, start_ms: int) -> int | None:
        """Id of the first trade at or after ``start_ms`` (from the aggregate trade that holds it)."""
        rows = await self._call(
            "aggTrades", self.client.get_aggregate_trades, symbol=symbol, startTime=start_ms, limit=1
        )
        return int(rows[0]["f"]) if rows else None

    async def historical_trades(
        self, symbol: str, from_id: int, limit: int, source: TradeSource
    ) -> tuple[list[Trade], int | None]:
        """Trades from the exchange's database by id from ``from_id``, and the id of the last row returned.

        The database can lag the live stream: the newest trades may not be there yet.
        """
        rows = await self._call(
            "historicalTrades", self.client.get_historical_trades, symbol=symbol, fromId=from_id, limit=limit
        )
        return self._trades(symbol, rows, source), _last_row_id(rows)

    async def recent_trades(self, symbol: str, source: TradeSource) -> list[Trade]:
        """The newest trades (up to 1000), which the exchange serves from memory, ahead of its database."""
        rows = await self._call("trades", self.client.get_recent_trades, symbol=symbol, limit=1000)
        return sorted(self._trades(symbol, rows, source), key=lambda trade: trade.trade_id)

    def _trades(self, symbol: str, rows: Any, source: TradeSource) -> list[Trade]:
        trades: list[Trade] = []
        for row in rows or []:
            try:
                trades.append(trade_from_rest(symbol, row, source))
            except RejectedInput as rejected:
                REJECTED_MESSAGES.labels(source, rejected.reason).inc()
                log.warning("REST row rejected", symbol=symbol, reason=str(rejected), raw=rejected.payload)
        return trades


def _last_row_id(rows: Any) -> int | None:
    if not rows or not isinstance(rows[-1], dict):
        return None
    try:
        return int(rows[-1]["id"])
    except (KeyError, TypeError, ValueError):
        return None
