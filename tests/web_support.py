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
