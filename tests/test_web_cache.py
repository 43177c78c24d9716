"""The read API's response cache: a repeated request is served from it, any change to the
database (through any door) is seen by the next request, and a cached answer is never given to
someone who may not read."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cooptrack.services.projects import StatusSpec, add_status_event
from cooptrack.services.users import add_user, create_token, revoke_token, update_user
from cooptrack.web import create_app

URL = "/api/v1/projects?programme=fresh-wind&status=in_execution"


def hits(client, url, headers=None):
    """A repeated request comes from the cache (PostgreSQL's WAL position also moves with the
    server's own housekeeping, so allow a few tries)."""
    return any(client.get(url, headers=headers).headers.get("x-cache") == "hit" for _ in range(5))


@pytest.fixture
def loaded(demo_db, write):
    with write() as ctx:
        add_user(ctx, "vera", "viewer")
        new = create_token(ctx, "vera")
    return demo_db, new


def test_repeated_reads_hit_and_any_write_invalidates(loaded, write):
    store, _ = loaded
    client = TestClient(create_app(store, public_read=True))
    first = client.get(URL)
    assert first.headers["x-cache"] == "miss" and first.json()["total"] == 1
    assert hits(client, URL)
    assert client.get(URL).content == first.content
    with write() as ctx:  # a change outside the server, as the CLI would make it
        add_status_event(ctx, StatusSpec("car-assembly-plant", "in_execution", "2020"))
    third = client.get(URL)
    assert third.headers["x-cache"] == "miss" and third.json()["total"] == 2
    assert hits(client, URL)


def test_cached_answers_still_need_the_right_to_read(loaded, write):
    store, token = loaded
    client = TestClient(create_app(store, public_read=False))
    me = {"Authorization": f"Bearer {token.token}"}
    assert client.get(URL, headers=me).headers["x-cache"] == "miss"
    assert hits(client, URL, me)  # the token's first use stamps it, a change: then hits
    anonymous = client.get(URL)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    assert client.get(URL, headers={"Authorization": "Bearer ct_00000000_wrong"}).status_code == 401
    with write() as ctx:
        revoke_token(ctx, token.id)
    assert client.get(URL, headers=me).status_code == 401


def test_errors_and_other_paths_are_not_cached(loaded):
    store, _ = loaded
    client = TestClient(create_app(store, public_read=True))
    for _ in range(2):
        bad = client.get("/api/v1/projects?status=foo")
        assert bad.status_code == 400 and "x-cache" not in bad.headers
    assert "x-cache" not in client.get("/programmes/fresh-wind").headers


def test_the_cache_keeps_to_its_size_in_bytes(loaded):
    from cooptrack.web.cache import ResponseCache

    store, _ = loaded
    cache = ResponseCache(store, max_bytes=1000)
    for i in range(10):
        cache.put(f"k{i}", "v", b"x" * 200, {})
    assert cache.stats()["entries"] == 5 and cache.get("k9", "v") is not None and cache.get("k0", "v") is None
    cache.put("big", "v", b"x" * 600, {})  # over a quarter of the budget: not kept
    assert cache.get("big", "v") is None
    cache.put("k9", "v", b"y" * 100, {})  # replacing an entry gives its bytes back
    assert cache.get("k9", "v") == (b"y" * 100, {})
    cache.version.close()


def test_a_token_is_checked_again_only_after_users_or_tokens_change(loaded, write):
    """A worker keeps a token's check while the access aspect is unchanged: no query of the
    tokens per request; a change to any user or token (here another user's) makes it ask again,
    and a disabled user is refused by the next request."""
    from sqlalchemy import event

    store, token = loaded
    client = TestClient(create_app(store, public_read=False))
    me = {"Authorization": f"Bearer {token.token}"}
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    def token_reads(path):
        seen.clear()
        assert client.get(path, headers=me).status_code == 200
        return sum("api_tokens" in s for s in seen)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        assert token_reads("/api/v1/projects/bakad") >= 1  # first use: found, checked, stamped
        assert token_reads("/api/v1/projects/bakad") == 0
        assert token_reads("/api/v1/observations") == 0
        with write() as ctx:
            add_user(ctx, "olga", "editor")
        assert token_reads("/api/v1/projects/bakad") == 1
        assert token_reads("/api/v1/projects/bakad") == 0
        with write() as ctx:
            update_user(ctx, "vera", active=False)
        assert client.get("/api/v1/projects/bakad", headers=me).status_code == 401
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def test_cache_reads_outside_a_request_commit_and_keep_prepared_statements(request):
    """The shared cache's look-up and the change tokens read without a request's transaction end
    with a commit: a ROLLBACK would make psycopg forget every statement it prepared on that
    connection (the next requests on it would prepare and plan them all again)."""
    from sqlalchemy import event, text

    from cooptrack.store import Store
    from cooptrack.store.db import make_engine
    from cooptrack.web.cache import DataVersion, SharedCache

    pg = request.getfixturevalue("postgres_store")
    if pg is None:
        pytest.skip("PostgreSQL not configured: set COOPTRACK_TEST_POSTGRES_URL to run this test")
    pg.reset()
    url = pg.store.url
    store = Store(url, engine=make_engine(url, pool_size=1, max_overflow=0))  # one connection: always the same
    rolled_back = []
    event.listen(store.engine, "rollback", lambda conn: rolled_back.append(conn))
    try:
        with store.read() as session:
            for _ in range(3):  # prepared by psycopg from its second use
                session.execute(text("SELECT count(*) FROM projects WHERE code = :c"), {"c": "x"})
        SharedCache(store).get("/api/v1/programmes/x/overview?", "1.2.3")
        assert DataVersion(store).tokens() is not None
        assert rolled_back == []
        with store.engine.connect() as conn:
            prepared = conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()
            conn.commit()
        assert prepared and prepared > 0
    finally:
        store.dispose()
