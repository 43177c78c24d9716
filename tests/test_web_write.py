"""The write API on both databases: who may do what (every write endpoint times every role,
anonymous included), ETag and If-Match (no lost updates), the audit trail of API changes, and
invalid bodies refused with findings and nothing written."""

from __future__ import annotations

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from sqlalchemy import select

from cooptrack.services.claims import list_claims
from cooptrack.services.users import add_user, create_token
from cooptrack.store.models import AuditEvent
from cooptrack.web import create_app

ROLES = ("viewer", "editor", "reviewer", "admin")


@pytest.fixture
def world(demo_db, write, prepare):
    def users():
        tokens = {}
        with write() as ctx:
            for role in ROLES:
                add_user(ctx, f"{role}-user", role)
                tokens[role] = create_token(ctx, f"{role}-user").token
        return tokens

    tokens = prepare("demo, then a user and a token of each role", users)
    with write() as ctx:
        pending = [c.id for c in list_claims(ctx, "fresh-wind", "pending")]
    return demo_db, tokens, pending


def client_for(store, public_read):
    return TestClient(create_app(store, public_read=public_read))


def auth(tokens, role):
    return {} if role is None else {"Authorization": f"Bearer {tokens[role]}"}


def send(client, method, url, body, headers):
    """A JSON body, or a document's bytes as the body itself (a source upload)."""
    if isinstance(body, bytes):
        return client.request(method, url, content=body, headers=headers)
    return client.request(method, url, json=body, headers=headers)


def write_calls(pending):
    """Every write endpoint with a body that succeeds for an allowed role, and the action it needs."""
    claim = pending[0]
    return [
        ("edit", "POST", "/api/v1/programmes", {"code": "uz-kr", "name": "Uzbekistan-Korea", "parties": ["UZB", "KOR"]},
         None),
        ("edit", "PATCH", "/api/v1/programmes/fresh-wind", {"description": "edited"}, "/api/v1/programmes/fresh-wind"),
        ("edit", "POST", "/api/v1/projects", {"code": "new-plant", "title": "New plant", "programme": "fresh-wind"},
         None),
        ("edit", "PATCH", "/api/v1/projects/bakad", {"description": "edited"}, "/api/v1/projects/bakad"),
        ("edit", "POST", "/api/v1/projects/car-assembly-plant/status", {"status": "agreed", "effective": "2020"}, None),
        ("edit", "POST", "/api/v1/observations", {"indicator": "trade_turnover", "reporter": "KAZ", "partner": "KOR",
                                                  "period": "2020", "value": "4200000000", "unit": "USD"}, None),
        ("edit", "PATCH", "/api/v1/observations/1", {"note": "edited"}, "/api/v1/observations/1"),
        ("edit", "POST", "/api/v1/targets", {"programme": "fresh-wind", "indicator": "enterprises", "reporter": "KAZ",
                                             "partner": "KOR", "period": "2022", "unit": "enterprise", "value": "800"},
         None),
        ("edit", "POST", "/api/v1/rates", {"currency": "KRW", "period": "2019", "per_usd": "1165.36",
                                           "source": "Bank of Korea"}, None),
        ("edit", "PATCH", "/api/v1/targets/1", {"note": "edited"}, "/api/v1/targets/1"),
        ("edit", "PUT", "/api/v1/projects/bakad/participants",
         [{"name": "Korea Expressway Corporation", "role": "implementing", "country": "KOR"}],
         "/api/v1/projects/bakad"),
        ("edit", "POST", "/api/v1/sources?filename=matrix.txt&kind=media",
         b"Kazakhstan and Korea signed 40 agreements worth US$7 billion.", None),
        ("edit", "PATCH", "/api/v1/sources/qazaqtv-40-projects", {"note": "edited"},
         "/api/v1/sources/qazaqtv-40-projects"),
        ("review", "PATCH", f"/api/v1/claims/{claim}", {"approximate": True}, f"/api/v1/claims/{claim}"),
        ("review", "POST", f"/api/v1/claims/{claim}/reject", {"reason": "not about the programme"},
         f"/api/v1/claims/{claim}"),
    ]


