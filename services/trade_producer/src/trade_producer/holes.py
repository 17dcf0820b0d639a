"""Trades the exchange could not deliver: counted, logged and recorded where a user sees them.

Once later trades of a symbol are on the topic, a hole behind them can never be filled
there (the topic holds each symbol's trades in id order, and ids at or below the last one
are skipped as duplicates). So a hole is never passed over quietly: it is counted in
``trade_producer_missing_trades_total``, logged as an error, and written to ``trades.dlq``
as a dead letter with ``error_type="MissingTrades"`` whose payload names the ids.
"""

from __future__ import annotations

import json

import structlog

from tickcast.contracts import TradeSource
from tickcast.kafka import make_dead_letter
from trade_producer.metrics import MISSING_TRADES, TRADE_HOLES
from trade_producer.sink import TradeSink

log = structlog.get_logger(__name__)

SERVICE = "trade_producer"
ERROR_TYPE = "MissingTrades"


class HoleRecorder:
    def __init__(self, sink: TradeSink, dead_letter_topic: str) -> None:
        self._sink = sink
        self._topic = dead_letter_topic
        self.recorded = 0  # trades recorded missing by this process

    async def record(self, symbol: str, first_id: int, last_id: int, stage: TradeSource, why: str) -> None:
        missing = last_id - first_id + 1
        if missing <= 0:
            return
        MISSING_TRADES.labels(symbol, stage).inc(missing)
        TRADE_HOLES.labels(symbol, stage).inc()
        self.recorded += missing
        log.error(
            "trades missing, hole recorded on the dead-letter topic",
            symbol=symbol, first_missing_id=first_id, last_missing_id=last_id, missing=missing, stage=stage,
            why=why, topic=self._topic,
        )  # fmt: skip
        payload = {
            "symbol": symbol,
            "first_missing_id": first_id,
            "last_missing_id": last_id,
            "missing": missing,
            "stage": stage,
        }
        letter = make_dead_letter(
            source_topic=self._sink.topic,
            partition=None,
            offset=None,
            key=symbol.encode(),
            value=json.dumps(payload).encode(),
            reason=f"trade ids {first_id}..{last_id} ({missing}) never arrived: {why}",
            error_type=ERROR_TYPE,
            service=SERVICE,
        )
        await self._sink.hand_over(self._topic, letter.key, letter.to_json_bytes())
