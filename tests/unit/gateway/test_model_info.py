"""How the served-model and live-metrics hashes inference writes are shown by the API."""

from __future__ import annotations

import json

from gateway.api import model_info
from tickcast.contracts import Prediction

T0 = 1_704_067_200_000


def _prediction(symbol: str, version: str, as_of_ms: int) -> Prediction:
    return Prediction(
        symbol=symbol,
        model_name="m",
        model_version=version,
        horizon=5,
        as_of_ms=as_of_ms,
        target_time_ms=as_of_ms + 300_000,
        predicted_return=0.001,
        predicted_price=100.1,
        direction="up",
        emitted_ms=as_of_ms + 60_000,
    )


def test_the_served_model_hash_becomes_the_champion_with_its_offline_metrics() -> None:
    fields = {
        b"name": b"tickcast-btcusdt-1m-h5",
        b"version": b"3",
        b"feature_set_version": b"fs-1",
        b"loaded_at_ms": str(T0).encode(),
        b"offline_metrics": json.dumps({"mae": 0.0004, "skill": 0.07}).encode(),
        b"horizon": b"5",
    }
    champion = model_info.served_model(fields)
    assert champion is not None
    assert (champion.name, champion.version, champion.feature_set_version) == (
        "tickcast-btcusdt-1m-h5",
        "3",
        "fs-1",
    )
    assert champion.loaded_at_ms == T0
    assert champion.offline_metrics == {"mae": 0.0004, "skill": 0.07}
    assert champion.attributes == {"horizon": "5"}


def test_no_champion_before_a_model_is_loaded() -> None:
    assert model_info.served_model({}) is None


def test_unreadable_offline_metrics_are_left_out_not_fatal() -> None:
    champion = model_info.served_model({"name": "m", "version": "1", "offline_metrics": "{not json"})
    assert champion is not None and champion.offline_metrics == {}


def test_live_metrics_keep_known_fields_typed_and_other_numbers_aside() -> None:
    fields = {
        b"model_name": b"m",
        b"model_version": b"3",
        b"symbol": b"BTCUSDT",
        b"mae": b"0.0004",
        b"persistence_mae": b"0.0005",
        b"skill": b"",
        b"hit_rate": b"0.55",
        b"count": b"120",
        b"last_target_time_ms": str(T0).encode(),
    }
    live = model_info.live_metrics("m", "BTCUSDT", fields)
    assert (live.mae, live.persistence_mae, live.hit_rate, live.count) == (0.0004, 0.0005, 0.55, 120)
    assert live.skill is None  # written empty while undefined
    assert live.model_version == "3"
    assert live.additional == {"last_target_time_ms": float(T0)}


def test_a_non_finite_metric_is_null_because_json_cannot_carry_it() -> None:
    live = model_info.live_metrics("m", "BTCUSDT", {"skill": "nan", "mae": "inf"})
    assert live.skill is None and live.mae is None


def test_live_metrics_keys_split_on_the_last_colon() -> None:
    assert model_info.split_live_metrics_key("p:model:live:team:model-a:BTCUSDT", "p:") == (
        "team:model-a",
        "BTCUSDT",
    )
    assert model_info.split_live_metrics_key("p:model:served", "p:") is None
    assert model_info.split_live_metrics_key("other:model:live:m:BTCUSDT", "p:") is None


def test_versions_in_use_group_symbols_by_the_version_of_their_newest_prediction() -> None:
    versions = model_info.versions_in_use(
        [
            _prediction("BTCUSDT", "3", T0 + 60_000),
            _prediction("ETHUSDT", "3", T0),
            _prediction("SOLUSDT", "2", T0),
        ]
    )
    assert [(v.model_version, v.symbols, v.last_prediction_ms) for v in versions] == [
        ("3", ["BTCUSDT", "ETHUSDT"], T0 + 60_000),
        ("2", ["SOLUSDT"], T0),
    ]
