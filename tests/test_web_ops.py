"""Running for real: the audit API, structured logs with request ids (and no secrets), the
app built from the environment as each worker builds it."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from cooptrack.services.users import add_user, create_token
from cooptrack.web import create_app
from cooptrack.web.logs import JsonLines


@pytest.fixture
def served(demo_db, write):
    with write() as ctx:
        add_user(ctx, "vera", "viewer")
        token = create_token(ctx, "vera").token
    return demo_db, token


def test_audit_api_filters_and_is_not_public(served):
    store, token = served
    client = TestClient(create_app(store, public_read=True))
    assert client.get("/api/v1/audit").status_code == 401  # public reading does not open the audit log
    me = {"Authorization": f"Bearer {token}"}
    everything = client.get("/api/v1/audit", headers=me).json()
    assert everything["total"] > 10 and everything["items"][0]["id"] > everything["items"][-1]["id"]
    projects = client.get("/api/v1/audit?entity=project&page_size=1", headers=me).json()
    assert projects["items"] and {e["entity"] for e in projects["items"]} == {"project"}
    assert projects["next"] is not None
    today = everything["items"][0]["at"][:10]
    assert client.get(f"/api/v1/audit?since={today}&until={today}", headers=me).json()["total"] == everything["total"]
    assert client.get("/api/v1/audit?until=2000-01-01", headers=me).json()["total"] == 0
    assert client.get("/api/v1/audit?actor=nobody", headers=me).json()["total"] == 0
    bad = client.get("/api/v1/audit?since=yesterday", headers=me)
    assert bad.status_code == 400 and bad.json()["error"]["parameter"] == "since"
    tokens = client.get("/api/v1/audit?entity=api_token", headers=me).json()["items"]
    assert tokens and token not in json.dumps(tokens)


def test_private_server_refuses_anonymous_pages_and_api(served):
    store, token = served
    client = TestClient(create_app(store, public_read=False))
    for url in ("/api/v1/programmes", "/api/v1/projects/bakad", "/api/v1/programmes/fresh-wind/overview"):
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_request_log_lines_carry_the_request_id_and_no_secret(served, caplog):
    store, token = served
    client = TestClient(create_app(store, public_read=False))
    with caplog.at_level(logging.INFO, logger="cooptrack.web.access"):
        ok = client.get("/api/v1/programmes?x=1", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "r-1"})
        refused = client.get("/api/v1/programmes", headers={"Authorization": "Bearer ct_00000000_guess"})
        odd = client.get("/api/v1/programmes", headers={"X-Request-ID": "bad id\nwith newline"})
    assert ok.headers["x-request-id"] == "r-1" and refused.status_code == 401
    assert odd.headers["x-request-id"] != "bad id\nwith newline" and len(odd.headers["x-request-id"]) == 16
    lines = [JsonLines().format(r) for r in caplog.records if r.name == "cooptrack.web.access"]
    parsed = [json.loads(line) for line in lines]
    assert [(p["request_id"], p["status"], p["actor"]) for p in parsed[:1]] == [("r-1", 200, "vera")]
    assert parsed[0]["path"] == "/api/v1/programmes" and parsed[0]["method"] == "GET" and parsed[0]["ms"] >= 0
    assert parsed[1]["status"] == 401
    everything = "\n".join(lines)
    assert token not in everything and "guess" not in everything and "Bearer" not in everything


def test_each_worker_builds_the_app_from_the_environment(served, monkeypatch):
    store, _ = served
    from cooptrack.web.app import from_environment

    monkeypatch.setenv("COOPTRACK_DATABASE_URL", store.url)
    monkeypatch.setenv("COOPTRACK_PUBLIC_READ", "1")
    app = from_environment()
    try:
        client = TestClient(app)
        assert client.get("/api/v1/programmes").headers["x-cache"] == "miss"
        assert client.get("/api/v1/programmes").headers["x-cache"] == "hit"  # answered in front of the app
    finally:
        app.app.state.store.dispose()
        for name in ("cooptrack", "uvicorn", "uvicorn.error"):
            logging.getLogger(name).propagate = True
            logging.getLogger(name).handlers[:] = []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite's one writer; PostgreSQL locks rows
def test_sqlite_writer_held_too_long_is_503_with_retry_after(served, monkeypatch):
    store, _ = served
    import sqlite3

    from cooptrack.services.users import add_user, create_token
    from cooptrack.store import Store

    with store.write() as session:
        from cooptrack.services.context import Context

        ctx = Context(session, "tester")
        add_user(ctx, "erin", "editor")
        token = create_token(ctx, "erin").token
    monkeypatch.setenv("COOPTRACK_BUSY_TIMEOUT_MS", "200")
    quick = Store(store.url)  # a server started with the short wait
    client = TestClient(create_app(quick, public_read=True))
    me = {"Authorization": f"Bearer {token}"}
    tag = client.get("/api/v1/projects/bakad", headers=me).headers["etag"]
    holder = sqlite3.connect(store.url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        busy = client.patch("/api/v1/projects/bakad", json={"description": "x"}, headers=me | {"If-Match": tag})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
    assert busy.json()["error"]["code"] == "store_unavailable" and "busy" in busy.json()["error"]["message"]
    done = client.patch("/api/v1/projects/bakad", json={"description": "x"}, headers=me | {"If-Match": tag})
    assert done.status_code == 200  # nothing was written by the refused attempt: the same version still applies
    quick.dispose()
