"""The one DeadLetter constructor: raw bytes as text, the key as symbol unless told, the reason kept."""

from __future__ import annotations

from tickcast.contracts import DeadLetter
from tickcast.kafka import make_dead_letter


def test_key_is_the_symbol_and_bad_bytes_are_replaced() -> None:
    letter = make_dead_letter(
        source_topic="trades", partition=2, offset=41, key=b"BTCUSDT", value=b"\xff{",
        reason="not JSON", error_type="ValidationError", service="candle_builder",
    )  # fmt: skip
    assert letter.symbol == "BTCUSDT" and letter.message_key == "BTCUSDT"
    assert letter.payload == "\ufffd{"
    assert (letter.source_topic, letter.partition, letter.offset) == ("trades", 2, 41)
    assert (letter.reason, letter.error_type) == ("not JSON", "ValidationError")
    assert letter.service == "candle_builder"
    assert letter.key == b"BTCUSDT"
    assert DeadLetter.parse(letter.to_json_bytes()) == letter


def test_a_parsed_symbol_wins_and_a_missing_key_or_value_is_empty() -> None:
    letter = make_dead_letter(
        source_topic="trades", partition=None, offset=None, key=None, value=None,
        reason="late", error_type="late", service="candle-builder", symbol="ETHUSDT",
    )  # fmt: skip
    assert letter.symbol == "ETHUSDT"
    assert letter.message_key is None and letter.payload == ""
    assert letter.key == b""
