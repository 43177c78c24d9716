"""Settings: one typed object, built by a function from the environment (never at import)."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///cooptrack.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    actor: str


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    url = env.get("COOPTRACK_DATABASE_URL") or DEFAULT_DATABASE_URL
    actor = env.get("COOPTRACK_ACTOR") or _login_name()
    return Settings(database_url=url, actor=actor)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
