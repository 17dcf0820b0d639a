"""The Feast adapter with real Redis and a real Feast repository in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feature_pipeline.config import Settings
from tickcast.store import FeatureStore, make_feature_store
from tickcast.store.frames import frame_to_vectors
from integration.feature_pipeline.harness import assert_features_equal, real_klines
from tickcast.features import FEATURE_NAMES, compute_history
from tickcast.settings import RedisSettings

pytestmark = pytest.mark.integration

MINUTE = 60_000


@pytest.fixture
def store(redis_settings: RedisSettings, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("FEAST_REPO_PATH", str(tmp_path / "feast"))
    monkeypatch.setenv("FEAST_PROJECT", namespace.strip("-"))
    feature_store = make_feature_store(Settings())
    yield feature_store
    feature_store.close()


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    """A day of real feature vectors (2024-01-02), computed by the batch path."""
    return compute_history(real_klines("BTCUSDT-1m-2024-01-0[1-2].zip"))


def test_factory_builds_a_feast_store_with_an_applied_repository(store: FeatureStore, tmp_path: Path) -> None:
    assert isinstance(store, FeatureStore)
    assert (tmp_path / "feast" / "feature_store.yaml").is_file()
    assert (tmp_path / "feast" / "registry.db").is_file()


def test_writes_are_idempotent_upserts_online_and_offline(
    store: FeatureStore, features: pd.DataFrame
) -> None:
    vectors = frame_to_vectors(features.iloc[:300])
    store.write(vectors[:200])
    store.write(vectors[100:])  # overlaps: a replay
    store.write(vectors[:50])  # an older replay must not move the online vector back
    offline = store.read_offline(["BTCUSDT"], "1m", 0, 2**62)
    assert len(offline) == 300 and offline["timestamp_ms"].is_unique
    assert_features_equal(offline, features.iloc[:300])
    assert list(offline.columns[:5]) == ["symbol", "interval", "timestamp_ms", "feature_set_version", "close"]

    online = store.read_online(["BTCUSDT"], "1m")["BTCUSDT"]
    assert online.timestamp_ms == vectors[299].timestamp_ms and online.values == vectors[299].values

    corrected = vectors[10].model_copy(update={"values": {**vectors[10].values, "rsi_14": 42.0}})
    store.write([corrected])
    reread = store.read_offline(["BTCUSDT"], "1m", vectors[10].timestamp_ms, vectors[10].timestamp_ms + 1)
    assert len(reread) == 1 and reread["rsi_14"].iloc[0] == 42.0


def test_offline_reads_by_symbol_and_half_open_time_range(
    store: FeatureStore, features: pd.DataFrame
) -> None:
    store.write_history(features)
    start, end = int(features["timestamp_ms"].iloc[100]), int(features["timestamp_ms"].iloc[160])
    window = store.read_offline(["BTCUSDT"], "1m", start, end)
    assert window["timestamp_ms"].tolist() == list(range(start, end, MINUTE))
    assert store.read_offline(["ETHUSDT"], "1m", start, end).empty
    assert store.read_offline(["BTCUSDT"], "5m", start, end).empty


def test_point_in_time_join_never_returns_a_value_from_the_future(
    store: FeatureStore, features: pd.DataFrame
) -> None:
    store.write_history(features.iloc[:600])
    first = int(features["timestamp_ms"].iloc[0])
    rng = np.random.default_rng(7)
    # Entity times before the first vector, exactly on vectors, and between them.
    offsets = np.concatenate([[-MINUTE, -1, 0], rng.integers(0, 600 * MINUTE, 40), [599 * MINUTE + 59_999]])
    entity_times = first + offsets
    entities = pd.DataFrame(
        {
            "symbol": "BTCUSDT",
            "interval": "1m",
            "event_timestamp": pd.to_datetime(entity_times, unit="ms", utc=True),
        }
    )
    joined = store.point_in_time(entities)
    assert len(joined) == len(entities)
    assert (joined["event_timestamp"] == entities["event_timestamp"]).all()
    by_time = features.set_index("timestamp_ms")
    for entity_time, row in zip(entity_times, joined.itertuples(index=False), strict=True):
        if entity_time < first:
            assert pd.isna(row.timestamp_ms)  # nothing known yet
            continue
        expected_time = first + (entity_time - first) // MINUTE * MINUTE  # newest not after
        assert row.timestamp_ms == expected_time <= entity_time
        for name in ("ret_1", "rsi_14", "macd", "hourly_sma_ratio_7_25"):
            assert getattr(row, name) == by_time.loc[expected_time, name]
    assert set(FEATURE_NAMES) <= set(joined.columns)
