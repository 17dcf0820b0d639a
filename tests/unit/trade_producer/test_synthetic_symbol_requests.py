"""What the synthetic feed does with a symbol request, without a broker."""

from __future__ import annotations

from tickcast.control import SymbolRequest
from trade_producer.synthetic.symbol_requests import decide

T = 1_767_225_600_000


def _request(symbol: str) -> bytes:
    return SymbolRequest(symbol=symbol, requested_at_ms=T).to_json_bytes()


def test_any_valid_symbol_is_added_once() -> None:
    decision = decide(_request("SOLUSDT"), streamed={"BTCUSDT"})
    assert (decision.action, decision.symbol, decision.requested_at_ms) == ("add", "SOLUSDT", T)
    assert decide(_request("BTCUSDT"), streamed={"BTCUSDT"}).action == "streamed"


def test_a_payload_outside_the_contract_is_refused_with_the_reason() -> None:
    decision = decide(b'{"symbol": "sol/usdt", "requested_at_ms": 1767225600000}', streamed=set())
    assert decision.action == "refuse"
    assert "SymbolRequest.symbol" in decision.reason
