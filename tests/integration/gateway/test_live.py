"""A prediction published on the Redis channel reaches the WebSocket clients that asked for its symbol,
and the in-memory copy behind GET .../latest."""

from __future__ import annotations

from contextlib import ExitStack

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from gateway.config import GatewaySettings
from gateway.backends.store import connection_name
from tickcast.contracts import Prediction

pytestmark = pytest.mark.integration

RECEIVE_TIMEOUT_S = 10


def test_a_published_prediction_reaches_the_client_that_wants_its_symbol(gateway, store_writer) -> None:
    with connect(f"{gateway.ws_url}/ws/predictions?symbols=BTCUSDT") as client:
        store_writer.wait_for_subscribers(1)
        store_writer.publish(store_writer.prediction("ETHUSDT", minute=1))
        btc = store_writer.prediction("BTCUSDT", minute=1, price=43_210.0)
        store_writer.publish(btc)

        # ETHUSDT went first; the client asked only for BTCUSDT, so the first thing it gets is btc.
        assert Prediction.parse(client.recv(timeout=RECEIVE_TIMEOUT_S)) == btc


def test_without_a_filter_a_client_receives_every_symbol_in_order(gateway, store_writer) -> None:
    sent = [
        store_writer.prediction(symbol, minute=m)
        for m, symbol in enumerate(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
    ]
    with connect(f"{gateway.ws_url}/ws/predictions") as client:
        store_writer.wait_for_subscribers(1)
        for prediction in sent:
            store_writer.publish(prediction)

        assert [Prediction.parse(client.recv(timeout=RECEIVE_TIMEOUT_S)) for _ in sent] == sent


def test_metrics_count_feed_clients_and_relayed_predictions(gateway, store_writer) -> None:
    def metric(name: str) -> float:
        text = httpx.get(f"{gateway.url}/metrics").text
        [value] = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
        return float(value)

    relayed_before = metric("gateway_predictions_relayed_total")
    with connect(f"{gateway.ws_url}/ws/predictions") as client:
        store_writer.wait_for_subscribers(1)
        assert metric("gateway_ws_clients") >= 1
        store_writer.publish(store_writer.prediction("BTCUSDT", minute=7))
        client.recv(timeout=RECEIVE_TIMEOUT_S)
        assert metric("gateway_predictions_relayed_total") >= relayed_before + 1


def test_many_clients_share_one_redis_subscription(gateway, store_writer) -> None:
    with ExitStack() as stack:
        clients = [
            stack.enter_context(connect(f"{gateway.ws_url}/ws/predictions?symbols=BTCUSDT")) for _ in range(3)
        ]
        store_writer.wait_for_subscribers(1)
        prediction = store_writer.prediction("BTCUSDT", minute=3)
        # One subscriber on the channel however many clients: the gateway fans out itself.
        assert store_writer.publish(prediction) == 1
        for client in clients:
            assert Prediction.parse(client.recv(timeout=RECEIVE_TIMEOUT_S)) == prediction


def test_a_message_that_is_not_a_prediction_is_not_relayed(gateway, store_writer) -> None:
    with connect(f"{gateway.ws_url}/ws/predictions") as client:
        store_writer.wait_for_subscribers(1)
        store_writer.client.publish(
            store_writer.keys.predictions_channel(), b'{"symbol": "BTCUSDT", "price": 1}'
        )
        valid = store_writer.prediction("BTCUSDT", minute=4)
        store_writer.publish(valid)

        assert Prediction.parse(client.recv(timeout=RECEIVE_TIMEOUT_S)) == valid


def test_the_feed_resumes_after_redis_drops_the_subscription(gateway, store_writer) -> None:
    with connect(f"{gateway.ws_url}/ws/predictions?symbols=BTCUSDT") as client:
        store_writer.wait_for_subscribers(1)
        # Redis closes this gateway's subscription, as on a restart or a failover.
        relay_name = connection_name(store_writer.keys.prefix, "relay")
        [relay] = [c for c in store_writer.client.client_list() if c["name"] == relay_name]
        assert store_writer.client.client_kill_filter(_id=relay["id"]) == 1
        store_writer.wait_for_subscribers(1)
        after = store_writer.prediction("BTCUSDT", minute=5)
        store_writer.publish(after)

        assert Prediction.parse(client.recv(timeout=RECEIVE_TIMEOUT_S)) == after


def test_a_malformed_symbol_filter_closes_the_socket_with_the_reason(gateway) -> None:
    with (
        connect(f"{gateway.ws_url}/ws/predictions?symbols=btc-usdt") as client,
        pytest.raises(ConnectionClosed) as closed,
    ):
        client.recv(timeout=RECEIVE_TIMEOUT_S)
    assert closed.value.rcvd.code == 1008
    assert "not a symbol" in closed.value.rcvd.reason


def test_latest_follows_each_published_prediction_at_once(
    redis_settings, start_gateway, store_writer, http_client, wait_until
) -> None:
    # A long time to live: only the channel can explain seeing the newer prediction.
    gateway = start_gateway(GatewaySettings(redis=redis_settings, latest_cache_ttl_s=300))
    store_writer.wait_for_subscribers(1)
    first = store_writer.prediction("BTCUSDT", minute=1)
    store_writer.add_predictions(first)
    with http_client(gateway) as http:
        assert Prediction.parse(http.get("/predictions/BTCUSDT/latest").content) == first
        second = store_writer.prediction("BTCUSDT", minute=2)
        store_writer.add_predictions(second)
        store_writer.publish(second)  # what inference does: write, then publish
        wait_until(lambda: Prediction.parse(http.get("/predictions/BTCUSDT/latest").content) == second)


def test_latest_reads_redis_again_once_the_subscription_is_lost(
    redis_settings, start_gateway, store_writer, http_client, wait_until
) -> None:
    gateway = start_gateway(GatewaySettings(redis=redis_settings, latest_cache_ttl_s=300))
    store_writer.wait_for_subscribers(1)
    first = store_writer.prediction("BTCUSDT", minute=1)
    store_writer.add_predictions(first)
    with http_client(gateway) as http:
        assert Prediction.parse(http.get("/predictions/BTCUSDT/latest").content) == first
        # Written without publishing: the in-memory copy cannot know about it...
        unpublished = store_writer.prediction("BTCUSDT", minute=2)
        store_writer.add_predictions(unpublished)
        assert Prediction.parse(http.get("/predictions/BTCUSDT/latest").content) == first
        # ...until the subscription drops, when the gateway stops trusting its copy.
        relay_name = connection_name(store_writer.keys.prefix, "relay")
        [relay] = [c for c in store_writer.client.client_list() if c["name"] == relay_name]
        store_writer.client.client_kill_filter(_id=relay["id"])
        wait_until(lambda: Prediction.parse(http.get("/predictions/BTCUSDT/latest").content) == unpublished)


def test_with_the_cache_off_latest_is_whatever_redis_holds(
    redis_settings, start_gateway, store_writer, http_client
) -> None:
    gateway = start_gateway(GatewaySettings(redis=redis_settings, latest_cache_ttl_s=0))
    store_writer.wait_for_subscribers(1)
    with http_client(gateway) as http:
        for minute in range(3):
            prediction = store_writer.prediction("BTCUSDT", minute=minute)
            store_writer.add_predictions(prediction)
            assert Prediction.parse(http.get("/predictions/BTCUSDT/latest").content) == prediction
