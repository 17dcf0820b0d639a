"""Reads what inference keeps in Redis (layout: ``tickcast.redis_keys``); every failure is a StoreUnavailable.

Values are returned as the raw JSON bytes inference stored: they already are the
contracts' serialisation, so the API hands them on instead of decoding and
re-encoding them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from tickcast.redis_keys import RedisKeys


class StoreUnavailable(RuntimeError):
    """Redis did not answer (down, unreachable, too slow) or refused the command."""


@dataclass(frozen=True)
class Series:
    """Members of one per-symbol sorted set, oldest first, and whether the symbol is known at all."""

    symbol_known: bool
    members: list[bytes]


@dataclass(frozen=True)
class RedisTimeouts:
    connect_s: float
    reply_s: float
    max_connections: int


def connection_name(key_prefix: str, role: str) -> str:
    """How the gateway's connections appear in CLIENT LIST: which stack (prefix) and what for."""
    return re.sub(r"[^\w:.-]", "_", f"{key_prefix}gateway-{role}")


def connect(
    url: str,
    timeouts: RedisTimeouts,
    name: str,
    *,
    health_check_interval_s: int = 0,
    retries: int = 1,
) -> Redis:
    """A client that fails fast: short timeouts, one immediate retry only for a dropped connection.

    redis-py's default retry policy backs off for seconds; a gateway must answer 503 instead.
    The single retry covers pooled connections that died when Redis restarted.
    ``health_check_interval_s`` makes an idle connection (a subscription) PING, so a dead one is noticed;
    a subscription takes ``retries=0``, because its owner must know when it reconnects.
    """
    return Redis.from_url(
        url,
        socket_connect_timeout=timeouts.connect_s,
        socket_timeout=timeouts.reply_s,
        retry=Retry(NoBackoff(), retries=retries, supported_errors=(RedisConnectionError,)),
        max_connections=timeouts.max_connections,
        health_check_interval=health_check_interval_s,
        client_name=name,
    )


@contextmanager
def _answering(what: str) -> Iterator[None]:
    try:
        yield
    except RedisError as exc:
        raise StoreUnavailable(f"Redis did not answer ({what}): {exc or type(exc).__name__}") from exc


class PredictionStore:
    """Read side of the online store: predictions, candles, symbols and models."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self._redis = redis
        self.keys = keys

    async def ping_ms(self) -> float:
        with _answering("PING"):
            started = time.perf_counter()
            await self._redis.ping()
            return (time.perf_counter() - started) * 1000

    async def symbols(self) -> list[str]:
        with _answering("symbols"):
            members = await self._redis.smembers(self.keys.symbols())
        return sorted(member.decode() for member in members)

    async def is_known(self, symbol: str) -> bool:
        with _answering("symbols"):
            return bool(await self._redis.sismember(self.keys.symbols(), symbol))

    async def latest_prediction(self, symbol: str) -> bytes | None:
        with _answering("latest prediction"):
            return await self._redis.get(self.keys.latest_prediction(symbol))

    async def latest_predictions(self, symbols: list[str]) -> list[bytes]:
        if not symbols:
            return []
        with _answering("latest predictions"):
            values = await self._redis.mget([self.keys.latest_prediction(symbol) for symbol in symbols])
        return [value for value in values if value is not None]

    async def prediction_history(self, symbol: str, since_ms: int | None, limit: int) -> Series:
        """From ``since_ms`` on, the oldest ``limit``; without it, the newest ``limit``. Oldest first."""
        key = self.keys.prediction_history(symbol)
        return await self._series(symbol, key, since_ms, limit, "prediction history")

    async def candles(self, symbol: str, interval: str, limit: int) -> Series:
        """The newest ``limit`` candles, oldest first."""
        return await self._series(symbol, self.keys.candles(symbol, interval), None, limit, "candles")

    async def _series(self, symbol: str, key: str, since_ms: int | None, limit: int, what: str) -> Series:
        with _answering(what):
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.sismember(self.keys.symbols(), symbol)
                if since_ms is None:
                    pipe.zrange(key, -limit, -1)
                else:
                    pipe.zrangebyscore(key, since_ms, "+inf", start=0, num=limit)
                known, members = await pipe.execute()
        return Series(symbol_known=bool(known) or bool(members), members=members)

    async def newest_candles(self, symbols: list[str], interval: str) -> dict[str, bytes | None]:
        """Each symbol's newest candle at ``interval`` (raw JSON), None where it has none."""
        if not symbols:
            return {}
        with _answering("newest candles"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for symbol in symbols:
                    pipe.zrange(self.keys.candles(symbol, interval), -1, -1)
                found = await pipe.execute()
        return {symbol: members[0] if members else None for symbol, members in zip(symbols, found, strict=True)}

    async def served_model(self) -> dict[bytes, bytes]:
        with _answering("served model"):
            return await self._redis.hgetall(self.keys.served_model())

    async def live_metrics(self) -> list[tuple[str, dict[bytes, bytes]]]:
        """Every live-metrics hash, with its key."""
        with _answering("live metrics"):
            keys = sorted(
                [key async for key in self._redis.scan_iter(match=self.keys.live_metrics_pattern())]
            )
            if not keys:
                return []
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                hashes = await pipe.execute()
        return [(key.decode(), fields) for key, fields in zip(keys, hashes, strict=True) if fields]

    async def forecast_live_scores(self) -> list[bytes]:
        """The JSON of every live forecast score (one field each of one hash)."""
        with _answering("live forecast scores"):
            return list((await self._redis.hgetall(self.keys.forecast_live_scores())).values())

    async def close(self) -> None:
        await self._redis.aclose()
