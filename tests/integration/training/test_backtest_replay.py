"""The backtest that replays retraining, on a few days of real Binance klines from the shared folder.

What must hold: each session sees only data before its cutoff (changing everything after a
step's period changes nothing in that step), what is served follows the gate's decisions
(persistence until a promotion, then that session's model), every row of the period is
scored once, and the report is one MLflow run with its tables and plots.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from support.shared_data import SHARED_BINANCE as SHARED_KLINES
from typer.testing import CliRunner

from tickcast.registry.mlflow_support import experiment_id, mlflow_client
from tickcast.registry.settings import RegistrySettings
from training.__main__ import app
from training.config import TrainingSettings
from training.models.networks import FitSettings
from training.replay import PERSISTENCE, SERVED, replay_retraining
from training.data.sources import from_kline_files, utc_ms

pytestmark = [pytest.mark.slow, pytest.mark.integration]

DAY_MS = 86_400_000
START, END = date(2024, 1, 5), date(2024, 1, 8)  # three sessions of one day, each on the two days before


@pytest.fixture(scope="module")
def klines_frame():  # type: ignore[no-untyped-def]
    if not SHARED_KLINES.is_dir():
        pytest.skip(f"shared kline data not found at {SHARED_KLINES} (it sits beside the repository in CI)")
    return from_kline_files(SHARED_KLINES, ["BTCUSDT"], "1m", date(2024, 1, 3), END)


def _replay(frame, settings: TrainingSettings):  # type: ignore[no-untyped-def]
    fit = FitSettings(3, 256, 2, 1e-3, 30.0, settings.seed, show_progress=False)
    return replay_retraining(frame, settings, ["ridge", "lightgbm"], utc_ms(START), utc_ms(END), DAY_MS,
                             2 * DAY_MS, fit)


def test_each_session_sees_only_its_past_and_what_is_served_follows_the_gate(klines_frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = TrainingSettings(horizons="5", lag_window=4, output_dir=tmp_path)
    result = _replay(klines_frame, settings)

    assert [step.cutoff_ms for step in result.steps] == [utc_ms(START) + k * DAY_MS for k in range(3)]
    times = result.labelled["timestamp_ms"].to_numpy()[result.rows]
    assert np.all(np.diff(times) > 0) and times[0] >= utc_ms(START) and times[-1] < utc_ms(END)
    assert sum(step.n for step in result.steps) == len(result.rows) > 3 * 1400  # (nearly) every minute, once
    assert set(result.predictions) == {SERVED, "ridge", "lightgbm"}

    offset, champion_step = 0, None
    for index, step in enumerate(result.steps):
        served = result.predictions[SERVED][offset : offset + step.n]
        if step.decision is not None and step.decision.promote:
            champion_step = index
        if champion_step is None:
            assert step.served == PERSISTENCE and np.all(served == 0)
        else:
            assert step.served.endswith(f"(step {champion_step + 1})")
            if champion_step == index:  # promoted now: serves this very session's chosen kind
                np.testing.assert_array_equal(served, result.predictions[step.candidate][offset : offset + step.n])
        offset += step.n

    # No look-ahead: the first step is the same when everything after its period (and its last
    # outcomes) is gone.
    first = result.steps[0]
    cut = klines_frame[klines_frame["timestamp_ms"] < first.until_ms + 60 * 60_000]
    alone = _replay(cut, settings).steps[0]
    assert (alone.candidate, alone.served, alone.n) == (first.candidate, first.served, first.n)
    assert alone.decision is not None and first.decision is not None
    assert alone.decision.reason == first.decision.reason
    assert alone.mae == pytest.approx(first.mae, rel=1e-12)


def test_backtest_command_reports_one_mlflow_run(
    klines_frame, cli_registry_settings: RegistrySettings, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    result = CliRunner().invoke(app, [
        "backtest", "--source", "klines", "--klines-dir", str(SHARED_KLINES), "--start", "2024-01-06",
        "--end", "2024-01-08", "--every", "1d", "--lookback", "2d", "--models", "ridge",
    ], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "replayed retraining, 2 sessions" in result.output and "served vs persistence" in result.output

    client = mlflow_client(cli_registry_settings)
    (run,) = client.search_runs([experiment_id(cli_registry_settings)], "tags.`tickcast.kind` = 'replayed-retraining'")
    assert run.info.status == "FINISHED"
    assert run.data.params["every"] == "1d" and run.data.params["source"] == "klines"
    assert {"replay_served_skill", "replay_persistence_mae", "replay_ridge_ungated_mae", "dm_p_value"} <= set(
        run.data.metrics
    )
    artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
    plots = {item.path for item in client.list_artifacts(run.info.run_id, "plots")}
    assert {"report.txt", "steps.txt", "steps.csv"} <= artifacts
    assert {"plots/error_advantage.png", "plots/skill_by_step.png", "plots/served_equity_curve.png"} <= plots
