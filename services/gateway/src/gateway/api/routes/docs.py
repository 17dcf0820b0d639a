"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with their assets from ``/static/vendor``.

FastAPI's defaults load both from a CDN (and ReDoc's fonts from Google), which leaves the pages
blank without a network. The frontend build (``services/gateway/frontend/build.sh``) copies the
npm packages' bundles into ``static/vendor``; without them the pages say how to build them.

Both pages carry a Content-Security-Policy that lets them load only from the gateway itself:
ReDoc's sidebar links Redocly's logo from their CDN, and no option turns it off; the browser
does not even ask for it (the link stays, without its image).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

VENDOR = files("gateway") / "static" / "vendor"
_ASSETS = {"/docs": ["swagger-ui-bundle.js", "swagger-ui.css"], "/redoc": ["redoc.standalone.js"]}
_FAVICON = "/static/vendor/favicon-32x32.png"
# Inline script and styles: the pages' own bootstrap script, and the styles both UIs inject.
# blob: workers: ReDoc's search index.
OWN_ORIGIN_ONLY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def _own_origin_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = OWN_ORIGIN_ONLY
    return page


def _missing(page: str) -> HTMLResponse | None:
    absent = [name for name in _ASSETS[page] if not (VENDOR / name).is_file()]
    if not absent:
        return None
    return HTMLResponse(
        "<!doctype html><title>API documentation not built</title><h1>API documentation not built</h1>"
        f"<p>Missing from static/vendor: {', '.join(absent)}. "
        "Run <code>services/gateway/frontend/build.sh</code> (or <code>make install</code>) and reload; "
        "the raw document is at <a href='/openapi.json'>/openapi.json</a>.</p>",
        status_code=503,
    )


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    return _missing("/docs") or _own_origin_only(get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API",
        swagger_js_url="/static/vendor/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui.css",
        swagger_favicon_url=_FAVICON,
        oauth2_redirect_url="/docs/oauth2-redirect",
    ))


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    return _missing("/redoc") or _own_origin_only(get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API reference",
        redoc_js_url="/static/vendor/redoc.standalone.js",
        redoc_favicon_url=_FAVICON,
        with_google_fonts=False,
    ))