ALLOWED = {"edit": {"editor", "admin"}, "review": {"reviewer", "admin"}}


@pytest.mark.parametrize("role", [None, *ROLES])
@pytest.mark.parametrize("public_read", [False, True])
def test_authorization_matrix(world, role, public_read):
    store, tokens, pending = world
    client = client_for(store, public_read)
    for action, method, url, body, etag_from in write_calls(pending):
        headers = auth(tokens, role)
        if etag_from:
            fetched = client.get(etag_from, headers=auth(tokens, "admin"))
            headers["If-Match"] = fetched.headers["etag"]
        response = send(client, method, url, body, headers)
        if role is None:
            expected = 401
        elif role in ALLOWED[action]:
            expected = 201 if method == "POST" and not url.endswith("/reject") else 200
        else:
            expected = 403
        assert response.status_code == expected, (role, method, url, response.text)
        if expected == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["error"]["code"] == "not_authenticated"
        if expected == 403:
            assert response.json()["error"]["code"] == "forbidden"
            assert role in response.json()["error"]["message"]
    # Reading: anonymous only with --public-read; every role always.
    for url in ("/api/v1/projects", "/api/v1/targets/1"):
        read = client.get(url, headers=auth(tokens, role))
        assert read.status_code == (401 if role is None and not public_read else 200), url


def test_refused_writes_write_nothing(world):
    store, tokens, pending = world
    client = client_for(store, public_read=True)
    before = count_rows(store)
    for _action, method, url, body, _etag in write_calls(pending):
        for role in (None, "viewer"):
            response = send(client, method, url, body, auth(tokens, role) | {"If-Match": '"1"'})
            assert response.status_code in (401, 403)
    assert count_rows(store) == before


