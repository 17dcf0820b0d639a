"""Fixtures for the gateway: a real uvicorn server on a loopback port, Redis filled as inference fills it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis
import uvicorn

from confluent_kafka import Consumer

from gateway.app import create_app
from gateway.config import GatewaySettings
from tickcast.contracts import Candle, DataSource, Prediction
from tickcast.intervals import interval_ms
from tickcast.control import symbol_request_group
from tickcast.kafka import consumer_config
from tickcast.redis_keys import RedisKeys
from tickcast.settings import RedisSettings
from tickcast.topics import Topic

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, on every interval grid


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningGateway:
    url: str
    settings: GatewaySettings

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


class StoreWriter:
    """Writes Redis exactly as ``tickcast.redis_keys`` lays it out (what inference does)."""

    def __init__(self, settings: RedisSettings) -> None:
        self.client = redis.Redis.from_url(settings.url)
        self.keys = RedisKeys(settings.key_prefix)

    @staticmethod
    def prediction(
        symbol: str = "BTCUSDT", minute: int = 0, price: float = 42_000.0, **changes: object
    ) -> Prediction:
        as_of = T0 + minute * 60_000
        fields: dict[str, object] = {
            "symbol": symbol,
            "model_name": "tickcast-1m-h5",
            "model_version": "3",
            "horizon": 5,
            "as_of_ms": as_of,
            "target_time_ms": as_of + 5 * 60_000,
            "predicted_return": 0.0012,
            "predicted_price": price,
            "direction": "up",
            "emitted_ms": as_of + 60_000,
            "source": "binance",
        }
        return Prediction(**(fields | changes))

    @staticmethod
    def candle(
        symbol: str = "BTCUSDT",
        index: int = 0,
        interval: str = "1m",
        close: float = 42_000.0,
        open_: float | None = None,
        source: DataSource = "binance",
    ) -> Candle:
        open_time = T0 + index * interval_ms(interval)
        open_ = close - 5 if open_ is None else open_
        return Candle(
            symbol=symbol,
            interval=interval,
            open_time_ms=open_time,
            close_time_ms=open_time + interval_ms(interval) - 1,
            open=open_,
            high=max(open_, close) + 10,
            low=min(open_, close) - 12,
            close=close,
            volume=3.5,
            quote_volume=3.5 * close,
            trade_count=40,
            taker_buy_base_volume=1.5,
            taker_buy_quote_volume=1.5 * close,
            vwap=(open_ + close) / 2,
            source=source,
        )

    def add_predictions(self, *predictions: Prediction) -> None:
        """History, newest-as-latest and the symbol set, without publishing."""
        for prediction in predictions:
            history = self.keys.prediction_history(prediction.symbol)
            self.client.zadd(history, {prediction.model_dump_json(): prediction.as_of_ms})
            newest = self.client.zrange(history, -1, -1)[0]
            self.client.set(self.keys.latest_prediction(prediction.symbol), newest)
            self.client.sadd(self.keys.symbols(), prediction.symbol)

    def publish(self, prediction: Prediction) -> int:
        return self.client.publish(self.keys.predictions_channel(), prediction.model_dump_json())

    def add_candles(self, *candles: Candle) -> None:
        for candle in candles:
            key = self.keys.candles(candle.symbol, candle.interval)
            self.client.zadd(key, {candle.model_dump_json(): candle.open_time_ms})
            self.client.sadd(self.keys.symbols(), candle.symbol)

    def set_served_model(
        self, name: str, version: str, offline_metrics: dict[str, float], **extra: object
    ) -> None:
        self.client.hset(
            self.keys.served_model(),
            mapping={
                "name": name,
                "version": version,
                "feature_set_version": "fs-test",
                "loaded_at_ms": T0,
                "offline_metrics": json.dumps(offline_metrics),
                **extra,
            },
        )

    def set_live_metrics(self, model_name: str, symbol: str, **fields: float | str) -> None:
        self.client.hset(
            self.keys.live_metrics(model_name, symbol),
            mapping={"model_name": model_name, "symbol": symbol, **fields},
        )

    def set_forecast_live_score(self, symbol: str, horizon: int, target: str, forecaster: str,
                                scores: dict[str, float], count: int, last_target_time_ms: int) -> None:
        """One field of the live forecast scores hash, as inference writes it."""
        document = {"symbol": symbol, "horizon": horizon, "target": target, "forecaster": forecaster,
                    "scores": scores, "count": count, "last_target_time_ms": last_target_time_ms}
        self.client.hset(self.keys.forecast_live_scores(), f"{symbol}|{horizon}|{target}|{forecaster}",
                         json.dumps(document))

    def subscribers(self) -> int:
        return dict(self.client.pubsub_numsub(self.keys.predictions_channel()))[
            self.keys.predictions_channel().encode()
        ]

    def wait_for_subscribers(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.subscribers() < count:
            assert time.monotonic() < deadline, (
                f"the gateway did not subscribe to the channel within {timeout}s"
            )
            time.sleep(0.02)


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (to point the gateway at a Redis or broker that is down)."""
    return free_port()


