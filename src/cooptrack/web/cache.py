"""A response cache for the read API, valid only while what an answer was computed from is
unchanged.

Every write transaction through cooptrack gives each *aspect* of the data it touched (a table,
or the listed part of projects, or observations' values: see store/changes.py) a new token, in
the same transaction. A cached answer carries the tokens of the aspects its path reads (a
programme's dashboard: programmes, projects' listed fields, status events, sources, rates,
observation values, targets, claims...; anything not classified below: every aspect), read
*before* it was computed; each request reads the current tokens (one small query) and a cached
answer whose tokens differ is never served. So an edit made through any of cooptrack's doors
(CLI, API, another worker) is seen by the next request, while an edit of a project's
description leaves the programme dashboards cached. Edits made outside cooptrack (psql) are not
seen until ``cooptrack db changed``.

Only responses that are the same for every reader allowed to read are cached (the read API's
JSON, not the pages, which carry the reader's name and form tokens); authorization still runs
on every request before a cached answer is used."""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from cooptrack.store import Store
from cooptrack.store.changes import EVERYTHING, read_tokens, token_of

# The read API's paths worth caching (GET only); the audit log and import jobs change without
# a data change that every backend sees at once, and are cheap anyway.
# The hot read routes consult the cache themselves, in the read transaction of their answer
# (web/context.py's in_read): one transaction per request instead of two.
IN_ROUTE = re.compile(r"/api/v1/(projects|observations)(/[^/]+)?")
CACHED_PREFIXES = ("/api/v1/projects", "/api/v1/programmes", "/api/v1/observations", "/api/v1/sources",
                   "/api/v1/claims", "/api/v1/conflicts")

# What each kind of answer is computed from (tables, and the narrower aspects of store/changes.py).
DASHBOARD = ("programmes", "programme_parties", "programme_industries", "programme_industry_sectors",
             "programme_commodities", "projects.listed", "status_events", "sources", "exchange_rates",
             "observations.values", "indicators", "targets", "reported_figures", "claims")
PROGRAMME = ("programmes", "programme_parties", "programme_industries", "programme_industry_sectors", "sources")
PROJECT_LIST = ("projects", "programmes", "programme_industries", "project_sectors", "exchange_rates")
PROJECT = ("projects", "programmes", "programme_industries", "project_sectors", "project_participants",
           "organisations", "locations", "status_events", "project_finance", "project_documents", "claims",
           "sources", "exchange_rates")
OBSERVATIONS = ("observations", "indicators", "sources")
READS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"/api/v1/programmes/[^/]+/(overview|targets)"), DASHBOARD),
    (re.compile(r"/api/v1/programmes"), PROGRAMME + ("projects.listed", "exchange_rates")),
    (re.compile(r"/api/v1/programmes/[^/]+"), PROGRAMME),
    (re.compile(r"/api/v1/projects"), PROJECT_LIST),
    (re.compile(r"/api/v1/projects/[^/]+"), PROJECT),
    (re.compile(r"/api/v1/observations(/[^/]+)?"), OBSERVATIONS),
)


def reads_of(path: str) -> tuple[str, ...]:
    """The aspects the answer at ``path`` is computed from (every aspect when not classified)."""
    for pattern, aspects in READS:
        if pattern.fullmatch(path):
            return aspects
    return (EVERYTHING,)


class DataVersion:
    """The data's current aspect tokens, cheaply, from any thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._sqlite_path = make_url(store.url).database if store.dialect == "sqlite" else None
        self._seen: tuple[int, dict[str, int]] | None = None  # SQLite: (data_version, tokens then)
        # PostgreSQL's tokens are a round trip: not asked from the event loop (see CachedReads).
        self.remote = self._sqlite_path is None

    def tokens(self, session: Any = None) -> dict[str, int] | None:
        """Every aspect's token; None when they cannot be read (nothing is then served from cache).
        Read through ``session`` when given (a read transaction the caller holds)."""
        try:
            if session is not None:  # the caller's transaction: the same snapshot as its answer
                # through the driver's connection: a plain read, without SQLAlchemy's work per statement
                return read_tokens(session.connection().connection.dbapi_connection)
            if self._sqlite_path is not None:
                with self._lock:  # one connection: its data_version counts every other connection's commits
                    if self._sqlite is None:
                        self._sqlite = sqlite3.connect(self._sqlite_path, check_same_thread=False)
                    stamp = self._sqlite.execute("PRAGMA data_version").fetchone()[0]
                    if self._seen is None or self._seen[0] != stamp:
                        self._seen = (stamp, read_tokens(self._sqlite))
                    return self._seen[1]
            if session is not None:
                return read_tokens(session.connection())
            with self.store.engine.begin() as conn:  # committed, not rolled back (see SharedCache.get)
                return read_tokens(conn)
        except (DBAPIError, sqlite3.Error):  # e.g. not migrated yet
            return None

    def current(self, aspects: tuple[str, ...] = (EVERYTHING,), session: Any = None) -> str:
        """The version of what is computed from ``aspects``: their tokens."""
        return self.of(aspects, self.tokens(session))

    @staticmethod
    def of(aspects: tuple[str, ...], tokens: dict[str, int] | None) -> str:
        """The version of what is computed from ``aspects``, given every aspect's ``tokens``."""
        if tokens is None:
            return f"x{uuid.uuid4().hex}"  # never equal to anything cached
        return ".".join(str(token_of(tokens, a)) for a in aspects)

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()


