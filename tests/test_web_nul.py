"""A NUL character in a parameter, a JSON body or a form is refused with a clear message (no
database stores it; PostgreSQL would refuse it with an error), and nothing is written."""

from __future__ import annotations

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from web_support import add_test_user, hidden, signed_in

from cooptrack.services.users import create_token
from cooptrack.web import create_app


@pytest.fixture
def world(demo_db, write):
    with write() as ctx:
        add_test_user(ctx, "erin", "editor")
        token = create_token(ctx, "erin").token
    app = create_app(demo_db, public_read=False)
    return demo_db, app, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("url", ["/api/v1/projects?q=a%00b", "/api/v1/observations?reporter=K%00AZ",
                                 "/api/v1/programmes/fresh-wind/overview?as_of=2019%00"])
def test_a_nul_in_a_parameter_is_a_400_naming_it(world, url):
    _store, app, me = world
    answer = TestClient(app).get(url, headers=me)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "bad_parameter" and "NUL character" in error["message"]
    assert error["parameter"] == url.split("?")[1].split("=")[0]


def test_a_nul_in_a_json_body_is_a_422_and_nothing_is_written(world):
    store, app, me = world
    client = TestClient(app)
    etag = client.get("/api/v1/projects/bakad", headers=me).headers["etag"]
    before = count_rows(store)
    answer = client.patch("/api/v1/projects/bakad", headers={**me, "If-Match": etag},
                          json={"description": "ring\u0000road"})
    assert answer.status_code == 422, answer.text
    assert "NUL character" in answer.json()["error"]["message"]
    assert count_rows(store) == before
    assert client.get("/api/v1/projects/bakad", headers=me).json()["description"] != "ring\u0000road"


def test_a_nul_in_a_form_field_is_refused_and_nothing_is_written(world):
    store, app, _me = world
    erin = signed_in(app, "erin")
    page = erin.get("/projects/bakad/edit")
    before = count_rows(store)
    answer = erin.post("/projects/bakad/edit", data={"csrf": hidden(page.text, "csrf"),
                                                     "version": hidden(page.text, "version"),
                                                     "title": "Big\u0000Ring"}, follow_redirects=False)
    assert answer.status_code == 422 and "contains a NUL character" in answer.text
    assert count_rows(store) == before
