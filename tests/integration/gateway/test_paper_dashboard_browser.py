"""The dashboard's paper-trading section in headless Chromium: labelled as simulated, the models listed with
their figures in units, the equity curve drawn against buy-and-hold; the screenshot path is printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from integration.gateway.test_dashboard_browser import VENDOR_BUNDLE, WAIT_MS, Browser, browser  # noqa: F401
from integration.gateway.test_paper import write_book
from tickcast.paper_trading import PAPER_TRADING_NOTICE

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_dashboard_plots_paper_portfolios_labelled_as_simulated(
    browser: Browser, gateway, store_writer, tmp_path: Path  # noqa: F811
) -> None:
    if not VENDOR_BUNDLE.exists():
        pytest.skip("the chart library is not built: run services/gateway/frontend/build.sh")
    store_writer.set_served_model("tickcast-1m-h5", "3", {}, horizon=5)
    store_writer.add_candles(*(store_writer.candle("BTCUSDT", index=i, close=42_000.0 + i) for i in range(3)))
    write_book(store_writer, "3", "BTCUSDT", [0.999, 1.1, 0.99], [0.999, 1.05, 1.0], trades=3, fees_paid=0.00291,
               turnover=3.0, max_drawdown=0.1, candles_in_market=1)
    write_book(store_writer, "baseline", "BTCUSDT", [1.0, 1.0, 1.0], [0.999, 1.05, 1.0])
    page = browser.page

    page.goto(f"{gateway.url}/?symbol=BTCUSDT")

    page.wait_for_selector("body[data-paper-models='2'][data-paper-points='3']", timeout=WAIT_MS)
    assert page.locator("body").get_attribute("data-paper-model") == "tickcast-1m-h5@3"  # the champion first
    assert PAPER_TRADING_NOTICE in page.locator("#paper h2").inner_text()
    rows = page.locator("#paper-models tbody tr")
    assert rows.count() == 2
    champion = [cell.strip() for cell in rows.nth(0).locator("td").all_inner_texts()]
    assert champion == ["tickcast-1m-h5@3", "champion", "-1.00 %", "0.00 %", "10.00 %", "3.0×", "0.291 %", "3",
                        "50 %"]
    assert page.locator("#paper-chart canvas").count() > 0 and page.locator("#paper-empty").is_hidden()

    page.select_option("#paper-scope", "ALL")
    page.wait_for_function("document.body.dataset.paperPoints === '3'", timeout=WAIT_MS)
    page.select_option("#paper-model", "persistence-baseline@baseline")
    page.wait_for_selector("body[data-paper-model='persistence-baseline@baseline']", timeout=WAIT_MS)
    assert browser.script_errors == []
    shot = tmp_path / "dashboard-paper.png"
    page.locator("#paper").screenshot(path=str(shot))
    print(f"screenshot: {shot}")
