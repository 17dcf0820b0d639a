"""The report on real prices: Binance BTCUSDT klines from the shared data folder beside the repository,
featurised by the shared feature code, every model against both baselines, kept as an MLflow run.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from training.config import RegistrySettings, TrainingSettings
from training.dataset import prepare_dataset
from training.mlflow_support import mlflow_client
from training.pipeline import run_session
from training.registry import make_registry
from training.sources import from_kline_files, utc_ms
from training.tracking import RunTracker

pytestmark = pytest.mark.slow

SHARED_KLINES = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "binance"


@pytest.fixture(scope="module")
def klines_root() -> Path:
    if not SHARED_KLINES.is_dir():
        pytest.skip(f"shared kline data not found at {SHARED_KLINES} (it sits beside the repository in CI)")
    return SHARED_KLINES


def test_report_of_every_model_against_the_baselines(
    klines_root: Path, fresh_registry_settings: RegistrySettings, tmp_path: Path
) -> None:
    settings = TrainingSettings(
        epochs=2, lag_window=8, batch_size=256, output_dir=tmp_path / "out", registry=fresh_registry_settings
    )
    frame = from_kline_files(klines_root, ["BTCUSDT"], "1m", date(2024, 1, 2), date(2024, 1, 5))
    assert frame["timestamp_ms"].min() == utc_ms(date(2024, 1, 2))  # warm-up read from the day before
    assert len(frame) == 3 * 1440
    data = prepare_dataset(
        frame, settings.horizon_list(), settings.dead_band, "1m", 60_000, settings.lag_window,
        settings.validation_fraction, settings.test_fraction, settings.excluded_features(),
    )
    result = run_session(
        settings, data, make_registry(fresh_registry_settings), RunTracker(fresh_registry_settings),
        kinds=["mlp", "conv", "lstm"], apply_gate=False, show_progress=False,
    )

    assert [row.name for row in result.rows] == ["persistence", "ema_drift", "mlp", "conv", "lstm"]
    persistence = result.rows[0].evaluation
    assert persistence.skill == 0.0 and persistence.mae > 0
    for row in result.rows[1:]:
        assert row.evaluation.n == persistence.n == len(data.test)  # the same test rows for everyone
        assert np.isfinite([row.evaluation.mae, row.evaluation.skill, row.evaluation.backtest.strategy_return]).all()
        assert row.evaluation.skill == pytest.approx(1 - row.evaluation.mae / persistence.mae)
    for name in ("persistence", "ema_drift", "mlp", "conv", "lstm"):
        assert f"\n{name} " in "\n" + result.table

    client = mlflow_client(fresh_registry_settings)
    session = client.get_run(result.session_run_id)
    assert session.data.metrics["persistence_test_mae"] == pytest.approx(persistence.mae)
    assert "lstm_test_skill" in session.data.metrics
    report = Path(client.download_artifacts(result.session_run_id, "report.txt", str(tmp_path))).read_text()
    assert report.strip() == result.table.strip()
    children = client.search_runs(
        [session.info.experiment_id], f"tags.mlflow.parentRunId = '{result.session_run_id}'"
    )
    assert len(children) == 3
    plots = {item.path for item in client.list_artifacts(children[0].info.run_id, "plots")}
    assert {"plots/predicted_vs_actual.png", "plots/equity_curve.png", "plots/direction_report.txt"} <= plots
