"""The stream's per-batch logic without a broker: vectors, dead letters, duplicates, holes."""

from __future__ import annotations

import pandas as pd

from feature_pipeline.processing import (
    RawCandle,
    SymbolState,
    compute_batch,
    drop_published,
    merge_in_order,
    offset_holes,
    parse_batch,
    process_batch,
    state_key,
)
from tickcast.candle_frames import frame_to_candles
from tickcast.contracts import FeatureVector
from tickcast.features import FEATURE_NAMES, FEATURE_SET_VERSION, compute_history

KEY = state_key("BTCUSDT", "1m")


def _messages(frame: pd.DataFrame, first_offset: int = 0) -> list[RawCandle]:
    return [
        RawCandle(b"BTCUSDT", candle.to_json_bytes(), 0, first_offset + index)
        for index, candle in enumerate(frame_to_candles(frame))
    ]


def test_batches_with_carried_state_give_the_batch_path_vectors(btc_week: pd.DataFrame) -> None:
    history = btc_week.iloc[: 1440 + 300]
    messages = _messages(history)
    states: dict[bytes, SymbolState] = {}
    vectors = []
    for first in range(0, len(messages), 250):
        outcome = process_batch(messages[first : first + 250], states.get)
        states = {
            key: SymbolState.decode(state.encode(), state.partition) for key, state in outcome.states.items()
        }
        vectors += outcome.vectors
    expected = compute_history(history)
    assert [v.timestamp_ms for v in vectors] == expected["timestamp_ms"].tolist()
    assert all(v.feature_set_version == FEATURE_SET_VERSION for v in vectors)
    last = expected.iloc[-1]
    assert vectors[-1].close == last["close"] and vectors[-1].values["macd"] == last["macd"]
    assert states[KEY].offset == len(messages) - 1


def test_malformed_payloads_are_rejected_with_the_reason() -> None:
    bad = [RawCandle(b"BTCUSDT", b"not json", 1, 7), RawCandle(b"X", b'{"symbol": "btc"}', 1, 8)]
    candles, rejected = parse_batch(bad)
    assert candles == [] and [r.message.offset for r in rejected] == [7, 8]
    assert "not valid JSON" in rejected[0].reason and "symbol" in rejected[1].reason


def test_redelivered_messages_change_nothing(btc_week: pd.DataFrame) -> None:
    messages = _messages(btc_week.iloc[: 1440 + 20])
    first = process_batch(messages, lambda key: None)
    replay = process_batch(messages[-10:], first.states.get)
    assert replay.vectors == [] and replay.pushed == {"duplicate": 10}


def test_a_hole_in_time_and_offsets_is_named_for_rereading(btc_week: pd.DataFrame) -> None:
    messages = _messages(btc_week.iloc[:1500], first_offset=100)
    known = process_batch(messages[:1000], lambda key: None).states
    delivered = parse_batch(messages[1031:1040])[0]  # 31 candles were not delivered
    holes = offset_holes(delivered, known)
    assert holes == {0: (1100, 1131)}
    recovered = parse_batch(messages[1000:1031])[0]
    merged = merge_in_order(delivered, recovered + delivered[:2])
    assert [m.offset for m, _ in merged] == list(range(1100, 1140))
    outcome = compute_batch(merged, known.get)
    assert outcome.filled == 0 and outcome.pushed == {"appended": 40}


def test_a_real_gap_is_not_a_hole_and_is_filled(btc_week: pd.DataFrame) -> None:
    messages = _messages(btc_week.iloc[:1500])
    known = process_batch(messages[:1000], lambda key: None).states
    # The next message in the topic is 5 minutes later: nothing to re-read, five flat candles.
    later = RawCandle(b"BTCUSDT", messages[1005].value, 0, 1000)
    parsed = parse_batch([later])[0]
    assert offset_holes(parsed, known) == {}
    assert compute_batch(parsed, known.get).filled == 5


def test_vectors_already_published_are_dropped_per_symbol_and_interval() -> None:
    T0 = 1_704_067_200_000  # noqa: N806
    def vector(symbol: str, interval: str, minute: int) -> FeatureVector:
        return FeatureVector(
            symbol=symbol,
            interval=interval,
            timestamp_ms=T0 + minute * 60_000,
            feature_set_version=FEATURE_SET_VERSION,
            values=dict.fromkeys(FEATURE_NAMES, 0.0),
            close=1.0,
        )

    published = {state_key("BTCUSDT", "1m"): T0 + 10 * 60_000}
    batch = [vector("BTCUSDT", "1m", 9), vector("BTCUSDT", "1m", 10), vector("BTCUSDT", "1m", 11),
             vector("BTCUSDT", "5m", 10), vector("SOLUSDT", "1m", 3)]
    fresh = drop_published(batch, published)
    assert [(v.symbol, v.interval, (v.timestamp_ms - T0) // 60_000) for v in fresh] == [
        ("BTCUSDT", "1m", 11), ("BTCUSDT", "5m", 10), ("SOLUSDT", "1m", 3)]
    assert drop_published(batch, published) == []  # the same batch again: all published now


def test_vectors_carry_their_candles_source_and_the_feature_set_version_ignores_it(
    btc_week: pd.DataFrame,
) -> None:
    history = btc_week.iloc[: 1440 + 5]
    for source in ("binance", "synthetic"):
        messages = [
            RawCandle(b"BTCUSDT", candle.to_json_bytes(), 0, index)
            for index, candle in enumerate(frame_to_candles(history, source=source))
        ]
        vectors = process_batch(messages, lambda key: None).vectors
        assert vectors and {v.source for v in vectors} == {source}
        # Metadata, not a feature: not among the values, and the version is the one of the features.
        assert all("source" not in v.values and v.feature_set_version == FEATURE_SET_VERSION for v in vectors)
