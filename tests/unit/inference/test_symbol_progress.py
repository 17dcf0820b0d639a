"""Which model serves a requested symbol, and why it applies: said on its status record."""

from __future__ import annotations

from tickcast.contracts import Prediction
from tickcast.features import FEATURE_NAMES
from tickcast.features.definitions import PRICE_UNIT_FEATURES

from inference.model import BASELINE_NAME, BASELINE_VERSION
from inference.symbol_progress import applicability, serving_reports

T = 1_767_225_600_000
SCALE_FREE = [name for name in FEATURE_NAMES if name not in PRICE_UNIT_FEATURES]


def _prediction(symbol: str, name: str, version: str) -> Prediction:
    return Prediction(symbol=symbol, model_name=name, model_version=version, horizon=5, as_of_ms=T,
                      target_time_ms=T + 300_000, predicted_return=0.0, predicted_price=1.0, direction="flat",
                      emitted_ms=T, source="synthetic")


def test_a_champion_with_scale_free_inputs_applies_to_a_symbol_it_never_saw() -> None:
    assert "scale-free" in applicability(SCALE_FREE, ["BTCUSDT"], "SOLUSDT")
    assert "trained on this symbol" in applicability(list(FEATURE_NAMES), ["BTCUSDT"], "BTCUSDT")


def test_a_champion_fed_price_unit_features_is_flagged_for_another_symbol() -> None:
    said = applicability(list(FEATURE_NAMES), ["BTCUSDT"], "SOLUSDT")
    assert said.startswith("caution") and "macd" in said and "atr_14" in said


def test_each_symbol_reports_the_model_of_its_newest_prediction_and_the_baseline_is_labelled() -> None:
    reports = serving_reports(
        [_prediction("SOLUSDT", BASELINE_NAME, BASELINE_VERSION), _prediction("SOLUSDT", "tickcast-m", "3"),
         _prediction("ADAUSDT", BASELINE_NAME, BASELINE_VERSION)], SCALE_FREE, ["BTCUSDT"])
    by_symbol = {symbol: (stage, fields) for symbol, stage, fields in reports}
    assert by_symbol["SOLUSDT"][0] == "serving" and by_symbol["SOLUSDT"][1]["model"] == "tickcast-m v3"
    assert "baseline" in by_symbol["ADAUSDT"][1]["detail"]
    assert by_symbol["ADAUSDT"][1]["source"] == "synthetic"
