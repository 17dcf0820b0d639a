"""The dashboard in headless Chromium: the chart and the table fill from Redis, then update live;
metrics read as a person would say them, predictions show their outcome, stale data is flagged.

Uses Debian's ``chromium`` (``apt-get install -y chromium``), never a downloaded browser build.
The screenshot is saved in pytest's temporary directory and its path printed.
"""

from __future__ import annotations

import math
import random
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import gateway as gateway_package
from gateway.config import GatewaySettings
from tickcast.contracts import Trade
from tickcast.kafka import CheckedProducer
from tickcast.topics import Topic


if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VENDOR_BUNDLE = (
    Path(gateway_package.__file__).parent / "static/vendor/lightweight-charts.standalone.production.js"
)
WAIT_MS = 15_000
T0_MS = 1_767_225_600_000  # the store writer's first candle (conftest T0)


@dataclass
class Browser:
    page: Page
    script_errors: list[str] = field(default_factory=list)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            opened = Browser(chromium.new_page(viewport={"width": 1280, "height": 900}, locale="en-US"))
            opened.page.on("pageerror", lambda error: opened.script_errors.append(str(error)))
            yield opened
        finally:
            chromium.close()


OFFLINE_METRICS = {  # as training records them
    "test_n": 1234.0, "test_mae": 0.00041, "test_mae_persistence": 0.00044, "test_skill": 0.061,
    "test_directional_accuracy": 0.552, "test_directional_ci_low": 0.524, "test_directional_ci_high": 0.58,
    "test_mae_h5": 0.00041, "test_trades": 87.0, "test_strategy_return": 0.0123,
}


def _fill_store(store_writer) -> list:
    store_writer.set_served_model("tickcast-1m-h5", "3", OFFLINE_METRICS, horizon=5, interval="1m", lag_window=16)
    store_writer.set_live_metrics(
        "tickcast-1m-h5",
        "BTCUSDT",
        model_version="3",
        mae=0.00052,
        persistence_mae=0.00061,
        skill=0.148,
        hit_rate=0.57,
        count=58,
    )
    walk = random.Random(7)
    closes = [42_000.0]
    for _ in range(60):
        closes.append(round(closes[-1] + walk.gauss(0, 25), 2))
    store_writer.add_candles(
        *(store_writer.candle("BTCUSDT", index=i, open_=closes[i], close=closes[i + 1]) for i in range(60))
    )
    store_writer.add_candles(store_writer.candle("ETHUSDT", index=0, close=2_300.0))
    predictions = [
        store_writer.prediction(
            "BTCUSDT", minute=i, price=round(closes[i + 1] + walk.gauss(0, 20), 2), model_version="3"
        )
        for i in range(40, 60)
    ]
    store_writer.add_predictions(*predictions)
    return predictions


@pytest.fixture
def watched_gateway(kafka_settings, topics, redis_settings, start_gateway):
    """A gateway on this test's topics too, reading the trades topic's end often."""
    return start_gateway(GatewaySettings(freshness_interval_s=0.2))


def _trades(kafka_settings, topics, trades: dict[str, tuple[int, int]]) -> None:
    """One trade per symbol: (its own time, when it reached the topic)."""
    producer = CheckedProducer(kafka_settings)
    for symbol, (at_ms, received_ms) in trades.items():
        trade = Trade(symbol=symbol, trade_id=1, price=100.0, quantity=1.0, quote_quantity=100.0, timestamp_ms=at_ms,
                      is_buyer_maker=False, source="live")
        producer.send(topics(Topic.TRADES), trade, timestamp_ms=received_ms)
    producer.flush()


