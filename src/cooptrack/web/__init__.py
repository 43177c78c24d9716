"""The web dashboard and the JSON API (FastAPI on Uvicorn)."""

from cooptrack.web.app import create_app

__all__ = ["create_app"]
