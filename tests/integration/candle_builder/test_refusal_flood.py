"""Ten thousand late trades: all counted, all dead-lettered, and a handful of log lines that add up to them."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from integration.candle_builder.harness import (
    free_port,
    produce_trades,
    read_dead_letters,
    running,
    wait_for,
)
from tickcast.contracts import Trade
from tickcast.settings import KafkaSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MINUTE = 60_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
LATE = 10_000
EVENT = "trades refused (in the dead-letter topic)"


def trade(trade_id: int, ts: int) -> Trade:
    return Trade(symbol="BTCUSDT", trade_id=trade_id, price=100.0, quantity=1.0, quote_quantity=100.0,
                 timestamp_ms=ts, is_buyer_maker=True, source="replay")


def late_total(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("candle_builder_trades_late_total"))


def refusal_lines(log_path: Path) -> list[dict]:
    lines = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and EVENT in line:
            lines.append(json.loads(line))
    return lines


def test_ten_thousand_late_trades_make_a_handful_of_lines(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    # Minute 0 opens, minute 10 closes it (grace 2 s); then ten thousand trades for minute 0.
    trades = [trade(1, T0 + 1_000), trade(2, T0 + 10 * MINUTE)]
    trades += [trade(3 + n, T0 + 30_000) for n in range(LATE)]
    produce_trades(kafka_settings, trades)
    port = free_port()
    with running(tmp_path, CANDLE_INTERVALS="1m", CANDLE_GRACE_MS="2000", METRICS_PORT=str(port),
                 LOG_FORMAT="json", LOG_REPEAT_INTERVAL_S="2") as service:
        letters = read_dead_letters(kafka_settings, expected=LATE, timeout=180)
        wait_for(lambda: late_total(port) == LATE, 60, "every late trade counted")
        # The folded ones are written once their interval has passed.
        wait_for(lambda: sum(line["count"] for line in refusal_lines(service.log_path)) == LATE, 30,
                 "the log lines to account for every late trade")
        service.assert_alive()

    assert len(letters) == LATE
    assert {letter.error_type for letter in letters} == {"LateTrade"}
    assert sorted(json.loads(letter.payload)["trade_id"] for letter in letters) == list(range(3, 3 + LATE))
    lines = refusal_lines(service.log_path)
    assert 1 < len(lines) <= 10, [(line["count"], line["over_s"]) for line in lines]
    assert lines[0]["count"] == 1 and lines[0]["kind"] == "LateTrade"
    assert all(line["level"] == "warning" and line["kind"] == "LateTrade" for line in lines)
