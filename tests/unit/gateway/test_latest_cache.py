"""When the in-memory copy of the newest prediction may be served, and when Redis must be asked."""

from __future__ import annotations

from gateway.live.latest_cache import LatestPredictions


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def live_cache(ttl_s: float = 1.0) -> tuple[LatestPredictions, Clock]:
    clock = Clock()
    cache = LatestPredictions(ttl_s, clock)
    cache.subscription_up()
    return cache, clock


def test_a_published_prediction_is_served_until_its_time_to_live_runs_out() -> None:
    cache, clock = live_cache(ttl_s=1.0)
    cache.offer_published("BTCUSDT", 1_000, b"p1")
    clock.now += 1.0
    assert cache.get("BTCUSDT") == b"p1"
    clock.now += 0.01
    assert cache.get("BTCUSDT") is None  # stale: read Redis again


def test_an_older_prediction_never_replaces_a_newer_one() -> None:
    cache, _ = live_cache()
    cache.offer_published("BTCUSDT", 2_000, b"new")
    cache.offer_published("BTCUSDT", 1_000, b"replayed")
    cache.offer_read("BTCUSDT", 1_000, b"read before", cache.read_token())
    assert cache.get("BTCUSDT") == b"new"
    cache.offer_published("BTCUSDT", 2_000, b"same time, other model version")
    assert cache.get("BTCUSDT") == b"same time, other model version"


def test_nothing_is_cached_or_served_while_the_subscription_is_down() -> None:
    cache = LatestPredictions(ttl_s=1.0, clock=Clock())
    assert cache.read_token() is None
    cache.offer_published("BTCUSDT", 1_000, b"p1")
    assert cache.get("BTCUSDT") is None

    cache.subscription_up()
    cache.offer_published("BTCUSDT", 1_000, b"p1")
    cache.subscription_down()
    assert cache.get("BTCUSDT") is None
    cache.subscription_up()
    assert cache.get("BTCUSDT") is None  # forgotten, not resurrected


def test_a_read_that_began_before_the_subscription_came_back_is_not_kept() -> None:
    cache, _ = live_cache()
    token = cache.read_token()
    cache.subscription_down()  # predictions published now are missed...
    cache.subscription_up()
    cache.offer_read("BTCUSDT", 1_000, b"maybe outdated", token)  # ...so this read may predate them
    assert cache.get("BTCUSDT") is None

    cache.offer_read("BTCUSDT", 1_000, b"fresh read", cache.read_token())
    assert cache.get("BTCUSDT") == b"fresh read"


def test_a_time_to_live_of_zero_turns_the_cache_off() -> None:
    cache, _ = live_cache(ttl_s=0)
    assert cache.read_token() is None
    cache.offer_published("BTCUSDT", 1_000, b"p1")
    assert cache.get("BTCUSDT") is None
