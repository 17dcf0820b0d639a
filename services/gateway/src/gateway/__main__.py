"""``python -m gateway``: the gateway's one entry point."""

from __future__ import annotations

import json
from typing import Annotated

import typer

app = typer.Typer(
    help="Tickcast gateway: HTTP API, live WebSocket and dashboard over the online store.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [default: GATEWAY_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: GATEWAY_PORT].")] = None,
) -> None:
    """Serve the API, the WebSocket feed and the dashboard (one process, one Redis subscription)."""
    import uvicorn

    from gateway.app import create_app
    from gateway.config import GatewaySettings
    from tickcast.logging import configure_logging

    settings = GatewaySettings()
    configure_logging(settings.log_level, settings.log_format, service="gateway")
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=settings.port if port is None else port,
        log_config=None,  # uvicorn's records go through the structured handler configured above
        access_log=False,  # request counts and latencies are in /metrics
        ws_ping_interval=20,
    )


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (JSON) without starting a server or touching Redis."""
    from gateway.app import create_app

    typer.echo(json.dumps(create_app().openapi(), indent=2))


if __name__ == "__main__":
    app()
