"""Test databases: a real SQLite file for every test, and the same tests again on a real
PostgreSQL server wherever COOPTRACK_TEST_POSTGRES_URL is set. In CI (CI=true) a missing or
unreachable PostgreSQL fails the run instead of skipping."""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from typer.testing import CliRunner

from cooptrack.services.context import Context
from cooptrack.services.datasets import demo_path, load_dataset, read_dataset
from cooptrack.store import Store
from cooptrack.store.changes import ALL_ASPECTS, EVERYTHING
from cooptrack.store.migrate import upgrade

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PG_ENV = "COOPTRACK_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"
T = TypeVar("T")
KEEP = {"alembic_version", "indicators"}  # seeded by the migration

# GNU readline, which pytest imports, exports COLUMNS=80 and LINES=24 in pytest-xdist's main process
# (it finds no terminal there), and the workers inherit them. Rich fixes a console's width when it
# is created if COLUMNS is set, so the CLI's consoles, created when the test modules import
# cooptrack.cli, would stay 80 columns wide whatever the `cli` fixture sets: drop both first (this
# runs before any test module is imported; cooptrack.cli is imported in the fixture, not above).
for _inherited in ("COLUMNS", "LINES"):
    os.environ.pop(_inherited, None)


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


@dataclass
class PostgresTestDatabase:
    """The PostgreSQL test database, emptied between tests in one round trip: every table but
    the migration's own is deleted from (in replica mode, so that neither the audit log's trigger
    nor a foreign key stops it) and its sequences restart, as TRUNCATE ... RESTART IDENTITY did at
    several times the cost. The reset then notes that everything changed, as that TRUNCATE's
    commit did through cooptrack's engine (see cooptrack.store.changes)."""

    store: Store
    tables: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tables = [t for t in self.store.table_names() if t not in KEEP]
        with self.store.engine.connect() as conn:
            self.sequences = list(conn.execute(text(
                "SELECT pg_get_serial_sequence(quote_ident(table_name), column_name) FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ANY(:tables)"
                " AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL"
                " ORDER BY 1"), {"tables": self.tables}).scalars())

    def _emptying(self) -> str:
        return "; ".join(["SET LOCAL session_replication_role = replica",
                          *(f"DELETE FROM {t}" for t in self.tables),
                          "SELECT " + ", ".join(f"setval('{s}', 1, false)" for s in self.sequences)])

    def _run(self, sql: str, copy_in: dict[str, bytes] | None = None, then: str | None = None) -> None:
        """``sql``, COPY each of ``copy_in`` into its table, then ``then``: one transaction on a
        raw connection (so that cooptrack's change tracking does not see the reset itself)."""
        raw = self.store.engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cur:
                cur.execute(sql)
                for table, rows in (copy_in or {}).items():
                    with cur.copy(f"COPY {table} FROM STDIN") as copy:
                        copy.write(rows)
                if then:
                    cur.execute(then)
            raw.commit()
        finally:
            raw.close()

    def reset(self) -> None:
        token = secrets.randbits(62)
        self._run(f"{self._emptying()}; INSERT INTO data_changes (aspect, changes)"
                  f" VALUES ('{EVERYTHING}', {token}), ('{ALL_ASPECTS}', {token})")

    def snapshot(self) -> PostgresSnapshot:
        """Every table's rows (COPY's text form, exact for every type) and every sequence's state."""
        raw = self.store.engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cur:
                tables = {}
                for table in self.tables:
                    with cur.copy(f"COPY {table} TO STDOUT") as copy:
                        rows = b"".join(bytes(block) for block in copy)
                    if rows:
                        tables[table] = rows
                sequences = {}
                for sequence in self.sequences:
                    cur.execute(f"SELECT last_value, is_called FROM {sequence}")
                    sequences[sequence] = cur.fetchone()
            raw.rollback()
        finally:
            raw.close()
        return PostgresSnapshot(tables, sequences)

    def restore(self, snapshot: PostgresSnapshot) -> None:
        """Empty the database, then put back ``snapshot``'s rows and sequences, with new change
        tokens (see `prepare`)."""
        sequences = ", ".join(f"setval('{s}', {value}, {called})"
                              for s, (value, called) in snapshot.sequences.items())
        self._run(f"{self._emptying()}; SELECT {sequences}", copy_in=snapshot.tables,
                  then=f"UPDATE data_changes SET changes = changes # {secrets.randbits(62)}")


