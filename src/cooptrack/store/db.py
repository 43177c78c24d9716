"""Engines and transactions. SQLite: WAL, foreign keys, one writer (BEGIN IMMEDIATE) with a
busy timeout. PostgreSQL: the same migrations and code through psycopg 3."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from cooptrack.errors import StoreUnavailable
from cooptrack.store import changes

BUSY_TIMEOUT_MS = 10_000


def busy_timeout_ms() -> int:
    """How long a SQLite writer waits for another to finish (COOPTRACK_BUSY_TIMEOUT_MS, default
    10 s); past it the web answers 503 with Retry-After and the CLI says the database is busy."""
    text = os.environ.get("COOPTRACK_BUSY_TIMEOUT_MS", "")
    return int(text) if text.isdigit() else BUSY_TIMEOUT_MS


POOL_SIZE = 8


def pool_size() -> int:
    """PostgreSQL connections each process keeps (COOPTRACK_DB_POOL_SIZE, default 8); a web
    worker runs at most this many requests at once."""
    text = os.environ.get("COOPTRACK_DB_POOL_SIZE", "")
    return int(text) if text.isdigit() and int(text) > 0 else POOL_SIZE


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _normalise(url: str) -> str:
    # Plain postgresql:// would pick psycopg2, which we do not install.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kw: Any) -> Engine:
    url = _normalise(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUnavailable(
            f"database URL '{url}' is not a URL; write sqlite:///path/to/file.db or "
            "postgresql+psycopg://user:password@host:5432/name"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        timeout = busy_timeout_ms()
        engine = create_engine(url, connect_args={"timeout": timeout / 1000}, **kw)
        _sqlite_setup(engine, timeout)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # JIT compiling costs more than it saves on cooptrack's short queries (measured in bench/).
        # No ping before each use of a pooled connection (a round trip per request): a connection
        # the server dropped fails its request once (503, Retry-After), and the pool is renewed.
        # Connections kept open: as many as a server worker runs requests at once (its thread pool,
        # see web/app.py), so that none is opened and closed per request (a new server process each).
        kw.setdefault("pool_size", pool_size())
        kw.setdefault("max_overflow", 8)
        # Statements prepared on their second use on a connection (psycopg's default is the sixth):
        # a web worker's few dozen statements are then planned once per connection, not five times
        # (planning a list's statement costs about as much as running it).
        return create_engine(url, connect_args={"connect_timeout": 5, "options": "-c jit=off",
                                                "prepare_threshold": 1}, **kw)
    raise StoreUnavailable(
        f"database URL '{redact(url)}' uses '{parsed.get_backend_name()}'; cooptrack supports "
        "sqlite:/// and postgresql+psycopg://"
    )


def _sqlite_setup(engine: Engine, timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={timeout_ms}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the lock at the start, so two writers never deadlock mid-way.
        write = conn.get_execution_options().get("cooptrack_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Store:
    """A database: an engine plus read and write transactions."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = _normalise(url)
        self.engine = engine or make_engine(self.url)
        # Short PostgreSQL reads without BEGIN and COMMIT (read(transaction=False)): at its READ
        # COMMITTED level each statement reads its own snapshot inside a transaction too, so the
        # two were round trips of nothing (about a fifth of the statements a web worker sent).
        self._reader = (self.engine.execution_options(isolation_level="AUTOCOMMIT")
                        if self.engine.dialect.name == "postgresql" else self.engine)
        changes.track(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self, transaction: bool = True) -> Iterator[Session]:
        """A read in one transaction; with ``transaction=False``, on PostgreSQL, each statement on
        its own (what it reads is the same as in a transaction at the READ COMMITTED level; no
        server-side cursors, which need a transaction). SQLite keeps its transaction either way:
        there it holds one snapshot for every statement of the read."""
        bind = self.engine if transaction else self._reader
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One all-or-nothing transaction: committed on success, rolled back on any error."""
        with self.engine.connect() as conn:
            conn.execution_options(cooptrack_write=True)
            with Session(bind=conn, expire_on_commit=False) as session, session.begin():
                yield session

    def check(self) -> None:
        """Raise StoreUnavailable with a helpful message unless the database is reachable
        and migrated to the current head."""
        from cooptrack.store.migrate import current_revision, head_revision

        if self.dialect == "sqlite":
            path = make_url(self.url).database
            if path and path != ":memory:" and not path.startswith("file:") and not Path(path).exists():
                raise StoreUnavailable(
                    f"database file '{path}' does not exist; run `cooptrack init` to create it "
                    "(or `cooptrack demo` for the demo), or set COOPTRACK_DATABASE_URL"
                )
        try:
            with self.engine.connect() as conn:
                current = current_revision(conn)
        except OperationalError as exc:
            raise StoreUnavailable(self.unreachable_message(exc)) from None
        if current is None:
            raise StoreUnavailable(
                f"database {redact(self.url)} has no cooptrack tables; run `cooptrack init` "
                "(or `cooptrack db upgrade`) first"
            )
        if current != head_revision():
            raise StoreUnavailable(
                f"database {redact(self.url)} is at revision {current}, this cooptrack needs "
                f"{head_revision()}; run `cooptrack db upgrade`"
            )

    def unreachable_message(self, exc: SQLAlchemyError) -> str:
        if self.dialect == "sqlite":
            path = make_url(self.url).database or ""
            folder = Path(path).parent if path else Path(".")
            if path and not folder.exists():
                return (
                    f"cannot open database {redact(self.url)}: folder '{folder}' does not exist; "
                    "create it or set COOPTRACK_DATABASE_URL"
                )
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else ""
        password = make_url(self.url).password
        if password:
            detail = detail.replace(str(password), "***")
        return (
            f"cannot reach database {redact(self.url)} ({detail}); check that the server is "
            "running and COOPTRACK_DATABASE_URL is right"
        )

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    def dispose(self) -> None:
        self.engine.dispose()
