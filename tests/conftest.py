"""Test databases: a real SQLite file for every test, and the same tests again on a real
PostgreSQL server wherever COOPTRACK_TEST_POSTGRES_URL is set. In CI (CI=true) a missing or
unreachable PostgreSQL fails the run instead of skipping."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from typer.testing import CliRunner

from cooptrack.cli import app
from cooptrack.services.context import Context
from cooptrack.store import Store
from cooptrack.store.migrate import upgrade

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PG_ENV = "COOPTRACK_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"
KEEP = {"alembic_version", "indicators"}  # seeded by the migration


def _postgres_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        if IN_CI:
            pytest.fail(f"{PG_ENV} is not set; CI must test PostgreSQL", pytrace=False)
        return None
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = Store(f"sqlite:///{path}")
    upgrade(store)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_store() -> Iterator[Store | None]:
    """A database of this test run's own on the configured server (so two runs never share
    tables), dropped at the end; the configured database itself if we may not create one."""
    url = _postgres_url()
    if url is None:
        yield None
        return
    admin = Store(url)
    own = f"cooptrack_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{own}"'))
        target = make_url(admin.url).set(database=own).render_as_string(hide_password=False)
    except OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {admin.url} is unreachable in CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL at {admin.url} is unreachable: {exc}")
    except ProgrammingError:  # no CREATEDB right: use the configured database, emptied
        target = admin.url
        with admin.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    store = Store(target)
    upgrade(store)
    yield store
    store.dispose()
    if target != admin.url:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database URL: a fresh SQLite file, or the PostgreSQL test database
    with every table emptied."""
    if request.param == "sqlite":
        path = tmp_path / "cooptrack.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    pg: Store | None = request.getfixturevalue("postgres_store")
    if pg is None:
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV} to run these tests on PostgreSQL")
    tables = [t for t in pg.table_names() if t not in KEEP]
    with pg.engine.begin() as conn:
        # The audit log refuses TRUNCATE through a trigger; replica mode lets the test reset through.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    return pg.url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def write(store: Store) -> Callable[..., object]:
    """``with write() as ctx:`` runs one transaction as actor 'tester'."""

    @contextmanager
    def _write(actor: str = "tester") -> Iterator[Context]:
        with store.write() as session:
            yield Context(session, actor)

    return _write


@pytest.fixture
def read(store: Store) -> Callable[..., object]:
    @contextmanager
    def _read() -> Iterator[Context]:
        with store.read() as session:
            yield Context(session, "tester")

    return _read


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run a cooptrack command against the test database, as a user would type it."""
    monkeypatch.setenv("COOPTRACK_DATABASE_URL", db_url)
    monkeypatch.setenv("COOPTRACK_ACTOR", "tester")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> CliResult:
        result = runner.invoke(app, list(args), input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


def count_rows(store: Store) -> dict[str, int]:
    """Row counts of every table: the 'nothing written' check (data_changes and response_cache, the
    caches' bookkeeping, are not data)."""
    with store.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in store.table_names()
                if t not in ("data_changes", "response_cache")}


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent")
    return SHARED_DATA
