"""Alembic, driven from code: the migration scripts ship inside the package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError

from cooptrack.errors import StoreUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Any) -> str | None:
    rev: str | None = MigrationContext.configure(conn).get_current_revision()
    return rev


def upgrade(store: Any, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``store`` (a :class:`Store`)."""
    cfg = alembic_config(store.url)
    try:
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise StoreUnavailable(store.unreachable_message(exc)) from None


def check(store: Any) -> None:
    """Raise if the models and the migrations disagree (alembic's drift check)."""
    cfg = alembic_config(store.url)
    with store.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)
