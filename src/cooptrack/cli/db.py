"""`cooptrack init` and `cooptrack db ...`: create and migrate the database."""

from __future__ import annotations

import typer
from sqlalchemy.exc import OperationalError

from cooptrack.cli.common import command, console, ok, open_store
from cooptrack.errors import StoreUnavailable
from cooptrack.store import redact
from cooptrack.store.changes import mark_everything_changed
from cooptrack.store.migrate import check, current_revision, head_revision, upgrade

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@command(app, "upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (safe to run again)."""
    store = open_store(check=False)
    upgrade(store)
    ok(f"database {redact(store.url)} is at revision {head_revision()}")


@command(app, "current")
def db_current() -> None:
    """Show the database's migration revision and the one this cooptrack needs."""
    store = open_store(check=False)
    try:
        with store.engine.connect() as conn:
            current = current_revision(conn)
    except OperationalError as exc:
        raise StoreUnavailable(store.unreachable_message(exc)) from None
    console.print(f"database {redact(store.url)}: revision {current or 'none'} (this cooptrack: {head_revision()})")


@command(app, "check")
def db_check() -> None:
    """Fail if the tables and the migrations have drifted apart."""
    store = open_store()
    check(store)
    ok("models and migrations agree")


@command(app, "changed")
def db_changed() -> None:
    """Tell running servers that the data changed outside cooptrack (an edit in psql, say):
    their cached answers are recomputed. Changes through cooptrack are seen without it."""
    store = open_store()
    mark_everything_changed(store.engine)
    ok("marked every part of the data changed: cached answers will be recomputed")


def init() -> None:
    """Create the database (SQLite file or PostgreSQL schema) and bring it up to date."""
    db_upgrade()