@dataclass
class PostgresSnapshot:
    tables: dict[str, bytes]
    sequences: dict[str, tuple[int, bool]]


@pytest.fixture(scope="session")
def postgres_store() -> Iterator[PostgresTestDatabase | None]:
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
    yield PostgresTestDatabase(store)
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
    pg: PostgresTestDatabase | None = request.getfixturevalue("postgres_store")
    if pg is None:
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV} to run these tests on PostgreSQL")
    pg.reset()
    return pg.store.url


def load_demo(store: Store) -> None:
    """The Fresh Wind demo, loaded as `cooptrack demo` loads it."""
    with store.write() as session:
        load_dataset(Context(session, "tester"), read_dataset(demo_path()), "fresh_wind.yaml",
                     base=demo_path().parent)


@dataclass
class Snapshot:
    """A database as a test's setup left it (SQLite: a copy of the file; PostgreSQL: the rows),
    and what that setup returned."""

    copy: Path | PostgresSnapshot
    returned: Any


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, str], Snapshot]]:
    """Where SQLite copies go, and every snapshot taken so far by backend and name."""
    return tmp_path_factory.mktemp("snapshots"), {}


Prepare = Callable[[str, Callable[[], T]], T]


@pytest.fixture
def prepare(request: pytest.FixtureRequest, db_url: str, store: Store,
            snapshots: tuple[Path, dict[tuple[str, str], Snapshot]]) -> Prepare[Any]:
    """``prepare(name, build)`` brings this test's database to the state that ``build()`` leaves
    it in, and returns what ``build()`` returned, running ``build`` only once per session and
    backend: the first test to ask for ``name`` builds it in its own database and keeps a copy
    (SQLite: the file; PostgreSQL: every table's rows and sequences), and every later one gets that
    copy. ``build`` must start from the same state every time (the empty database, or one that an
    earlier ``prepare`` gave) and do the same every time.

    The change tokens in data_changes of a copy are renewed (XOR with one random mask: aspects that
    shared a token still do), so that two tests' databases never repeat a state's tokens, as two
    builds of their own would not."""
    folder, taken = snapshots

    def _prepare(name: str, build: Callable[[], T]) -> T:
        key = (store.dialect, name)
        if key not in taken:
            returned = build()
            if store.dialect == "sqlite":
                copy: Path | PostgresSnapshot = folder / f"{len(taken)}.db"
                with closing(sqlite3.connect(make_url(db_url).database or "")) as source, \
                        closing(sqlite3.connect(copy)) as target:
                    source.backup(target)
            else:
                copy = request.getfixturevalue("postgres_store").snapshot()
            taken[key] = Snapshot(copy, returned)
            return returned
        saved = taken[key]
        if isinstance(saved.copy, Path):
            path = Path(make_url(db_url).database or "")
            store.dispose()
            for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
            shutil.copy(saved.copy, path)
            mask = secrets.randbits(62)
            with closing(sqlite3.connect(path)) as conn, conn:
                conn.execute("UPDATE data_changes SET changes = (changes | ?) - (changes & ?)", (mask, mask))  # XOR
        else:
            request.getfixturevalue("postgres_store").restore(saved.copy)
        return cast(T, saved.returned)

    return _prepare


@pytest.fixture
def demo_db(store: Store, prepare: Prepare[None]) -> Store:
    """The test database holding the Fresh Wind demo, as `load_demo` leaves it (loaded once per
    session and backend, copied for each test: see `prepare`)."""
    prepare("demo", lambda: load_demo(store))
    return store


@pytest.fixture
def cli_demo(cli: Callable[..., CliResult], prepare: Prepare[None]) -> None:
    """The test database as `cooptrack demo` leaves it (run once per session and backend, copied
    for each test: see `prepare`)."""

    def build() -> None:
        result = cli("demo")
        assert result.exit_code == 0, (result.stdout, result.stderr)

    prepare("cooptrack demo", build)


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
    from cooptrack.cli import app

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
