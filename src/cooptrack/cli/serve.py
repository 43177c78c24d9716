"""`cooptrack serve`: the dashboard and the JSON API."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cooptrack.cli.common import console, open_store


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    public_read: Annotated[bool, typer.Option(
        "--public-read", help="Anyone may read (pages and API) without signing in; changes still need a token.",
    )] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (use several on PostgreSQL).")] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error (JSON lines on standard error).")]
    = "info",
) -> None:
    """Serve the dashboard and the JSON API (/api/v1, documented at /docs)."""
    import uvicorn

    from cooptrack.web import logs

    store = open_store()  # refuse at once, with the reason, when the database is not ready
    dialect = store.dialect
    store.dispose()
    os.environ["COOPTRACK_PUBLIC_READ"] = "1" if public_read else "0"
    os.environ["COOPTRACK_LOG_LEVEL"] = log_level
    # Several processes: each runs its hot reads on its event loop's thread (no thread switches);
    # one process keeps them in threads, so that a long read does not hold up the others.
    os.environ.setdefault("COOPTRACK_READ_THREADS", "off" if workers > 1 else "on")
    shown = f"[{host}]" if ":" in host else host
    console.print(f"cooptrack dashboard: http://{shown}:{port}/   API: http://{shown}:{port}/docs   (Ctrl+C stops)")
    if not public_read:
        console.print("Reading needs a token (`cooptrack token create USER`); --public-read opens reading to anyone.")
    if workers > 1 and dialect == "sqlite":
        console.print("SQLite allows one writer at a time: with several workers, writers wait for each other "
                      "(busy requests get 503 and Retry-After). PostgreSQL suits several workers better.")
    logs.configure(log_level)
    uvicorn.run("cooptrack.web.app:from_environment", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=False, log_config=None)
