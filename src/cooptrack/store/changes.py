"""Which parts of the data a write changed, for the web's caches.

A cache valid "while the database is unchanged" is thrown away by every edit; on a team's
server, where someone edits a project's description every second, nothing cached survives. So
cooptrack's engines note what each write transaction touched, by *aspect*, and at commit (in
the same transaction) give each touched aspect a new random token in ``data_changes``. A cached
answer records the tokens of the aspects it was computed from and is served only while they are
unchanged.

An aspect is a table's name, plus two narrower ones read by the dashboards and lists:

- ``projects.listed``: a project's fields other than its texts and planning dates (a change of
  ``description`` alone leaves it as it was);
- ``observations.values``: an observation's fields other than its note.

``access`` is the one aspect of users and tokens (who may do what): a worker keeps each token's
check (revoked, expired, its user's role and state) while this aspect is unchanged, and asks
the database again once it changes. It is not part of ``*``: adding a user or a token leaves
every cached answer as it was; stamping when a token was last used changes nothing.

``*`` changes with every write. Statements are classified from their SQL (``INSERT INTO t``,
``UPDATE t SET a=.., b=..``, ``DELETE FROM t``), so the ORM, Core inserts and the importers'
driver-level batches are all seen; a statement of another kind (DDL, TRUNCATE) changes every
aspect. Writes made outside cooptrack (psql, another program) are not seen:
``cooptrack db changed`` marks everything changed after such an edit.

Tokens, not counters: a restored or truncated table starts again without repeating an earlier
state's key."""

from __future__ import annotations

import re
import secrets
import weakref
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, event

TABLE = "data_changes"
EVERYTHING = "*"
ALL_ASPECTS = "**"  # a statement of unknown effect: every aspect
KEY = "cooptrack_changes"

# Tables whose changes no cached answer depends on (authorization and bookkeeping are checked
# on every request, never cached; a failed sign-in must not throw the dashboards away).
UNTRACKED = frozenset({"audit_events", "web_sessions", "sign_in_failures", "import_jobs", TABLE, "response_cache",
                       "alembic_version"})
ACCESS = "access"
ACCESS_TABLES = frozenset({"users", "api_tokens"})
ACCESS_QUIET = frozenset({"last_used_at"})  # a token's use, stamped now and then
# Columns whose change alone leaves the narrower aspect unchanged.
QUIET = {
    "projects": ("projects.listed", frozenset({
        "description", "aliases", "narratives", "iati", "national_id", "planned_start", "planned_end",
        "actual_start", "actual_end", "iati_identifier", "value_claim_id", "updated_at", "version"})),
    "observations": ("observations.values", frozenset({"note", "updated_at", "version"})),
}
_READS = ("SELECT", "WITH", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET", "SHOW",
          "EXPLAIN", "VALUES", "START", "END", "ANALYZE", "LISTEN", "NOTIFY", "DISCARD", "RESET")
_WRITE = re.compile(r'^\s*(INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+'
                    r'(?:"?\w+"?\.)?"?(\w+)"?', re.IGNORECASE)
_SET = re.compile(r"\bSET\s+(.*?)(?:\bWHERE\b|\bRETURNING\b|\bFROM\b|$)", re.IGNORECASE | re.DOTALL)
_PLACEHOLDER = re.compile(r"%\(\w+\)s")  # psycopg's named parameters
_WRITING = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_ASSIGNED = re.compile(r'(?:^|,)\s*"?(\w+)"?\s*=(?!=)')


@lru_cache(maxsize=4096)
def aspects_of(statement: str) -> frozenset[str]:
    """The aspects a statement changes (empty for a read)."""
    head = statement.lstrip()[:12].upper()
    found = _WRITE.match(statement)
    if found is None:
        if head.startswith("WITH") and _WRITING.search(statement):
            return frozenset({ALL_ASPECTS})  # a writing common table expression: what it writes is not parsed
        if head.startswith(_READS):
            return frozenset()
        return frozenset({ALL_ASPECTS})
    verb, table = found.group(1).upper(), found.group(2).lower()
    if table in UNTRACKED or table.startswith("_alembic"):
        return frozenset()
    if table in ACCESS_TABLES:
        quiet_update = verb.startswith("UPDATE") and _assigned(statement[found.end():]) <= ACCESS_QUIET
        return frozenset() if quiet_update else frozenset({ACCESS})
    aspects = {EVERYTHING, table}
    if table in QUIET:
        narrower, quiet = QUIET[table]
        columns = _assigned(statement[found.end():]) if verb.startswith("UPDATE") else set()
        if not columns or not columns <= quiet:
            aspects.add(narrower)
    return frozenset(aspects)


