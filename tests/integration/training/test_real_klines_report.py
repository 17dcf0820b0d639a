"""The report on real prices: Binance BTCUSDT klines from the shared data folder beside the
repository, backfilled through the feature pipeline into its offline store, then every model
against both baselines by ``python -m training report``, kept as an MLflow run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from support.shared_data import SHARED_BINANCE as SHARED_KLINES
from typer.testing import CliRunner

from feature_pipeline.backfill import run_backfill
from feature_pipeline.config import Settings as FeatureSettings
from tickcast.store.loaders import DumpFileLoader
from tickcast.store import make_feature_store
from training.__main__ import app
from tickcast.registry.settings import RegistrySettings
from tickcast.registry.mlflow_support import mlflow_client
from training.data.sources import from_feature_store, from_kline_files, utc_ms

pytestmark = [pytest.mark.slow, pytest.mark.integration]

FIRST, AFTER = date(2024, 1, 2), date(2024, 1, 5)  # three days of 1-minute candles


@pytest.fixture(scope="module")
def backfilled_store(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeatureSettings]:
    """Three days backfilled once for the module (the offline write path does not touch Redis,
    but the store is configured with the real one)."""
    if not SHARED_KLINES.is_dir():
        pytest.skip(f"shared kline data not found at {SHARED_KLINES} (it sits beside the repository in CI)")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FEATURE_STORE", "feast")
        env.setenv("FEAST_REPO_PATH", str(tmp_path_factory.mktemp("feast")))
        env.setenv("REDIS_URL", redis_server_url)
        settings = FeatureSettings()
        store = make_feature_store(settings)
        try:
            run_backfill(DumpFileLoader(SHARED_KLINES), store, ["BTCUSDT"], "1m", FIRST, date(2024, 1, 4))
        finally:
            store.close()
        yield settings


def test_store_rows_are_the_features_of_the_kline_files(backfilled_store: FeatureSettings) -> None:
    stored = from_feature_store(["BTCUSDT"], "1m", utc_ms(FIRST), utc_ms(AFTER))
    computed = from_kline_files(SHARED_KLINES, ["BTCUSDT"], "1m", FIRST, AFTER)
    assert len(stored) == 3 * 1440 and stored["timestamp_ms"].min() == utc_ms(FIRST)
    pd.testing.assert_frame_equal(
        stored.reset_index(drop=True), computed[stored.columns].reset_index(drop=True), check_dtype=False
    )


def test_report_of_every_model_against_the_baselines(
    backfilled_store: FeatureSettings,
    cli_registry_settings: RegistrySettings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("TRAINING_LAG_WINDOW", "8")
    result = CliRunner().invoke(
        app,
        ["report", "--source", "store", "--start", str(FIRST), "--end", str(AFTER), "--epochs", "2",
         "--models", "mlp,conv,lstm"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    table = result.output
    for name in ("persistence", "ema_drift", "mlp", "conv", "lstm"):
        assert re.search(rf"^{name} ", table, re.MULTILINE), table
    assert "gate:" not in table  # a report promotes nothing

    client = mlflow_client(cli_registry_settings)
    run_id = re.search(r"MLflow run ([0-9a-f]{32})", table).group(1)  # type: ignore[union-attr]
    session = client.get_run(run_id)
    metrics = session.data.metrics
    assert session.data.params["test_rows"] == str(int(metrics["persistence_test_n"]))
    for name in ("ema_drift", "mlp", "conv", "lstm"):
        assert metrics[f"{name}_test_n"] == metrics["persistence_test_n"]  # the same test rows for everyone
        skill = 1 - metrics[f"{name}_test_mae"] / metrics["persistence_test_mae"]
        assert metrics[f"{name}_test_skill"] == pytest.approx(skill)
    assert metrics["persistence_test_skill"] == 0.0
    report = Path(client.download_artifacts(run_id, "report.txt", str(tmp_path))).read_text()
    assert report.strip() in table
    children = client.search_runs([session.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    assert len(children) == 3
    plots = {item.path for item in client.list_artifacts(children[0].info.run_id, "plots")}
    assert {"plots/predicted_vs_actual.png", "plots/equity_curve.png", "plots/direction_report.txt"} <= plots
