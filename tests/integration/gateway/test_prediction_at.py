"""GET /predictions/{symbol}/at against an independent recomputation from real Binance kline files.

A LightGBM model is trained on the features of the kline files, registered in a throw-away MLflow
registry and made champion; the route's features and prediction must be those recomputed here
from the files, and data after the asked moment must not change them.
"""

from __future__ import annotations

import math
import time
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import GatewaySettings
from tickcast.binance_files.klines import find_kline_files, read_kline_files
from tickcast.features import FEATURE_NAMES, FEATURE_SET_VERSION, compute_history
from tickcast.model_bundle.bundle import BundleMetadata, save_bundle
from tickcast.model_bundle.flavours import LIGHTGBM
from tickcast.model_bundle.scaling import Scaler
from tickcast.registry import ModelToRegister, make_registry
from tickcast.registry.settings import RegistrySettings
from tickcast.serving import registered_model_name
from tickcast.store.offline_log import OfflineLog, offline_root

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SHARED_KLINES = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "binance"
FIRST, LAST = date(2024, 1, 2), date(2024, 1, 4)
MINUTE = 60_000
ASKED = "2024-01-04T12:00:30Z"
AS_OF_MS = 1_704_369_540_000  # 2024-01-04T11:59:00Z: the last candle closed at the asked moment
HORIZON = 5


@pytest.fixture(scope="module")
def klines_dir() -> Path:
    if not SHARED_KLINES.is_dir():
        pytest.skip(f"shared kline data not found at {SHARED_KLINES} (it sits beside the repository in CI)")
    return SHARED_KLINES


@pytest.fixture(scope="module")
def recomputed(klines_dir: Path) -> pd.DataFrame:
    """The features of three whole days, computed here from the files by the batch path."""
    files = find_kline_files(klines_dir, "BTCUSDT", "1m", FIRST, LAST)
    return compute_history(read_kline_files(files, "BTCUSDT", "1m"))


@pytest.fixture(scope="module")
def champion(
    recomputed: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RegistrySettings, object]:
    import lightgbm

    root = tmp_path_factory.mktemp("mlflow")
    settings = RegistrySettings(
        backend="mlflow",
        tickcast_home=root,
        mlflow_tracking_uri=f"sqlite:///{root / 'm.db'}",
        mlflow_artifact_root=(root / "artifacts").as_uri(),
    )
    train = recomputed[recomputed["timestamp_ms"] < AS_OF_MS - 24 * 60 * MINUTE]
    close = train["close"].to_numpy()
    inputs = train[list(FEATURE_NAMES)].iloc[:-HORIZON].astype(np.float32).astype(np.float64)
    target = np.log(close[HORIZON:] / close[:-HORIZON])
    model = lightgbm.LGBMRegressor(n_estimators=30, num_leaves=7, verbose=-1).fit(inputs, target)
    metadata = BundleMetadata(
        "lightgbm",
        ["BTCUSDT"],
        "1m",
        [HORIZON],
        1,
        list(FEATURE_NAMES),
        FEATURE_SET_VERSION,
        0.0002,
        flavour=LIGHTGBM,
    )
    example = inputs.to_numpy()[:3, None, :]
    folder = save_bundle(
        tmp_path_factory.mktemp("bundle"), model, Scaler.identity(list(FEATURE_NAMES), 1), metadata, example
    )
    registry = make_registry(settings)
    name = registered_model_name(["BTCUSDT"], "1m", HORIZON)
    version = registry.register(
        name, ModelToRegister(folder, {"test_mae": 0.001}, {"kind": "lightgbm"}, example)
    )
    registry.set_champion(name, version)
    return settings, model


def _client(
    monkeypatch: pytest.MonkeyPatch, registry: RegistrySettings, klines: Path | None, home: Path
) -> TestClient:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry.tracking_uri())
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", registry.artifact_root())
    monkeypatch.setenv("FEATURE_STORE", "feast")
    monkeypatch.setenv("FEAST_REPO_PATH", str(home / "feast"))
    settings = GatewaySettings(klines_dir=klines, model_symbols="BTCUSDT", horizon=HORIZON)
    return TestClient(create_app(settings))  # no lifespan: this route needs neither Redis nor Kafka


