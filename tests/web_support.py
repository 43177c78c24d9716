"""Signing in to the web pages in tests: the login form's CSRF token, a signed-in client."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


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
