"""A response cache for the read API, valid only while the database is unchanged.

Every cached answer carries the database's data version at the time it was computed; each
request asks the database for its current version (a few microseconds) and a cached answer of
another version is never served. What counts as the version:

- SQLite: ``PRAGMA data_version`` on a connection of the cache's own, which changes whenever
  any other connection (any process) commits;
- PostgreSQL: ``pg_current_wal_lsn()``, which moves whenever anything at all is written.

So a change made through any door (CLI, API, another worker, psql) is seen by the next request.
Only responses that are the same for every reader allowed to read are cached (the read API's
JSON, not the pages, which carry the reader's name and form tokens); authorization still runs
on every request before a cached answer is used."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from cooptrack.store import Store

# The read API's paths worth caching (GET only); the audit log and import jobs change without
# a data change that every backend sees at once, and are cheap anyway.
CACHED_PREFIXES = ("/api/v1/projects", "/api/v1/programmes", "/api/v1/observations", "/api/v1/sources",
                   "/api/v1/claims", "/api/v1/conflicts")


class DataVersion:
    """The database's current data version, cheaply, from any thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._sqlite_path = make_url(store.url).database if store.dialect == "sqlite" else None
        # PostgreSQL's version is a round trip: not asked from the event loop (see CachedReads).
        self.remote = self._sqlite_path is None

    def current(self) -> str:
        if self._sqlite_path is not None:
            with self._lock:  # one connection: its data_version counts every other connection's commits
                if self._sqlite is None:
                    self._sqlite = sqlite3.connect(self._sqlite_path, check_same_thread=False)
                return f"s{self._sqlite.execute('PRAGMA data_version').fetchone()[0]}"
        try:
            with self.store.engine.connect() as conn:
                return f"p{conn.execute(text('SELECT pg_current_wal_lsn()')).scalar_one()}"
        except DBAPIError:  # e.g. a standby, where the WAL position cannot be asked: never serve from cache
            return f"x{uuid.uuid4().hex}"

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()


class ResponseCache:
    """Rendered responses by (key, data version); least recently used out past ``size``."""

    def __init__(self, store: Store, size: int = 512, enabled: bool = True, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.version = DataVersion(store)
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

    def get_or_compute(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        if not self.enabled:
            return compute()
        version = self.version.current()  # before computing: a change meanwhile is not hidden
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
        hit = self.cache.get(key, self.cache.version.current())
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
