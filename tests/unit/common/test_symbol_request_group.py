"""The gateway asks the broker about the same consumer group the trade producer's listener joins."""

from __future__ import annotations

from tickcast.control import symbol_request_group
from tickcast.settings import KafkaSettings
from trade_producer.symbol_requests import control_group


def test_gateway_and_trade_producer_name_the_same_listener_group() -> None:
    for prefix in ("", "stack-a-"):
        assert control_group(KafkaSettings(topic_prefix=prefix)) == symbol_request_group(prefix)
