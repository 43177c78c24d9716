"""Alembic, driven from code: the migration scripts ship inside the package."""

from __future__ import annotations

from collections.abc import Callable
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
    run(store, lambda cfg: command.upgrade(cfg, revision))


def run(store: Any, step: Callable[[Config], None]) -> None:
    """Run an Alembic command in one transaction. On SQLite, foreign keys are off meanwhile:
    a batch migration copies a table and drops the old one, and with foreign keys on that drop
    would cascade-delete every child row (status events, sectors...). The keys are checked after."""
    cfg = alembic_config(store.url)
    try:
        with store.engine.connect() as conn:
            sqlite = store.dialect == "sqlite"
            raw = conn.connection.dbapi_connection
            if sqlite:
                raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction, where it takes effect
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    step(cfg)
                    if sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if broken:
                            raise StoreUnavailable(
                                f"migration left {len(broken)} broken references (first: {broken[0]}); "
                                "nothing was changed")
            finally:
                if sqlite:
                    raw.execute("PRAGMA foreign_keys=ON")
    except OperationalError as exc:
        raise StoreUnavailable(store.unreachable_message(exc)) from None


def check(store: Any) -> None:
    """Raise if the models and the migrations disagree (alembic's drift check)."""
    cfg = alembic_config(store.url)
    with store.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)
