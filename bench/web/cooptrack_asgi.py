"""The ASGI app the web benchmark serves, as `cooptrack serve --public-read` serves it, for the
register named by ``$COOPTRACK_BENCH_URL``, built by uvicorn's ``--factory`` (see run.py)."""

from __future__ import annotations

import os
from typing import Any

from cooptrack.store.db import Store
from cooptrack.web.app import create_app, serve_cached

URL_ENV = "COOPTRACK_BENCH_URL"


def app() -> Any:
    """As `cooptrack serve --public-read` serves it."""
    return serve_cached(create_app(Store(os.environ[URL_ENV]), public_read=True))
