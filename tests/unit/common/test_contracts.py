"""Contracts: round-trips, and malformed input named by field and value."""

from __future__ import annotations

import json

import pytest

from tickcast.contracts import (
    PREDICTION_SCHEMA_VERSION,
    SCHEMA_VERSION,
    Candle,
    ContractError,
    FeatureVector,
    Prediction,
    Trade,
)

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def trade(**overrides) -> dict:
    fields = dict(
        symbol="BTCUSDT", trade_id=42, price=42000.5, quantity=0.01, quote_quantity=420.005,
        timestamp_ms=T0 + 1234, is_buyer_maker=False, source="replay",
    )
    return fields | overrides


def candle(**overrides) -> dict:
    fields = dict(
        symbol="BTCUSDT", interval="1m", open_time_ms=T0, close_time_ms=T0 + 59_999,
        open=100.0, high=110.0, low=95.0, close=105.0, volume=2.0, quote_volume=205.0, trade_count=3,
        taker_buy_base_volume=1.0, taker_buy_quote_volume=103.0, vwap=102.5, first_trade_id=1,
        last_trade_id=3,
    )
    return fields | overrides


def prediction(**overrides) -> dict:
    fields = dict(
        symbol="BTCUSDT", interval="1m", model_name="persistence", model_version="baseline", horizon=5,
        as_of_ms=T0, target_time_ms=T0 + 300_000, predicted_return=0.0, predicted_price=100.0,
        direction="flat", emitted_ms=T0 + 61_000,
    )
    return fields | overrides


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (Trade, trade()),
        (Candle, candle()),
        (FeatureVector, dict(symbol="ETHUSDT", interval="1m", timestamp_ms=T0, feature_set_version="fs-1",
                             values={"rsi_14": 55.5, "log_return_1": -0.001}, close=2300.0)),
        (Prediction, prediction()),
    ],
)
def test_every_contract_round_trips_through_json(model, fields):
    message = model(**fields)
    wire = message.to_json_bytes()
    # Prediction is at version 2 (distribution forecasts); the others are at the common version.
    assert json.loads(wire)["schema_version"] == (PREDICTION_SCHEMA_VERSION if model is Prediction else SCHEMA_VERSION)
    assert model.parse(wire) == message
    assert message.key == fields["symbol"].encode()


@pytest.mark.parametrize(
    ("fields", "field", "value"),
    [
        (trade(price="abc"), "price", "abc"),
        (trade(price=-1.0), "price", -1.0),
        (trade(quantity=0), "quantity", 0),
        (trade(symbol="btc-usdt"), "symbol", "btc-usdt"),
        (trade(timestamp_ms=1_704_067_200_000_000), "timestamp_ms", 1_704_067_200_000_000),
        (trade(source="made-up"), "source", "made-up"),
        (trade(price=float("nan")), "price", float("nan")),
    ],
)
def test_malformed_trade_names_field_and_value(fields, field, value):
    with pytest.raises(ContractError) as caught:
        Trade.parse(json.dumps(fields))
    error = caught.value
    assert error.model == "Trade"
    assert error.field == field
    assert f"Trade.{field}" in str(error)
    if value == value:  # NaN is never equal to itself
        assert error.value == value
        assert repr(value) in str(error)


def test_missing_field_is_named():
    fields = trade()
    del fields["is_buyer_maker"]
    with pytest.raises(ContractError, match=r"Trade\.is_buyer_maker: Field required"):
        Trade.parse(json.dumps(fields))


def test_unknown_field_is_refused():
    with pytest.raises(ContractError, match=r"Trade\.colour"):
        Trade.parse(json.dumps(trade(colour="red")))


def test_invalid_json_is_named_as_payload():
    with pytest.raises(ContractError, match=r"Trade\.<payload>: not valid JSON"):
        Trade.parse(b"{not json")


def test_unknown_schema_version_is_refused():
    with pytest.raises(ContractError, match=r"schema_version: .*unsupported"):
        Trade.parse(json.dumps(trade(schema_version=99)))


def test_aggregate_trade_counts_its_run():
    agg = Trade(**trade(first_trade_id=10, last_trade_id=14))
    assert agg.is_aggregate and agg.trade_count == 5
    assert Trade(**trade()).trade_count == 1
    assert agg.dedupe_key != Trade(**trade()).dedupe_key
    with pytest.raises(ContractError, match="come together"):
        Trade.parse(trade(first_trade_id=10))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (candle(open_time_ms=T0 + 1), "not aligned"),
        (candle(close_time_ms=T0 + 60_000), "close_time_ms must be"),
        (candle(high=99.0), "low <= open"),
        (candle(interval="7x"), "unknown interval '7x'"),
        (candle(is_gap_fill=True), "gap-fill candle has no trades"),
    ],
)
def test_inconsistent_candle_is_refused(fields, message):
    with pytest.raises(ContractError, match=message):
        Candle.parse(fields)


def test_feature_vector_refuses_non_finite_values():
    with pytest.raises(ContractError, match="'rsi_14' is not finite"):
        FeatureVector.parse(
            dict(symbol="BTCUSDT", interval="1m", timestamp_ms=T0, feature_set_version="fs-1",
                 values={"rsi_14": float("inf")})
        )


def test_prediction_target_must_follow_as_of():
    with pytest.raises(ContractError, match="target_time_ms must be after"):
        Prediction.parse(prediction(target_time_ms=T0))