def test_the_dashboard_draws_the_store_and_follows_the_live_feed(
    browser: Browser, watched_gateway, kafka_settings, topics, store_writer, tmp_path: Path
) -> None:
    if not VENDOR_BUNDLE.exists():
        pytest.skip("the chart library is not built: run services/gateway/frontend/build.sh")
    gateway = watched_gateway
    page = browser.page
    predictions = _fill_store(store_writer)
    now = int(time.time() * 1000)
    # The candles are of 2026-01-01 (a replay): BTCUSDT's trades arrive now and its candles keep up with them;
    # ETHUSDT's last trade arrived ten minutes ago.
    t0 = store_writer.candle(index=0).open_time_ms
    _trades(kafka_settings, topics, {"BTCUSDT": (t0 + 60 * 60_000 + 5_000, now - 1_000),
                                     "ETHUSDT": (t0 + 30_000, now - 10 * 60_000)})

    page.goto(f"{gateway.url}/?symbol=BTCUSDT")

    page.wait_for_selector("body[data-chart='ready']", timeout=WAIT_MS)
    page.wait_for_selector("body[data-candles='60']", timeout=WAIT_MS)
    page.wait_for_selector(f"body[data-predictions='{len(predictions)}']", timeout=WAIT_MS)
    page.wait_for_selector("body[data-feed='open']", timeout=WAIT_MS)
    assert page.locator("#chart canvas").count() > 0
    assert page.locator("#predictions tbody tr").count() == len(predictions)
    facts = page.locator("#model-facts").inner_text()
    assert facts.count("tickcast-1m-h5") == 1
    assert re.search(r"horizon\s+5 min", facts) and re.search(r"loaded\s+01 Jan, 00:00:00 UTC", facts)
    # Metrics named for people, with units; counts as integers.
    live = page.locator("#live-metrics").inner_text()
    assert re.search(r"skill vs no-change\s+\+14\.8 %", live) and re.search(r"predictions scored\s+58\n", live + "\n")
    assert re.search(r"direction right\s+57\.0 %", live) and re.search(r"MAE \(return\)\s+0\.052 %", live)
    assert "horizon 5 min" in page.locator("#live-symbol").inner_text()
    offline = page.locator("#offline-metrics").inner_text()
    assert re.search(r"MAE, horizon 5 min\s+0\.041 %", offline) and re.search(r"test samples\s+1,234\n", offline)
    assert re.search(r"strategy trades\s+87\n", offline) and "52.4 % – 58.0 %" in offline
    assert "test_" not in page.locator("body").inner_text()
    assert page.locator("#symbol option").all_inner_texts() == ["BTCUSDT", "ETHUSDT"]

    # Prices at the symbol's tick size (0.01 here), and each prediction's outcome once its target candle closed.
    assert page.get_attribute("body", "data-decimals") == "2"
    rows = page.locator("#predictions tbody tr")
    pending = rows.filter(has=page.locator("td:text('pending')")).count()
    assert pending == 5  # targets beyond the newest candle (minutes 60 to 64)
    by_as_of = {p.as_of_ms: p for p in predictions}
    first_known = page.locator("#predictions tbody tr[data-outcome='known']").first
    prediction = by_as_of[int(first_known.get_attribute("data-as-of"))]
    actual = _stored_close(store_writer, prediction.target_time_ms)
    assert f"{actual:,.2f}" in first_known.inner_text()
    assert "(UTC)" in page.locator("#predictions thead").inner_text()

    # No empty band under the chart: it fills its panel, however tall the model panel is.
    chart_box = page.locator("#chart").bounding_box()
    panel_box = page.locator(".chart-panel").bounding_box()
    assert panel_box["y"] + panel_box["height"] - (chart_box["y"] + chart_box["height"]) < 20

    # BTCUSDT's trades are fresh: no warning.
    page.wait_for_selector("body[data-stale='fresh']", timeout=WAIT_MS)
    assert not page.locator("#stale-banner").is_visible()

    # A prediction published now appears at the top of the table without a reload.
    store_writer.wait_for_subscribers(1)
    live = store_writer.prediction("BTCUSDT", minute=60, price=41_987.65, model_version="3")
    store_writer.add_predictions(live)
    store_writer.publish(live)
    page.wait_for_selector(f"body[data-predictions='{len(predictions) + 1}']", timeout=WAIT_MS)
    newest_row = page.locator("#predictions tbody tr").first
    assert newest_row.get_attribute("data-as-of") == str(live.as_of_ms)
    assert "41,987.65" in newest_row.inner_text()

    screenshot = tmp_path / "dashboard.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"dashboard screenshot: {screenshot}")
    assert screenshot.stat().st_size > 20_000  # a drawn chart, not an empty page

    # The selector switches the chart, the table and the feed to another symbol: its last trade is
    # ten minutes old, and the dashboard says so in plain sight.
    page.select_option("#symbol", "ETHUSDT")
    page.wait_for_selector("body[data-candles='1'][data-predictions='0']", timeout=WAIT_MS)
    page.wait_for_selector("body[data-feed='open']", timeout=WAIT_MS)
    page.wait_for_selector("body[data-stale='stale']", timeout=WAIT_MS)
    stale = page.locator("#stale-banner")
    assert stale.is_visible()
    assert stale.inner_text().startswith("STALE DATA — ETHUSDT: no trade received for 10 min")
    assert page.locator("#feed").inner_text() == "feed: stale"
    page.screenshot(path=str(tmp_path / "dashboard-stale.png"), full_page=False)
    print(f"stale dashboard screenshot: {tmp_path / 'dashboard-stale.png'}")
    store_writer.wait_for_subscribers(1)
    eth = store_writer.prediction("ETHUSDT", minute=1, price=2_301.5)
    store_writer.publish(eth)
    page.wait_for_selector("body[data-predictions='1']", timeout=WAIT_MS)
    assert "ETHUSDT" in page.url
    assert browser.script_errors == []


