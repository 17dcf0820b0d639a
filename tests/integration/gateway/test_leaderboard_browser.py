"""The leaderboard and the model picker in headless Chromium (Debian's ``chromium``, as the dashboard test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from integration.gateway.test_dashboard_browser import VENDOR_BUNDLE, WAIT_MS, Browser, browser  # noqa: F401
from integration.gateway.test_leaderboard import NAME, inference_store, serve  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_leaderboard_reads_as_a_table_and_the_picker_follows_a_challenger(
    browser: Browser, gateway, store_writer, inference_store, tmp_path: Path  # noqa: F811
) -> None:
    if not VENDOR_BUNDLE.exists():
        pytest.skip("the chart library is not built: run services/gateway/frontend/build.sh")
    store_writer.set_served_model(NAME, "3", {}, horizon=5, interval="1m", lag_window=1)
    champion, challenger = serve(store_writer, inference_store)
    page = browser.page
    page.goto(f"{gateway.url}/?symbol=BTCUSDT")

    page.wait_for_selector("body[data-leaderboard-rows='3']", timeout=WAIT_MS)
    page.wait_for_selector(f"body[data-predictions='{len(champion)}']", timeout=WAIT_MS)
    rows = page.locator("#leaderboard-table tbody tr").all_inner_texts()
    by_model = {row.split("\n")[0]: row for row in rows}
    assert set(by_model) == {f"{NAME} v3", f"{NAME} v4", "persistence"}
    assert "champion" in by_model[f"{NAME} v3"] and "challenger (shadow)" in by_model[f"{NAME} v4"]
    for row in rows:  # named units, readable numbers: percentages, an interval, a whole count
        assert re.search(r"\d+\.\d{3} %", row) and re.search(r"\d+\.\d % – \d+\.\d %", row) and row.endswith("6")
    assert "+0.0 %" in by_model["persistence"]
    header = page.locator("#leaderboard-table thead").inner_text()
    assert "MAE (return)" in header and "skill vs no-change" in header and "(95 % interval)" in header
    table = page.locator("#leaderboard-table").bounding_box()
    panel = page.locator("#leaderboard").bounding_box()
    assert table["x"] + table["width"] <= panel["x"] + panel["width"] + 1  # the table fits its panel
    assert "Live promotion on" in page.locator("#leaderboard-promotion").inner_text()
    options = page.locator("#model option").all_inner_texts()
    assert options == [f"champion — {NAME} v3", f"challenger — {NAME} v4", "no-change baseline (persistence)"]
    assert {t for t in page.locator("#predictions tbody td:nth-child(9)").all_inner_texts()} == {f"{NAME} v3"}

    # Following the challenger: its predictions in the table, its feed live, the choice in the address.
    page.select_option("#model", "4")
    page.wait_for_selector("body[data-model='4'][data-feed='open']", timeout=WAIT_MS)
    page.wait_for_function(
        f"[...document.querySelectorAll('#predictions tbody td:nth-child(9)')].every(c => c.textContent === '{NAME} v4')",
        timeout=WAIT_MS)
    assert "model=4" in page.url
    assert page.locator("#leaderboard-table tr.followed").inner_text().startswith(f"{NAME} v4")
    store_writer.wait_for_subscribers(1)
    newest = challenger[-1].model_copy(update={"as_of_ms": challenger[-1].as_of_ms + 60_000,
                                                "target_time_ms": challenger[-1].target_time_ms + 60_000})
    inference_store.write_batch([], [], [], shadow=[newest])
    page.wait_for_selector(f"body[data-predictions='{len(challenger) + 1}']", timeout=WAIT_MS)
    page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)
    print(f"leaderboard screenshot: {tmp_path / 'leaderboard.png'}")

    page.select_option("#model", "persistence")
    page.wait_for_function(
        "[...document.querySelectorAll('#predictions tbody td:nth-child(9)')].every(c => c.textContent === "
        "'persistence vbaseline')", timeout=WAIT_MS)
    assert browser.script_errors == []
