"""`cooptrack serve`: the dashboard and the JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from cooptrack.cli.common import console, open_store


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    public_read: Annotated[bool, typer.Option(
        "--public-read", help="Anyone may read (pages and API) without signing in; changes still need a token.",
    )] = False,
) -> None:
    """Serve the dashboard and the JSON API (/api/v1, documented at /docs)."""
    import uvicorn

    from cooptrack.web import create_app

    store = open_store()
    app = create_app(store, public_read=public_read)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"cooptrack dashboard: http://{shown}:{port}/   API: http://{shown}:{port}/docs   (Ctrl+C stops)")
    if not public_read:
        console.print("Reading needs a token (`cooptrack token create USER`); --public-read opens reading to anyone.")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        store.dispose()
