"""Signing in to the web pages: the session cookie's flags, CSRF on every form and on cookie
writes through the API, the rate limit on failed sign-ins, signing out."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from web_support import PASSWORD, add_test_user

from cooptrack.web import create_app


@pytest.fixture
def app(demo_db, write):
    with write() as ctx:
        add_test_user(ctx, "erin", "editor")
        add_test_user(ctx, "vic", "viewer")
    return create_app(demo_db, public_read=False)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name} field"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD, next_page: str = "/"):
    form = client.get("/login")
    assert form.status_code == 200
    return client.post("/login", data={"name": name, "password": password, "csrf": hidden(form.text, "csrf"),
                                       "next": next_page}, follow_redirects=False)


def test_pages_need_sign_in_then_show_the_user(app):
    client = TestClient(app)
    refused = client.get("/", headers={"accept": "text/html"})
    assert refused.status_code == 401 and 'data-testid="error-login"' in refused.text
    done = sign_in(client, "erin", next_page="/programmes/fresh-wind")
    assert done.status_code == 303 and done.headers["location"] == "/programmes/fresh-wind"
    cookie = done.headers["set-cookie"]
    assert "cooptrack_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain http here; see the https test
    page = client.get("/programmes/fresh-wind")
    assert page.status_code == 200 and 'data-testid="signed-in-as">erin<' in page.text
    assert client.get("/api/v1/projects/bakad").status_code == 200  # the API reads with the cookie too


def test_cookie_is_secure_behind_tls(app):
    client = TestClient(app, base_url="https://testserver")
    done = sign_in(client, "erin")
    assert done.status_code == 303 and "Secure" in done.headers["set-cookie"]


def test_wrong_password_and_missing_form_token(app):
    client = TestClient(app)
    wrong = sign_in(client, "erin", "not the password")
    assert wrong.status_code == 401 and 'data-testid="login-error"' in wrong.text
    assert "cooptrack_session" not in wrong.headers.get("set-cookie", "")
    client.get("/login")
    forged = client.post("/login", data={"name": "erin", "password": PASSWORD, "csrf": "guess"},
                         follow_redirects=False)
    assert forged.status_code == 403 and "cooptrack_session=" not in forged.headers.get("set-cookie", "")
    other = TestClient(app)  # no login cookie at all, as from another site
    assert other.post("/login", data={"name": "erin", "password": PASSWORD, "csrf": "x"},
                      follow_redirects=False).status_code == 403


def test_failed_sign_ins_are_rate_limited(app):
    client = TestClient(app)
    for _ in range(5):
        assert sign_in(client, "vic", "wrong password!").status_code == 401
    limited = sign_in(client, "vic")  # even the right password waits now
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in limited.text


def test_cookie_writes_through_the_api_need_the_csrf_token(app):
    client = TestClient(app)
    sign_in(client, "erin")
    page = client.get("/")
    csrf = hidden(page.text, "csrf")
    tag = client.get("/api/v1/projects/bakad").headers["etag"]
    refused = client.patch("/api/v1/projects/bakad", json={"description": "x"}, headers={"If-Match": tag})
    assert refused.status_code == 403 and "security token" in refused.json()["error"]["message"]
    done = client.patch("/api/v1/projects/bakad", json={"description": "x"},
                        headers={"If-Match": tag, "X-CSRF-Token": csrf})
    assert done.status_code == 200


def test_viewer_session_cannot_write_and_sign_out_ends_the_session(app):
    client = TestClient(app)
    sign_in(client, "vic")
    csrf = hidden(client.get("/").text, "csrf")
    tag = client.get("/api/v1/projects/bakad").headers["etag"]
    assert client.patch("/api/v1/projects/bakad", json={"description": "x"},
                        headers={"If-Match": tag, "X-CSRF-Token": csrf}).status_code == 403
    assert client.post("/logout", data={"csrf": "wrong"}, follow_redirects=False).status_code == 403
    out = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/", headers={"accept": "text/html"}).status_code == 401


def test_public_read_shows_pages_and_a_sign_in_link(demo_db):
    client = TestClient(create_app(demo_db, public_read=True))
    home = client.get("/")
    assert home.status_code == 200 and 'data-testid="login-link"' in home.text
