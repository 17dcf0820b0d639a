"""The REST client reads the exchange's weight header and waits when its budget is used."""

from __future__ import annotations

import pytest

from trade_producer.exchange.rest import ExchangeRest

from .fake_binance import FakeBinance

pytestmark = pytest.mark.integration


@pytest.mark.asyncio
async def test_used_weight_header_pauses_calls_once_the_budget_is_reached() -> None:
    pauses: list[float] = []

    async def record_pause(seconds: float) -> None:
        pauses.append(seconds)

    with FakeBinance({"BTCUSDT": 1}) as fake:
        rest = ExchangeRest.connect(fake.api_url, weight_budget=50, sleep=record_pause)
        try:
            for _ in range(3):  # 20 weight each: 20, 40, 60
                assert await rest.trading_symbols() == {"BTCUSDT"}
            assert rest.used_weight == 60 and pauses == []
            await rest.trading_symbols()  # over budget: must wait for the next minute window first
        finally:
            await rest.close()

    assert len(pauses) == 1 and 0 < pauses[0] <= 60.05
    assert [r.path for r in fake.requests] == ["exchangeInfo"] * 4