def _expected(recomputed: pd.DataFrame, model: object) -> tuple[pd.Series, float]:
    row = recomputed[recomputed["timestamp_ms"] == AS_OF_MS].iloc[0]
    inputs = pd.DataFrame([row[list(FEATURE_NAMES)].astype(np.float32).astype(np.float64)])
    return row, float(model.predict(inputs)[0])


def test_the_answer_is_the_recomputation_from_the_kline_files(
    klines_dir: Path, recomputed: pd.DataFrame, champion, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    registry, model = champion
    answer = _client(monkeypatch, registry, klines_dir, tmp_path).get(
        "/predictions/BTCUSDT/at", params={"time": ASKED}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    row, expected_return = _expected(recomputed, model)

    features = body["features"]
    assert (features["as_of_ms"], features["known_at_ms"], features["origin"]) == (
        AS_OF_MS,
        AS_OF_MS + MINUTE,
        "kline_files",
    )
    assert features["feature_set_version"] == FEATURE_SET_VERSION
    for name in FEATURE_NAMES:
        assert features["values"][name] == pytest.approx(row[name], rel=1e-9, abs=1e-12), name

    prediction = body["prediction"]
    assert prediction["predicted_return"] == pytest.approx(expected_return, rel=1e-9, abs=1e-12)
    assert prediction["predicted_price"] == pytest.approx(row["close"] * math.exp(expected_return), rel=1e-12)
    assert prediction["direction"] == (
        "up" if expected_return > 0.0002 else "down" if expected_return < -0.0002 else "flat"
    )
    assert (prediction["source"], prediction["target_time_ms"]) == ("binance", AS_OF_MS + HORIZON * MINUTE)
    assert body["model"]["chosen_because"] == "current_champion"  # promoted after 2024: no history then
    assert "champion history" in body["model"]["note"]

    target = recomputed[recomputed["timestamp_ms"] == AS_OF_MS + HORIZON * MINUTE].iloc[0]
    assert body["realised"]["close"] == pytest.approx(target["close"])
    assert body["realised"]["realised_return"] == pytest.approx(math.log(target["close"] / row["close"]))


def _rewrite_after(source: Path, folder: Path, after_ms: int) -> Path:
    """A copy of the kline files whose candles after ``after_ms`` have other prices."""
    for path in find_kline_files(source, "BTCUSDT", "1m", FIRST, LAST):
        with zipfile.ZipFile(path) as archive:
            member = archive.namelist()[0]
            raw = pd.read_csv(archive.open(member), header=None)
        later = raw[0] // (1000 if raw[0].iloc[0] > 10**14 else 1) > after_ms
        raw.loc[later, [1, 2, 3, 4]] = raw.loc[later, [1, 2, 3, 4]] * 1.5
        target = folder / path.name
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr(member, raw.to_csv(header=False, index=False))
    return folder


def test_data_after_the_moment_changes_nothing_but_the_outcome(
    klines_dir: Path, recomputed: pd.DataFrame, champion, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    registry, _ = champion
    original = (
        _client(monkeypatch, registry, klines_dir, tmp_path / "a")
        .get("/predictions/BTCUSDT/at", params={"time": ASKED})
        .json()
    )
    (tmp_path / "changed").mkdir()
    changed_dir = _rewrite_after(klines_dir, tmp_path / "changed", AS_OF_MS)
    changed = (
        _client(monkeypatch, registry, changed_dir, tmp_path / "b")
        .get("/predictions/BTCUSDT/at", params={"time": ASKED})
        .json()
    )
    assert changed["features"] == original["features"]
    assert changed["prediction"]["predicted_return"] == original["prediction"]["predicted_return"]
    assert changed["realised"]["close"] == pytest.approx(original["realised"]["close"] * 1.5)


def test_the_offline_store_answers_first_and_its_later_rows_change_nothing(
    klines_dir: Path, recomputed: pd.DataFrame, champion, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    registry, model = champion
    OfflineLog(offline_root(tmp_path / "feast")).write(recomputed)
    client = _client(monkeypatch, registry, None, tmp_path)  # no kline files: the store alone
    first = client.get("/predictions/BTCUSDT/at", params={"time": ASKED}).json()
    assert first["features"]["origin"] == "offline_store"
    _, expected_return = _expected(recomputed, model)
    assert first["prediction"]["predicted_return"] == pytest.approx(expected_return, rel=1e-9, abs=1e-12)

    later = recomputed[recomputed["timestamp_ms"] > AS_OF_MS]
    OfflineLog(offline_root(tmp_path / "feast")).write(
        later.assign(**{name: later[name] * 3 for name in ("ret_1", "rsi_14", "macd")})
    )
    again = client.get("/predictions/BTCUSDT/at", params={"time": ASKED}).json()
    assert again["features"] == first["features"]
    assert again["prediction"]["predicted_return"] == first["prediction"]["predicted_return"]


def test_clear_errors(klines_dir: Path, champion, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    registry, _ = champion
    client = _client(monkeypatch, registry, klines_dir, tmp_path)
    cases = {
        ("BTCUSDT", str(int(time.time() * 1000) + 3_600_000), None): (404, "in the future"),
        ("BTCUSDT", "2019-01-01T00:00:00Z", None): (404, "before the data"),
        ("NOSUCHUSDT", ASKED, None): (404, "unknown symbol"),
        ("BTCUSDT", ASKED, "99"): (404, "has no version 99"),
        ("BTCUSDT", ASKED, "no-such-model"): (404, "unknown model"),
        ("BTCUSDT", "yesterday", None): (422, "datetime"),
        ("BTCUSDT", "2019-01-01T00:00:00", None): (404, "before the data"),
    }
    for (symbol, moment, model), (status, reason) in cases.items():
        params = {"time": moment, **({"model": model} if model else {})}
        answer = client.get(f"/predictions/{symbol}/at", params=params)
        assert answer.status_code == status, (symbol, moment, model, answer.text)
        assert reason in str(answer.json()["detail"]), answer.text


def test_the_champion_of_the_time_answers_by_default(
    klines_dir: Path, champion, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A model of another horizon whose champion history reaches back to before the asked moment."""
    from tickcast.registry.champion_history import change_tag
    from tickcast.registry.mlflow_support import mlflow_client

    registry_settings, model = champion
    registry = make_registry(registry_settings)
    name = registered_model_name(["BTCUSDT"], "1m", 7)
    metadata = BundleMetadata(
        "lightgbm", ["BTCUSDT"], "1m", [7], 1, list(FEATURE_NAMES), FEATURE_SET_VERSION, 0.0002, flavour=LIGHTGBM
    )
    example = np.zeros((2, 1, len(FEATURE_NAMES)))
    folder = save_bundle(tmp_path / "bundle", model, Scaler.identity(list(FEATURE_NAMES), 1), metadata, example)
    first = registry.register(name, ModelToRegister(folder, {}, {}, example))
    second = registry.register(name, ModelToRegister(folder, {}, {}, example))
    registry.set_champion(name, second)  # recorded now, after the asked moment
    assert [change.version for change in registry.champion_history(name)] == [second]
    # As if the history had been recorded since 2024: version 1 champion from a day before the moment.
    key, value = change_tag(AS_OF_MS - 24 * 60 * MINUTE, first)
    mlflow_client(registry_settings).set_registered_model_tag(name, key, value)

    client = _client(monkeypatch, registry_settings, klines_dir, tmp_path)
    then = client.get("/predictions/BTCUSDT/at", params={"time": ASKED, "horizon": 7}).json()
    assert (then["model"]["name"], then["model"]["version"]) == (name, first)
    assert then["model"]["chosen_because"] == "champion_at_time"
    assert then["prediction"]["target_time_ms"] == AS_OF_MS + 7 * MINUTE
    asked = client.get("/predictions/BTCUSDT/at", params={"time": ASKED, "model": f"{name}:{second}"}).json()
    assert (asked["model"]["version"], asked["model"]["chosen_because"]) == (second, "requested")