@pytest.fixture
def store_writer(redis_settings: RedisSettings) -> Iterator[StoreWriter]:
    writer = StoreWriter(redis_settings)
    yield writer
    writer.client.close()


class _ServerThread:
    """uvicorn serving the gateway from a thread of the test process, on its own event loop."""

    def __init__(self, settings: GatewaySettings) -> None:
        port = free_port()
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"gateway-{port}", daemon=True)
        self.gateway = RunningGateway(url=f"http://127.0.0.1:{port}", settings=settings)

    def start(self, timeout: float = 20.0) -> RunningGateway:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            assert self.thread.is_alive(), "the gateway exited during startup"
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.02)
        return self.gateway

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def start_gateway() -> Iterator[Callable[[GatewaySettings], RunningGateway]]:
    """Start a gateway for given settings; every one started is stopped after the test."""
    servers: list[_ServerThread] = []

    def start(settings: GatewaySettings) -> RunningGateway:
        server = _ServerThread(settings)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def gateway(
    redis_settings: RedisSettings, start_gateway: Callable[[GatewaySettings], RunningGateway]
) -> RunningGateway:
    """A gateway on this test's Redis namespace (settings from the environment the fixtures set)."""
    return start_gateway(GatewaySettings())


@pytest.fixture
def http_client() -> Callable[[RunningGateway], httpx.Client]:
    """An HTTP client for a gateway; the timeout turns a hang into a failure instead of a stuck test."""

    def client(gateway: RunningGateway) -> httpx.Client:
        return httpx.Client(base_url=gateway.url, timeout=10.0)

    return client


@pytest.fixture
def http(
    gateway: RunningGateway, http_client: Callable[[RunningGateway], httpx.Client]
) -> Iterator[httpx.Client]:
    with http_client(gateway) as client:
        yield client


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds (asynchronous effects), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition not met within {timeout}s"
        time.sleep(0.02)


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[[Callable[[], bool], float], None]:
    return wait_until


@pytest.fixture
def live_feed_listening(kafka_settings, topics) -> Iterator[None]:
    """A member in the trade producer's listener group, as while the live feed runs."""
    consumer = Consumer(consumer_config(kafka_settings, symbol_request_group(kafka_settings.topic_prefix)))
    consumer.subscribe([topics(Topic.SYMBOL_REQUESTS)])
    joined = threading.Event()
    stop = threading.Event()

    def member() -> None:
        while not stop.is_set():
            consumer.poll(0.2)
            if consumer.assignment():
                joined.set()

    thread = threading.Thread(target=member, daemon=True)
    thread.start()
    assert joined.wait(30), "the stand-in listener did not join its group"
    yield
    stop.set()
    thread.join(10)
    consumer.close()
