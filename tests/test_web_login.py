"""Signing in to the web pages: the session cookie's flags, CSRF on every form and on cookie
writes through the API, the rate limit on failed sign-ins (counted in the database, the same for
every worker and across restarts), signing out."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_support import PASSWORD, add_test_user

from cooptrack.store import Store
from cooptrack.store.changes import read_tokens
from cooptrack.store.models import SignInFailures
from cooptrack.web import create_app
from cooptrack.web.sessions import LoginThrottle, TooManyAttempts


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


# -- the throttle's counts live in the database --------------------------------------------------


def failures(store: Store) -> dict[str, int]:
    with store.read() as session:
        return dict(session.execute(select(SignInFailures.key, SignInFailures.failures)).tuples().all())


@pytest.fixture
def worker_store(store: Store) -> Iterator[Callable[[], Store]]:
    """Another worker process's (or a restarted server's) store: its own engine on the same database."""
    opened: list[Store] = []

    def open_one() -> Store:
        opened.append(Store(store.url))
        return opened[-1]

    yield open_one
    for one in opened:
        one.dispose()


def test_failures_in_two_workers_add_up_and_the_lock_survives_a_restart(app, worker_store):
    first = TestClient(app, client=("192.0.2.1", 50000))
    second = TestClient(create_app(worker_store(), public_read=False), client=("192.0.2.2", 50000))
    for client in (first, second, first, second, first):
        assert sign_in(client, "vic", "wrong password!").status_code == 401
    assert failures(app.state.store) == {"user:vic": 5, "ip:192.0.2.1": 3, "ip:192.0.2.2": 2}
    for client in (first, second):  # neither worker alone saw five
        limited = sign_in(client, "vic")
        assert limited.status_code == 429 and "too many failed sign-ins" in limited.text
        assert 0 < int(limited.headers["retry-after"]) <= 901
    assert sign_in(first, "erin").status_code == 303  # the account is held, not the addresses
    restarted = TestClient(create_app(worker_store(), public_read=False), client=("192.0.2.3", 50000))
    limited = sign_in(restarted, "vic")
    assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 901


def test_an_address_is_held_across_workers_whatever_the_names(app, worker_store):
    first = TestClient(app, client=("198.51.100.7", 50000))
    second = TestClient(create_app(worker_store(), public_read=False), client=("198.51.100.7", 50000))
    for client, name in ((first, "vic"), (second, "erin"), (first, "nobody"), (second, "vic"), (first, "erin")):
        assert sign_in(client, name, "wrong password!").status_code == 401
    assert sign_in(second, "erin").status_code == 429
    assert sign_in(TestClient(app, client=("198.51.100.8", 50000)), "erin").status_code == 303


def test_a_success_forgives_the_account_and_not_the_address(app):
    client = TestClient(app)
    for _ in range(4):
        assert sign_in(client, "vic", "wrong password!").status_code == 401
    assert sign_in(client, "vic").status_code == 303
    assert failures(app.state.store) == {"ip:testclient": 4}
    assert sign_in(TestClient(app), "erin", "wrong password!").status_code == 401  # the address's fifth
    assert sign_in(TestClient(app), "erin").status_code == 429


def test_failed_sign_ins_leave_the_data_change_tokens_alone(app):
    store = app.state.store
    with store.engine.connect() as conn:
        before = read_tokens(conn)
    client = TestClient(app)
    for _ in range(5):
        assert sign_in(client, "vic", "wrong password!").status_code == 401
    assert sign_in(client, "vic").status_code == 429
    assert failures(store)["user:vic"] == 5  # written, and yet:
    with store.engine.connect() as conn:
        assert read_tokens(conn) == before


def test_failures_at_the_same_moment_are_all_counted(store, worker_store):
    """Two workers, ten threads each, fail at once: twenty failures of one account."""
    throttle = LoginThrottle()
    stores = [store, worker_store()]
    start = threading.Barrier(20)
    errors: list[BaseException] = []

    def fail(n: int) -> None:
        try:
            start.wait()
            with stores[n % 2].write() as session:
                throttle.failed(session, f"203.0.113.{n}", "Vic ")
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=fail, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    counted = failures(store)
    assert counted.pop("user:vic") == 20
    assert counted == {f"ip:203.0.113.{n}": 1 for n in range(20)}
    with store.read() as session, pytest.raises(TooManyAttempts):
        throttle.check(session, "192.0.2.99", "vic")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_the_hold_lasts_until_the_window_ends_then_the_count_starts_again(store):
    clock = Clock()
    throttle = LoginThrottle(limit=5, window=900, clock=clock)
    for _ in range(4):
        with store.write() as session:
            throttle.check(session, "a", "vic")
            throttle.failed(session, "a", "vic")
            clock.advance(10)
    with store.write() as session:
        throttle.check(session, "a", "vic")  # four: not yet
        throttle.failed(session, "a", "vic")
    clock.advance(60)
    with store.read() as session, pytest.raises(TooManyAttempts) as held:
        throttle.check(session, "b", "VIC")  # the account, from anywhere, any case
    assert held.value.retry_after == 900 - 40 - 60 + 1
    assert str(held.value) == "too many failed sign-ins; try again in 14 minutes"
    clock.advance(900 - 100)  # the window, from the first failure, has ended
    with store.write() as session:
        throttle.check(session, "a", "vic")
        throttle.failed(session, "a", "vic")
    assert failures(store) == {"user:vic": 1, "ip:a": 1}


def test_a_failure_deletes_the_rows_whose_window_has_ended(store):
    clock = Clock()
    throttle = LoginThrottle(limit=5, window=900, clock=clock)
    with store.write() as session:
        throttle.failed(session, "a", "vic")
    clock.advance(500)
    with store.write() as session:
        throttle.failed(session, "b", "erin")
    clock.advance(400)  # vic's and a's window ends now; erin's and b's does not
    with store.write() as session:
        throttle.failed(session, "c", "olga")
    assert failures(store) == {"user:erin": 1, "ip:b": 1, "user:olga": 1, "ip:c": 1}


def test_a_name_too_long_for_the_table_is_counted_by_its_digest(store):
    throttle = LoginThrottle(limit=2)
    name = "x" * 500
    for _ in range(2):
        with store.write() as session:
            throttle.failed(session, "a" * 300, name)
    counted = failures(store)
    assert sorted(counted.values()) == [2, 2] and all(len(key) <= 120 for key in counted)
    with store.read() as session, pytest.raises(TooManyAttempts):
        throttle.check(session, "elsewhere", name.upper())


def test_a_limit_of_one_holds_at_the_first_failure_and_again_after_the_window(store):
    clock = Clock()
    throttle = LoginThrottle(limit=1, window=60, clock=clock)
    for _ in range(2):
        with store.write() as session:
            throttle.check(session, "a", "vic")
            throttle.failed(session, "a", "vic")
        with store.read() as session, pytest.raises(TooManyAttempts):
            throttle.check(session, "b", "vic")
        clock.advance(60)
    assert failures(store) == {"user:vic": 1, "ip:a": 1}
