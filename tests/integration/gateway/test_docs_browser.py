"""/docs and /redoc in headless Chromium, offline: both draw the API from assets the gateway serves itself.

Every request the page makes is recorded; any to another host fails the test (and is refused, as it
would be without a network). The pages' Content-Security-Policy keeps the browser from even asking
another host (ReDoc links Redocly's logo from a CDN). The dashboard's "API" link leads to the working page.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

import gateway as gateway_package
from integration.gateway.test_dashboard_browser import WAIT_MS, Browser, browser  # noqa: F401 - the fixture

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VENDOR = Path(gateway_package.__file__).parent / "static" / "vendor"


def _offline(page, gateway_url: str) -> list[str]:
    """Refuse every request to another host, and list them."""
    own = urlsplit(gateway_url).netloc
    foreign: list[str] = []

    def route(route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == own:
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    page.route("**/*", route)
    return foreign


def test_swagger_ui_lists_every_operation_with_no_external_request(
    browser: Browser, gateway, tmp_path: Path  # noqa: F811
) -> None:
    if not (VENDOR / "swagger-ui-bundle.js").exists():
        pytest.skip("the docs assets are not built: run services/gateway/frontend/build.sh")
    page = browser.page
    foreign = _offline(page, gateway.url)

    page.goto(f"{gateway.url}/")
    page.click("a[href='/docs']")  # the dashboard's API link
    page.wait_for_url(f"{gateway.url}/docs")
    page.wait_for_selector(".opblock", timeout=WAIT_MS)

    operations = {
        (block.locator(".opblock-summary-method").inner_text(), block.locator(".opblock-summary-path").inner_text())
        for block in page.locator(".opblock").all()
    }
    spec = page.evaluate("() => fetch('/openapi.json').then(r => r.json())")
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert {(m, p.replace("\u200b", "")) for m, p in operations} == documented
    assert ("GET", "/predictions/{symbol}/latest") in documented
    page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
    print(f"docs screenshot: {tmp_path / 'docs.png'}")
    assert foreign == []
    assert browser.script_errors == []


def test_redoc_renders_the_reference_with_no_external_request(browser: Browser, gateway) -> None:  # noqa: F811
    if not (VENDOR / "redoc.standalone.js").exists():
        pytest.skip("the docs assets are not built: run services/gateway/frontend/build.sh")
    page = browser.page
    foreign = _offline(page, gateway.url)

    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    response = page.goto(f"{gateway.url}/redoc")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("h2:has-text('Newest prediction of a symbol')", timeout=WAIT_MS)
    assert page.locator("h1").first.inner_text().startswith("Tickcast gateway")
    assert foreign == []
    # What the policy held back: only Redocly's logo, nothing the reference needs.
    blocked = [line for line in console if "Content Security Policy" in line]
    assert all("cdn.redoc.ly" in line for line in blocked), blocked
    assert browser.script_errors == []


def test_without_the_assets_the_docs_page_says_how_to_build_them(gateway, monkeypatch, tmp_path: Path) -> None:
    import httpx

    from gateway.api.routes import docs

    monkeypatch.setattr(docs, "VENDOR", tmp_path)  # as if the frontend build had never run
    answer = httpx.get(f"{gateway.url}/docs", timeout=10)
    assert answer.status_code == 503 and "services/gateway/frontend/build.sh" in answer.text
