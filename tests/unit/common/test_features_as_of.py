"""Features as of a moment: the candle known then, the history a rebuild reads, nothing from later."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from tickcast.features import FEATURE_NAMES
from tickcast.features.as_of import features_from_candles, rebuild_start_ms, window_as_of
from tickcast.intervals import last_closed_open_ms
from tickcast.features.definitions import HOUR_MS
from tickcast.registry.champion_history import ChampionChange, champion_at, change_tag, history_from_tags

MINUTE = 60_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def test_the_candle_known_at_a_moment_is_the_last_one_closed() -> None:
    assert last_closed_open_ms(T0 + 10 * MINUTE, "1m") == T0 + 9 * MINUTE  # closes exactly then
    assert last_closed_open_ms(T0 + 10 * MINUTE + 59_999, "1m") == T0 + 9 * MINUTE  # the 10th is open
    assert last_closed_open_ms(T0 + 3 * HOUR_MS + 1, "1h") == T0 + 2 * HOUR_MS


def test_a_rebuild_reads_the_24_hours_and_the_warm_up_before_every_vector() -> None:
    as_of = T0 + 30 * HOUR_MS + 17 * MINUTE
    start = rebuild_start_ms(as_of, "1m", lag_window=8)
    assert start <= T0 + 6 * HOUR_MS  # the first vector (30h10m) needs the whole hours from 6h on
    assert start % HOUR_MS == 0
    hourly = rebuild_start_ms(T0 + 200 * HOUR_MS, "1h", lag_window=1)
    assert hourly <= T0 + 200 * HOUR_MS - 99 * HOUR_MS  # the longest lookback in candles, too


def _candles(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(scale=0.001, size=n)))
    volume = rng.uniform(1, 5, n)
    times = T0 + MINUTE * np.arange(n, dtype=np.int64)
    return pd.DataFrame(
        {
            "symbol": "BTCUSDT",
            "interval": "1m",
            "open_time_ms": times,
            "close_time_ms": times + MINUTE - 1,
            "open": close,
            "high": close * 1.001,
            "low": close * 0.999,
            "close": close,
            "volume": volume,
            "quote_volume": volume * close,
            "trade_count": 10,
            "taker_buy_base_volume": volume / 2,
            "taker_buy_quote_volume": volume * close / 2,
            "vwap": close,
            "is_gap_fill": False,
        }
    )


def test_candles_after_the_moment_change_nothing() -> None:
    candles = _candles(26 * 60)
    as_of = T0 + (25 * 60 + 10) * MINUTE
    before = window_as_of(features_from_candles(candles, as_of), as_of, "1m", 3)
    later = candles["open_time_ms"] > as_of
    changed = candles.assign(close=np.where(later, candles["close"] * 2, candles["close"]))
    after = window_as_of(features_from_candles(changed, as_of), as_of, "1m", 3)
    assert before is not None and after is not None
    assert list(before["timestamp_ms"]) == [as_of - 2 * MINUTE, as_of - MINUTE, as_of]
    pd.testing.assert_frame_equal(before, after)
    assert np.isfinite(before[list(FEATURE_NAMES)].to_numpy()).all()


def test_a_window_with_a_hole_or_without_24_hours_is_none() -> None:
    candles = _candles(26 * 60)
    as_of = T0 + (25 * 60 + 10) * MINUTE
    features = features_from_candles(candles, as_of)
    holed = features[features["timestamp_ms"] != as_of - MINUTE]
    assert window_as_of(holed, as_of, "1m", 3) is None
    assert window_as_of(holed, as_of, "1m", 1) is not None
    early = T0 + 23 * HOUR_MS  # fewer than 24 completed hours: not computed
    assert window_as_of(features_from_candles(candles, early), early, "1m", 1) is None


def test_champion_history_answers_for_a_moment() -> None:
    tags = dict([change_tag(1_000, "1"), change_tag(3_000, "2"), change_tag(5_000, None), ("other", "x")])
    history = history_from_tags(tags)
    assert history == [ChampionChange(1_000, "1"), ChampionChange(3_000, "2"), ChampionChange(5_000, None)]
    assert champion_at(history, 999) is None  # before the first recorded move: not known
    assert champion_at(history, 1_000) == ChampionChange(1_000, "1")
    assert champion_at(history, 4_999) == ChampionChange(3_000, "2")
    assert champion_at(history, 6_000) == ChampionChange(5_000, None)  # known: no champion then
    assert champion_at([], 6_000) is None


@pytest.mark.parametrize(
    "text", ["2024-01-03T12:00:00Z", "2024-01-03T12:00:00", "2024-01-03T13:00:00+01:00", "1704283200000"]
)
def test_time_is_iso_8601_or_epoch_ms(text: str) -> None:
    from fastapi import FastAPI, Query
    from fastapi.testclient import TestClient

    from gateway.api.routes.prediction_at import _epoch_ms

    app = FastAPI()

    @app.get("/")
    def read(time: datetime = Query()) -> int:  # the route's parameter type, then its conversion
        return _epoch_ms(time)

    assert TestClient(app).get("/", params={"time": text}).json() == 1_704_283_200_000
