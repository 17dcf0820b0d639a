"""``python -m training forecast`` on two weeks of real Binance klines, then ``forecast-evaluate`` on the
days after: every target gated against its baselines, the set registered and loadable as inference loads it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from support.shared_data import SHARED_BINANCE as SHARED_KLINES
from typer.testing import CliRunner

from tickcast.forecast.history import History
from tickcast.forecast.store import forecast_set_name, load_forecaster_set
from training.__main__ import app
from tickcast.registry.settings import RegistrySettings
from tickcast.registry.mlflow_support import mlflow_client

pytestmark = [pytest.mark.slow, pytest.mark.integration]



def test_forecast_then_evaluate_on_later_days(
    cli_registry_settings: RegistrySettings, tmp_path: Path
) -> None:
    if not SHARED_KLINES.is_dir():
        pytest.skip(f"shared kline data not found at {SHARED_KLINES} (it sits beside the repository in CI)")
    runner = CliRunner()
    result = runner.invoke(app, ["forecast", "--klines-dir", str(SHARED_KLINES), "--start", "2024-01-02",
                                 "--end", "2024-01-16", "--horizons", "1,5"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "registered as v1 (champion)" in out
    for horizon in (1, 5):
        for target in ("distribution", "volatility", "probability"):
            assert re.search(rf"^  h{horizon}\s+{target}\s+(model|baseline) \w+", out, re.MULTILINE), out
    for name in ("climatology", "student_t", "standardized_quantiles", "mlp_quantiles", "last_hour", "log_har",
                 "garch", "har_features", "mlp_volatility", "trailing_frequency", "vol_conditional"):
        assert re.search(rf"^\s+\*? +{name} ", out, re.MULTILINE), name

    client = mlflow_client(cli_registry_settings)
    run_id = re.search(r"MLflow run ([0-9a-f]{32})", out).group(1)  # type: ignore[union-attr]
    run = client.get_run(run_id)
    assert run.data.tags["forecast.h5.volatility.served"] in {"last_hour", "log_har", "garch", "har_features",
                                                              "mlp_volatility"}
    assert "h5_har_features_qlike" in run.data.metrics and "h1_climatology_coverage_80" in run.data.metrics
    report = Path(client.download_artifacts(run_id, "forecast_report.txt", str(tmp_path))).read_text()
    assert report.strip() in out
    decisions = client.search_runs([client.get_experiment_by_name("tickcast-training-gate").experiment_id])
    assert len(decisions) == 6  # one per horizon and target, each with its numbers

    # What inference loads: the champion set, forecasting a window of the last day's returns.
    forecaster_set = load_forecaster_set(cli_registry_settings.tracking_uri(), forecast_set_name(["BTCUSDT"], "1m"))
    assert forecaster_set is not None and forecaster_set.version == "1" and forecaster_set.horizons == [1, 5]
    returns = np.random.default_rng(0).normal(0, 5e-4, (3, 1440))
    forecasts = forecaster_set.forecast(History.windows(returns, np.full(3, 1_705_363_200_000), 60_000))
    assert np.all(np.diff(forecasts[5].quantiles, axis=1) >= 0) and np.all(forecasts[5].volatility > 0)

    result = runner.invoke(app, ["forecast-evaluate", "--klines-dir", str(SHARED_KLINES), "--start", "2024-01-16",
                                 "--end", "2024-01-19", "--horizons", "1,5"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "tickcast-forecast-btcusdt-1m v1 on replay prices" in result.output
    for target in ("distribution", "volatility", "probability"):
        assert len(re.findall(rf"check {target}: served", result.output)) == 2