def test_bad_tokens_are_401(world):
    store, tokens, _ = world
    client = client_for(store, public_read=False)
    for header in ("Bearer ct_00000000_nothing", "Bearer " + tokens["admin"][:-2], "Basic abc", "Bearer "):
        response = client.get("/api/v1/projects", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert tokens["admin"] not in response.text


def test_if_match_no_lost_updates(world, read):
    store, tokens, _ = world
    client = client_for(store, public_read=False)
    editor = auth(tokens, "editor")
    first = client.get("/api/v1/projects/bakad", headers=editor)
    tag = first.headers["etag"]
    assert tag == f'"{first.json()["version"]}"'

    missing = client.patch("/api/v1/projects/bakad", json={"title": "A"}, headers=editor)
    assert missing.status_code == 428 and "If-Match" in missing.json()["error"]["message"]
    garbage = client.patch("/api/v1/projects/bakad", json={"title": "A"}, headers=editor | {"If-Match": "abc"})
    assert garbage.status_code == 400 and garbage.json()["error"]["parameter"] == "If-Match"

    ok = client.patch("/api/v1/projects/bakad", json={"title": "BAKAD ring road"}, headers=editor | {"If-Match": tag})
    assert ok.status_code == 200, ok.text
    assert ok.json()["title"] == "BAKAD ring road" and ok.headers["etag"] != tag

    stale = client.patch("/api/v1/projects/bakad", json={"title": "Lost"}, headers=editor | {"If-Match": tag})
    assert stale.status_code == 412
    err = stale.json()["error"]
    assert err["code"] == "stale_version" and err["current"]["title"] == "BAKAD ring road"
    assert client.get("/api/v1/projects/bakad", headers=editor).json()["title"] == "BAKAD ring road"

    with read() as ctx:
        event = ctx.session.scalars(select(AuditEvent).where(AuditEvent.entity == "project")
                                    .order_by(AuditEvent.id.desc())).first()
    assert event.actor == "editor-user" and event.request_id == ok.headers["x-request-id"]
    assert event.after["title"] == "BAKAD ring road" and event.before["title"] != event.after["title"]


def test_project_edit_goes_through_the_same_checks(world):
    store, tokens, _ = world
    client = client_for(store, public_read=False)
    editor = auth(tokens, "editor")
    tag = client.get("/api/v1/projects/bakad", headers=editor).headers["etag"]
    before = count_rows(store)
    bad = client.patch("/api/v1/projects/bakad", json={"host_country": "Atlantis", "currency": "XXQ", "value": "5"},
                       headers=editor | {"If-Match": tag})
    assert bad.status_code == 422
    fields = {f["field"] for f in bad.json()["error"]["findings"]}
    assert {"host country", "currency"} <= fields
    assert count_rows(store) == before
    unknown = client.patch("/api/v1/projects/bakad", json={"colour": "red"}, headers=editor | {"If-Match": tag})
    assert unknown.status_code == 422 and unknown.json()["error"]["findings"][0]["field"] == "colour"


@pytest.mark.parametrize("body, field", [
    ({"code": "x"}, "name"),
    ({"code": "x", "name": "X", "parties": "KAZ"}, "parties"),
    ({"code": "x", "name": "X", "parties": ["KAZ"], "unknown": 1}, "unknown"),
])
def test_invalid_bodies_are_422_with_findings(world, body, field):
    store, tokens, _ = world
    client = client_for(store, public_read=False)
    before = count_rows(store)
    response = client.post("/api/v1/programmes", json=body, headers=auth(tokens, "admin"))
    assert response.status_code == 422
    err = response.json()["error"]
    assert err["code"] == "invalid_input" and field in {f["field"] for f in err["findings"]}
    assert count_rows(store) == before


def test_duplicate_is_409_and_claim_review_uses_if_match(world):
    store, tokens, pending = world
    client = client_for(store, public_read=False)
    dup = client.post("/api/v1/programmes", json={"code": "fresh-wind", "name": "again", "parties": ["KAZ", "KOR"]},
                      headers=auth(tokens, "editor"))
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "already_exists"
    reviewer = auth(tokens, "reviewer")
    claim = client.get(f"/api/v1/claims/{pending[0]}", headers=reviewer)
    stale = client.post(f"/api/v1/claims/{pending[0]}/reject", json={"reason": "x"},
                        headers=reviewer | {"If-Match": f'"{claim.json()["version"] + 5}"'})
    assert stale.status_code == 412 and stale.json()["error"]["current"]["review"] == "pending"
    done = client.post(f"/api/v1/claims/{pending[0]}/reject", json={"reason": "off topic"},
                       headers=reviewer | {"If-Match": claim.headers["etag"]})
    assert done.status_code == 200 and done.json()["review"] == "rejected"


def test_openapi_documents_the_write_api(world):
    store, _, _ = world
    spec = client_for(store, public_read=True).get("/api/v1/openapi.json").json()
    assert "patch" in spec["paths"]["/api/v1/projects/{code}"]
    assert "post" in spec["paths"]["/api/v1/claims/{claim_id}/accept"]
    responses = spec["paths"]["/api/v1/projects/{code}"]["patch"]["responses"]
    assert {"401", "403", "412", "422", "428"} <= set(responses)
    for path, method in (("/api/v1/targets/{target_id}", "patch"), ("/api/v1/projects/{code}/participants", "put")):
        assert {"401", "403", "412", "422", "428"} <= set(spec["paths"][path][method]["responses"]), path
    upload = spec["paths"]["/api/v1/sources"]["post"]
    assert {"200", "201", "401", "403", "409", "413", "415", "422"} <= set(upload["responses"])
    assert {"text/plain", "text/html", "application/pdf"} <= set(upload["requestBody"]["content"])
    assert upload["summary"] == "Upload a source document" and "SHA-256" in upload["description"]
