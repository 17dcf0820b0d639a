"""The warm-up a requested symbol's status shows, from the stream's own buffers."""

from __future__ import annotations

from tickcast.contracts import FeatureVector
from tickcast.features import FEATURE_NAMES, FEATURE_SET_VERSION, CandleBuffer
from tickcast.features.definitions import HOURLY_CLOSES, MIN_CANDLES

from feature_pipeline.processing import SymbolState, state_key
from feature_pipeline.symbol_progress import warm_share, warming_reports

T = 1_767_225_600_000


def test_the_share_is_the_slower_of_the_two_lookbacks_in_steps() -> None:
    assert warm_share(0, 0) == 0.0
    assert warm_share(MIN_CANDLES * 10, HOURLY_CLOSES // 2) == 0.5
    assert warm_share(MIN_CANDLES - 1, HOURLY_CLOSES) == 1.0
    assert warm_share(MIN_CANDLES // 2, HOURLY_CLOSES) < 0.55


def test_a_symbol_with_vectors_out_is_at_full_warm_up_and_other_intervals_are_left_out() -> None:
    states = {
        state_key("SOLUSDT", "1m"): SymbolState(CandleBuffer(60_000)),
        state_key("ADAUSDT", "1m"): SymbolState(CandleBuffer(60_000)),
        state_key("SOLUSDT", "5m"): SymbolState(CandleBuffer(300_000)),
    }
    vector = FeatureVector(symbol="SOLUSDT", interval="1m", timestamp_ms=T, feature_set_version=FEATURE_SET_VERSION,
                           values=dict.fromkeys(FEATURE_NAMES, 0.0), close=1.0, source="synthetic")
    reports = {symbol: fields for symbol, _stage, fields in warming_reports(states, [vector], "1m")}
    assert set(reports) == {"SOLUSDT", "ADAUSDT"}
    assert reports["SOLUSDT"]["progress"] == 1.0 and "published" in reports["SOLUSDT"]["detail"]
    assert reports["ADAUSDT"]["progress"] == 0.0 and f"{HOURLY_CLOSES} completed hours" in reports["ADAUSDT"]["detail"]
