"""The Hopsworks adapter against a fake of the hopsworks client (no cluster is reachable here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from feature_pipeline.config import Settings
from tickcast.store import FeatureStore, make_feature_store
from tickcast.store.frames import frame_to_vectors
from tickcast.store.hopsworks_store import HopsworksFeatureStore
from tickcast.features import FEATURE_NAMES, compute_history
from unit.feature_pipeline.hopsworks_fake import FakeHopsworks

MINUTE = 60_000


@pytest.fixture
def features(btc_week: pd.DataFrame) -> pd.DataFrame:
    return compute_history(btc_week.iloc[: 1440 + 400])


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeHopsworks:
    client = FakeHopsworks()
    import hopsworks

    monkeypatch.setattr(hopsworks, "login", client.login)
    monkeypatch.setenv("FEATURE_STORE", "hopsworks")
    monkeypatch.setenv("HOPSWORKS_HOST", "c.app.hopsworks.ai")
    monkeypatch.setenv("HOPSWORKS_PROJECT", "tickcast")
    monkeypatch.setenv("HOPSWORKS_API_KEY", "secret-key")
    return client


def test_factory_logs_in_and_creates_groups_and_views(fake: FakeHopsworks) -> None:
    store = make_feature_store(Settings())
    assert isinstance(store, HopsworksFeatureStore) and isinstance(store, FeatureStore)
    assert fake.logins == [
        {"host": "c.app.hopsworks.ai", "port": 443, "project": "tickcast", "api_key_value": "secret-key"}
    ]
    history, latest = (
        fake.feature_store.groups["candle_features"],
        fake.feature_store.groups["candle_features_latest"],
    )
    assert history.primary_key == ["symbol", "interval", "timestamp_ms"] and not history.online_enabled
    assert latest.primary_key == ["symbol", "interval"] and latest.online_enabled
    assert history.event_time == latest.event_time == "event_time"
    assert set(fake.feature_store.views) == {"candle_features", "candle_features_latest"}


def test_replayed_writes_upsert_and_the_latest_vector_never_moves_back(
    fake: FakeHopsworks, features: pd.DataFrame
) -> None:
    store = make_feature_store(Settings())
    vectors = frame_to_vectors(features.iloc[:300])
    store.write(vectors[:200])
    store.write(vectors[150:])
    store.write(vectors[:20])  # an old replay
    offline = store.read_offline(["BTCUSDT"], "1m", 0, 2**62)
    assert len(offline) == 300 and offline["timestamp_ms"].is_unique
    np.testing.assert_array_equal(offline[list(FEATURE_NAMES)], features.iloc[:300][list(FEATURE_NAMES)])
    online = store.read_online(["BTCUSDT", "ETHUSDT"], "1m")
    assert list(online) == ["BTCUSDT"] and online["BTCUSDT"] == vectors[299]
    stored = fake.feature_store.groups["candle_features"].frame
    assert str(stored["event_time"].dtype) == "datetime64[ns, UTC]"


def test_offline_read_filters_symbol_interval_and_time(fake: FakeHopsworks, features: pd.DataFrame) -> None:
    store = make_feature_store(Settings())
    store.write_history(features)
    store.write_history(features.assign(symbol="ETHUSDT"))
    start, end = int(features["timestamp_ms"].iloc[10]), int(features["timestamp_ms"].iloc[20])
    window = store.read_offline(["BTCUSDT"], "1m", start, end)
    assert window["symbol"].eq("BTCUSDT").all() and window["timestamp_ms"].tolist() == list(
        range(start, end, MINUTE)
    )
    assert store.read_offline(["BTCUSDT"], "5m", start, end).empty


def test_point_in_time_takes_the_newest_vector_not_after_each_entity(
    fake: FakeHopsworks, features: pd.DataFrame
) -> None:
    store = make_feature_store(Settings())
    store.write_history(features)
    first = int(features["timestamp_ms"].iloc[0])
    times = [first - 1, first, first + 59_999, first + 5 * MINUTE + 1, first - 10]
    entities = pd.DataFrame(
        {"symbol": "BTCUSDT", "interval": "1m", "event_timestamp": pd.to_datetime(times, unit="ms", utc=True)}
    )
    joined = store.point_in_time(entities)
    assert joined["event_timestamp"].tolist() == entities["event_timestamp"].tolist()
    expected = [None, first, first, first + 5 * MINUTE, None]
    for got, want in zip(joined["timestamp_ms"], expected, strict=True):
        assert (pd.isna(got) and want is None) or got == want
    by_time = features.set_index("timestamp_ms")
    assert joined.loc[3, "rsi_14"] == by_time.loc[first + 5 * MINUTE, "rsi_14"]
