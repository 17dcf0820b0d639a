"""The one entry point: ``python -m inference``."""

from __future__ import annotations

from typer.testing import CliRunner

from inference.__main__ import app
from inference.config import Settings


def test_help_lists_the_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "run" in result.output and "champion" in result.output


def test_settings_read_their_prefix_and_the_shared_names(monkeypatch):
    monkeypatch.setenv("INFERENCE_HORIZON", "10")
    monkeypatch.setenv("INFERENCE_SYMBOLS", "btcusdt, ethusdt")
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("METRICS_PORT", "9000")
    settings = Settings()
    assert (settings.horizon, settings.symbol_list) == (10, ["BTCUSDT", "ETHUSDT"])
    assert (settings.log_format, settings.metrics_port) == ("json", 9000)
    monkeypatch.setenv("INFERENCE_METRICS_PORT", "9100")  # the service's own name wins
    assert Settings().metrics_port == 9100


def test_forecasters_says_whether_a_forecaster_set_is_registered(monkeypatch, tmp_path):
    """The stack asks by the exit code before training the first forecaster set."""
    monkeypatch.setenv("TICKCAST_HOME", str(tmp_path))
    monkeypatch.setenv("INFERENCE_SYMBOLS", "BTCUSDT")
    result = CliRunner().invoke(app, ["forecasters"])
    assert result.exit_code == 1
    assert "tickcast-forecast-btcusdt-1m: no forecaster set" in result.output
    monkeypatch.setenv("INFERENCE_FORECASTS", "false")
    result = CliRunner().invoke(app, ["forecasters"])
    assert result.exit_code == 1 and "distribution forecasts are off" in result.output