class SharedCache:
    """The answers costly to compute (programme dashboards), kept in the database for every
    worker process (and every restart) of a PostgreSQL server; each worker keeps its own copy in
    memory too. An answer is stored with its version and served only for the same version. On
    SQLite (one writer for the whole database) nothing is shared: a worker would take the
    writer's lock to store a cached answer."""

    KEEP = 2000  # entries; the oldest beyond are dropped now and then

    def __init__(self, store: Store) -> None:
        self.store = store
        self.enabled = store.dialect == "postgresql"
        self.stored = 0

    @staticmethod
    def wanted(path: str) -> bool:
        return reads_of(path) is DASHBOARD

    def get(self, key: str, version: str) -> tuple[bytes, dict[str, str]] | None:
        try:
            # Committed, not rolled back: a ROLLBACK makes psycopg forget every statement it prepared
            # on the connection, which the next requests on it would then prepare and plan again.
            with self.store.engine.begin() as conn:
                row = conn.exec_driver_sql("SELECT body, etag FROM response_cache WHERE key = %s AND version = %s",
                                           (key, version)).first()
        except DBAPIError:  # e.g. a read-only standby without the table: compute instead
            return None
        if row is None:
            return None
        return bytes(row[0]), ({"etag": row[1]} if row[1] else {})

    def put(self, key: str, version: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            with self.store.engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO response_cache (key, version, body, etag, stored_at) VALUES (%s, %s, %s, %s, now()) "
                    "ON CONFLICT (key) DO UPDATE SET version = excluded.version, body = excluded.body, "
                    "etag = excluded.etag, stored_at = excluded.stored_at", (key, version, body, headers.get("etag")))
                self.stored += 1
                if self.stored % 100 == 0:
                    conn.exec_driver_sql("DELETE FROM response_cache WHERE key IN (SELECT key FROM response_cache "
                                         "ORDER BY stored_at DESC OFFSET %s)", (self.KEEP,))
        except DBAPIError:  # a standby, or a concurrent store of the same key: the answer is served anyway
            return


class ResponseCache:
    """Rendered responses by (key, data version); least recently used out past ``size``."""

    def __init__(self, store: Store, size: int = 512, enabled: bool = True, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.version = DataVersion(store)
        self.shared = SharedCache(store)
        self.enabled = enabled
        self.size = size
        self.max_bytes = max_bytes  # the bodies kept, in all
        self._bytes = 0
        self._items: OrderedDict[str, tuple[str, bytes, dict[str, str]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def cacheable(self, path: str) -> bool:
        return self.enabled and path.startswith(CACHED_PREFIXES)

    def version_for(self, path: str, session: Any = None) -> str:
        return self.version.current(reads_of(path), session)

    def get(self, key: str, version: str) -> tuple[bytes, dict[str, str]] | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != version:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[1], found[2]

    def put(self, key: str, version: str, body: bytes, headers: dict[str, str]) -> None:
        if len(body) > self.max_bytes // 4:
            return  # too big to be worth keeping
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._items[key] = (version, body, headers)
            self._bytes += len(body)
            while len(self._items) > self.size or self._bytes > self.max_bytes:
                _key, (_version, dropped, _headers) = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def stats(self) -> dict[str, Any]:
        return {"entries": len(self._items), "hits": self.hits, "misses": self.misses}


class Memo:
    """Computed values (the dashboard's data) by (key, data version), for the pages, which cannot
    share whole responses; least recently used out past ``size``."""

    def __init__(self, version: DataVersion, size: int = 64, enabled: bool = True) -> None:
        self.version = version
        self.enabled = enabled
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], tuple[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: tuple[Any, ...], compute: Callable[[], Any],
                       aspects: tuple[str, ...] = (EVERYTHING,)) -> Any:
        if not self.enabled:
            return compute()
        version = self.version.current(aspects)  # before computing: a change meanwhile is not hidden
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] == version:
                self._items.move_to_end(key)
                return found[1]
        value = compute()
        with self._lock:
            self._items[key] = (version, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class CachedReads:
    """An ASGI layer in front of the application: a GET of the read API by an anonymous reader of
    a --public-read server, whose answer is cached for the current data version, is answered
    here without going through routing, dependencies and a database session. Everything else
    passes through unchanged (and the application fills the cache)."""

    def __init__(self, app: Any, cache: ResponseCache, public_read: bool, on_hit: Callable[[str, str], None]) -> None:
        self.app = app
        self.cache = cache
        self.public_read = public_read
        self.on_hit = on_hit  # (path, request id): the access log line

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET" or not self.public_read
                or not self.cache.cacheable(scope["path"]) or self.cache.version.remote):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if b"authorization" in headers or b"cooptrack_session=" in headers.get(b"cookie", b""):
            await self.app(scope, receive, send)
            return
        key = f"{scope['path']}?{scope['query_string'].decode('latin-1')}"
        hit = self.cache.get(key, self.cache.version_for(scope["path"]))
        if hit is None:
            await self.app(scope, receive, send)
            return
        body, extra = hit
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if 0 < len(given) <= 64 and all(c.isalnum() or c in "-_" for c in given) else uuid.uuid4().hex[:16]
        out = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"x-request-id", rid.encode()), (b"x-cache", b"hit")]
        out += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": body})
        self.on_hit(scope["path"], rid)
