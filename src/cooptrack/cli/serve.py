"""`cooptrack serve`: the dashboard and the JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from cooptrack.cli.common import console, open_store


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the dashboard and the JSON API (/api/v1, documented at /docs)."""
    import uvicorn

    from cooptrack.web import create_app

    store = open_store()
    app = create_app(store)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"cooptrack dashboard: http://{shown}:{port}/   API: http://{shown}:{port}/docs   (Ctrl+C stops)")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        store.dispose()
