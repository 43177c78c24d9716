"""The ASGI app the web benchmark serves: ``create_app(Store(url))`` for the register named by
``$COOPTRACK_BENCH_URL``, built by uvicorn's ``--factory`` (see run.py)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from cooptrack.store.db import Store
from cooptrack.web.app import create_app

URL_ENV = "COOPTRACK_BENCH_URL"


def app() -> FastAPI:
    return create_app(Store(os.environ[URL_ENV]))