def _stored_close(store_writer, open_time_ms: int) -> float:
    from tickcast.contracts import Candle

    [member] = store_writer.client.zrangebyscore(store_writer.keys.candles("BTCUSDT", "1m"), open_time_ms, open_time_ms)
    return Candle.parse(member).close


def test_without_the_chart_bundle_the_page_says_how_to_build_it(
    browser: Browser, gateway, store_writer
) -> None:
    page = browser.page
    _fill_store(store_writer)
    # As if services/gateway/frontend/build.sh had never run: the bundle is not there.
    page.route("**/static/vendor/**", lambda route: route.fulfill(status=404, body="not found"))

    page.goto(gateway.url)

    page.wait_for_selector("body[data-chart='missing-library']", timeout=WAIT_MS)
    assert "services/gateway/frontend/build.sh" in page.locator("#notice").inner_text()
    # The rest of the dashboard still works.
    page.wait_for_selector("body[data-predictions='20']", timeout=WAIT_MS)


def test_the_dashboard_labels_synthetic_and_replayed_prices_and_not_exchange_ones(
    browser: Browser, gateway, store_writer
) -> None:
    if not VENDOR_BUNDLE.exists():
        pytest.skip("the chart library is not built: run services/gateway/frontend/build.sh")
    sources = {"BTCUSDT": "binance", "ETHUSDT": "synthetic", "SOLUSDT": "replay"}
    for symbol, source in sources.items():
        store_writer.add_candles(
            *(store_writer.candle(symbol, index=i, close=100.0 + i, source=source) for i in range(5))
        )
        store_writer.add_predictions(store_writer.prediction(symbol, minute=4, price=104.5, source=source))
    page = browser.page
    banner = page.locator("#source-banner")
    badge = page.locator("#source")

    page.goto(f"{gateway.url}/?symbol=ETHUSDT")
    page.wait_for_selector("body[data-candles='5'][data-source='synthetic']", timeout=WAIT_MS)
    assert banner.is_visible()
    assert "SYNTHETIC DATA — not market prices" in banner.inner_text()
    assert "ETHUSDT" in banner.inner_text()
    assert badge.inner_text() == "SYNTHETIC DATA"
    # Unmissable: a filled red banner, not a footnote.
    assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(142, 28, 28)"

    page.select_option("#symbol", "BTCUSDT")
    page.wait_for_selector("body[data-source='binance']", timeout=WAIT_MS)
    assert not banner.is_visible()
    assert badge.inner_text() == "Binance market data"

    page.select_option("#symbol", "SOLUSDT")
    page.wait_for_selector("body[data-source='replay']", timeout=WAIT_MS)
    assert banner.is_visible()
    assert "HISTORICAL REPLAY" in banner.inner_text()

    # A synthetic prediction arriving live for an exchange symbol raises the banner at once.
    page.select_option("#symbol", "BTCUSDT")
    page.wait_for_selector("body[data-source='binance'][data-feed='open']", timeout=WAIT_MS)
    store_writer.wait_for_subscribers(1)
    store_writer.publish(store_writer.prediction("BTCUSDT", minute=5, price=105.0, source="synthetic"))
    page.wait_for_selector("body[data-source='synthetic']", timeout=WAIT_MS)
    assert banner.is_visible()
    assert browser.script_errors == []


def _with_bands(prediction, close: float, sigma: float):
    """``prediction`` carrying a 1- and a 5-minute distribution forecast around ``close``."""
    from tickcast.contracts import DistributionForecast

    z = (-1.645, -1.2816, -0.6745, 0.0, 0.6745, 1.2816, 1.645)
    forecasts = []
    for horizon in (1, 5):
        returns = [round(k * sigma * math.sqrt(horizon), 8) for k in z]
        forecasts.append(DistributionForecast(
            horizon=horizon, target_time_ms=prediction.as_of_ms + horizon * 60_000,
            return_quantiles=returns, price_quantiles=[close * math.exp(r) for r in returns],
            p_up=0.45, p_down=0.44, dead_band=5e-4, forecast_volatility=sigma * math.sqrt(horizon),
            forecasters={"distribution": "baseline student_t", "volatility": "tickcast-forecast-btcusdt-1m v2 har",
                         "probability": "baseline trailing_frequency"}))
    return prediction.model_copy(update={"forecasts": forecasts})


