"""Signing in to the web pages in tests: the login form's CSRF token, a signed-in client, test
users whose password is hashed once per session."""

from __future__ import annotations

import re
from functools import cache
from unittest import mock

from fastapi.testclient import TestClient

from cooptrack.services import users
from cooptrack.services.context import Context
from cooptrack.store.models import User

PASSWORD = "correct horse battery"
_hash_secret = users.hash_secret


@cache
def _hashed_once(password: str) -> str:
    return _hash_secret(password)


def add_test_user(ctx: Context, name: str, role: str, password: str = PASSWORD) -> User:
    """`add_user` with ``password``, hashed once per session: every test user with that password
    stores the same real scrypt hash (one salt for all of them), and signing in verifies it for
    real. Saves scrypt's ~0.1 s per user in each test's setup."""
    with mock.patch.object(users, "hash_secret", _hashed_once):
        return users.add_user(ctx, name, role, password)


def hidden(html: str, name: str) -> str:
    """The value of the hidden form field ``name`` in ``html``."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def signed_in(app, name: str, password: str = PASSWORD) -> TestClient:
    """A client of ``app`` signed in as ``name`` through the login form."""
    client = TestClient(app)
    form = client.get("/login")
    done = client.post("/login", data={"name": name, "password": password, "csrf": hidden(form.text, "csrf")},
                       follow_redirects=False)
    assert done.status_code == 303
    return client


def add_projects_and_trade(ctx: Context, projects: list[tuple], exports: tuple[tuple[str, str], ...]) -> None:
    """The web tests' extra register: ``projects`` (code, title, status, value, currency, sector,
    host) in fresh-wind, each with its status since 2019-05; Kazakh exports to Korea in 2019 by HS
    code (``exports``: code, value) and one import line (HS 8703)."""
    from cooptrack.services.observations import ObservationSpec, add_observation
    from cooptrack.services.projects import ProjectSpec, StatusSpec, add_status_event, register_project

    for code, title, status, value, currency, sector, host in projects:
        register_project(ctx, ProjectSpec(code, title, programme="fresh-wind", host_country=host,
                                          partner_country="KOR" if host == "KAZ" else "KAZ", value=value,
                                          currency=currency, value_date="2019-06-30" if value else None,
                                          sectors={sector: 100}))
        add_status_event(ctx, StatusSpec(code, status, "2019-05"))
    for hs, value in exports:
        add_observation(ctx, ObservationSpec("exports", "KAZ", "2019", value, "USD", partner="KOR", hs_code=hs))
    add_observation(ctx, ObservationSpec("imports", "KAZ", "2019", "300000000", "USD", partner="KOR", hs_code="8703"))