def _assigned(rest: str) -> set[str]:
    """The columns an UPDATE's SET assigns (``rest``: the statement after its table); empty when
    not parsed (a subquery or a function), which is never taken as quiet."""
    assignments = _SET.search(rest)
    if assignments is None:
        return set()
    assigned = _PLACEHOLDER.sub("?", assignments.group(1))
    if "(" in assigned:
        return set()
    return {c.lower() for c in _ASSIGNED.findall(assigned)}


_READY: weakref.WeakSet[Engine] = weakref.WeakSet()


def track(engine: Engine) -> None:
    """Note, on ``engine``'s connections, what each transaction writes; record it at commit."""
    event.listen(engine, "before_cursor_execute", _seen)
    event.listen(engine, "commit", _commit)
    event.listen(engine, "rollback", _forget)


def _seen(conn: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any, _many: bool) -> None:
    aspects = aspects_of(statement)
    if aspects:
        conn.info.setdefault(KEY, set()).update(aspects)


def wrote(conn: Any, aspect: str) -> bool:
    """Whether the transaction open on ``conn`` has written ``aspect`` (or something unknown)."""
    pending = conn.info.get(KEY) or ()
    return aspect in pending or ALL_ASPECTS in pending


def _forget(conn: Any) -> None:
    conn.info.pop(KEY, None)


def _commit(conn: Any) -> None:
    pending: set[str] | None = conn.info.pop(KEY, None)
    if not pending:
        return
    dbapi = conn.connection.dbapi_connection
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = dbapi.cursor()
    try:
        if conn.engine not in _READY:
            if not _table_exists(cursor, conn.dialect.name):
                return  # a database not migrated yet: nothing to keep the tokens in
            _READY.add(conn.engine)
        token = secrets.randbits(62)
        upsert = (f"INSERT INTO {TABLE} (aspect, changes) VALUES ({mark}, {mark}) "
                  f"ON CONFLICT (aspect) DO UPDATE SET changes = excluded.changes")
        # Every writer of data takes the * row first, then the others in one order: two writers
        # never wait for each other's rows crosswise (the one marking everything included). A
        # writer of users and tokens alone holds one row (access) and can wait for nobody's.
        if EVERYTHING in pending or ALL_ASPECTS in pending:
            cursor.execute(upsert, (EVERYTHING, token))
        if ALL_ASPECTS in pending:
            # Every aspect with a row; those without one read the ** row's token instead (token_of).
            cursor.execute(f"UPDATE {TABLE} SET changes = {mark}", (token,))
        for aspect in sorted(pending - {EVERYTHING}):
            cursor.execute(upsert, (aspect, token))
    finally:
        cursor.close()


def _table_exists(cursor: Any, dialect: str) -> bool:
    if dialect == "sqlite":
        cursor.execute(f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{TABLE}'")
    else:
        cursor.execute(f"SELECT to_regclass('{TABLE}')")
    row = cursor.fetchone()
    return row is not None and row[0] is not None


def mark_everything_changed(engine: Engine) -> None:
    """After an edit made outside cooptrack: every cached answer is recomputed."""
    with engine.begin() as conn:
        conn.info.setdefault(KEY, set()).add(ALL_ASPECTS)


def token_of(tokens: dict[str, int], aspect: str) -> int:
    """An aspect's token; one never written has the token of the last change of everything."""
    found = tokens.get(aspect)
    return found if found is not None else tokens.get(ALL_ASPECTS, 0)


def read_tokens(conn: Any) -> dict[str, int]:
    """Every aspect's current token (through a DBAPI or a SQLAlchemy connection)."""
    run = getattr(conn, "exec_driver_sql", None) or conn.execute
    return {aspect: changes for aspect, changes in run(f"SELECT aspect, changes FROM {TABLE}").fetchall()}