def test_the_dashboard_draws_the_forecast_fan_and_the_live_calibration(
    browser: Browser, gateway, store_writer, tmp_path: Path
) -> None:
    if not VENDOR_BUNDLE.exists():
        pytest.skip("the chart library is not built: run services/gateway/frontend/build.sh")
    walk = random.Random(11)
    closes = [42_000.0]
    for _ in range(60):
        closes.append(round(closes[-1] + walk.gauss(0, 25), 2))
    store_writer.add_candles(
        *(store_writer.candle("BTCUSDT", index=i, open_=closes[i], close=closes[i + 1]) for i in range(60))
    )
    # Made at the close of candle i (open time minute i); the 5-minute band targets candle i + 5.
    sigma = 25 / 42_000
    predictions = [_with_bands(store_writer.prediction("BTCUSDT", minute=i, price=closes[i + 1]), closes[i + 1], sigma)
                   for i in range(20, 60)]
    store_writer.add_predictions(*predictions)
    for horizon, cover80, cover90 in ((1, 0.805, 0.9), (5, 0.71, 0.84)):
        store_writer.set_forecast_live_score("BTCUSDT", horizon, "distribution", "baseline student_t",
                                             {"coverage_80": cover80, "coverage_90": cover90, "pinball": 2.1e-4},
                                             120, T0_MS + 60 * 60_000)
        store_writer.set_forecast_live_score("BTCUSDT", horizon, "volatility", "tickcast-forecast-btcusdt-1m v2 har",
                                             {"qlike": 0.31}, 120, T0_MS + 60 * 60_000)
        store_writer.set_forecast_live_score("BTCUSDT", horizon, "probability", "baseline trailing_frequency",
                                             {"brier": 0.247}, 120, T0_MS + 60 * 60_000)
    page = browser.page

    page.goto(f"{gateway.url}/?symbol=BTCUSDT")

    page.wait_for_selector("body[data-chart='ready'][data-candles='60'][data-predictions='40']", timeout=WAIT_MS)
    # 40 five-minute bands, one per target time; the 35 whose candle closed are inside or outside.
    page.wait_for_selector("body[data-fan-points='40']", timeout=WAIT_MS)
    body = page.locator("body")
    inside, outside = int(body.get_attribute("data-fan-inside")), int(body.get_attribute("data-fan-outside"))
    assert inside + outside == 35 and inside > 0
    expected_inside = sum(
        p.forecasts[1].price_quantiles[1] <= closes[(p.as_of_ms - T0_MS) // 60_000 + 5 + 1]
        <= p.forecasts[1].price_quantiles[5]
        for p in predictions if (p.as_of_ms - T0_MS) // 60_000 + 5 < 60)
    assert inside == expected_inside
    assert f"inside the 80 % band {inside} of 35" in page.locator("#fan-summary").inner_text()

    page.wait_for_selector("body[data-calibration-rows='2']", timeout=WAIT_MS)
    rows = page.locator("#calibration tbody tr").all_inner_texts()
    assert rows[0].split("\t")[:3] == ["1 min", "80.5 %", "90.0 %"]
    assert rows[1].split("\t")[:3] == ["5 min", "71.0 %", "84.0 %"]
    assert page.locator("#calibration tbody tr").nth(1).locator("td.off").count() == 2  # 9 and 6 points off
    served = page.locator("#forecasters tbody tr").all_inner_texts()
    assert [row.split("\t")[:2] for row in served] == [["price band", "baseline"], ["volatility", "model"],
                                                       ["P(up)", "baseline"]]
    assert "tickcast-forecast-btcusdt-1m v2 har" in served[1]

    # P(up) is 0.45 in every forecast: one reliability bin, its observed share of rises computed here.
    page.wait_for_selector("body[data-reliability-rows='1']", timeout=WAIT_MS)
    matured = [i for i in range(20, 55)]
    rose = sum(math.log(closes[i + 6] / closes[i + 1]) > 5e-4 for i in matured)
    assert page.locator("#reliability tbody tr").inner_text().split("\t") == [
        "40–60 %", "45.0 %", f"{100 * rose / len(matured):.1f} %", str(len(matured))]

    # Another horizon redraws the bands from the same predictions.
    page.select_option("#fan-horizon", "1")
    page.wait_for_selector("body[data-fan-points='40'][data-fan-outside]", timeout=WAIT_MS)
    assert "1 min ahead" in page.locator("#fan-summary").inner_text()
    page.select_option("#fan-horizon", "5")

    screenshot = tmp_path / "dashboard-forecasts.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"dashboard screenshot: {screenshot}")
    assert browser.script_errors == []
