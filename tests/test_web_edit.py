"""Editing from the web pages: the project form (findings beside their fields, what changed
meanwhile on a stale version), the status form, claim review buttons, the audit page; each with
the session's CSRF token and the role it needs."""

from __future__ import annotations

import re

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from web_support import add_test_user, hidden, signed_in

from cooptrack.services.claims import list_claims
from cooptrack.web import create_app


@pytest.fixture
def app(demo_db, write):
    with write() as ctx:
        for name, role in (("erin", "editor"), ("rita", "reviewer"), ("vic", "viewer")):
            add_test_user(ctx, name, role)
    return create_app(demo_db, public_read=True)


def edit_form(client: TestClient) -> dict[str, str]:
    page = client.get("/projects/bakad/edit")
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input name="(\w+)" value="([^"]*)"', page.text))
    fields["description"] = re.search(r'<textarea name="description"[^>]*>([^<]*)</textarea>', page.text).group(1)
    return fields | {"csrf": hidden(page.text, "csrf"), "version": hidden(page.text, "version")}


def test_edit_a_project_from_its_page(app):
    erin = signed_in(app, "erin")
    assert 'data-testid="project-edit"' in erin.get("/projects/bakad").text
    form = edit_form(erin)
    saved = erin.post("/projects/bakad/edit", data=form | {"title": "BAKAD ring road"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/projects/bakad"
    assert erin.get("/api/v1/projects/bakad").json()["title"] == "BAKAD ring road"
    audit = erin.get("/audit?entity=project&actor=erin")
    assert audit.status_code == 200 and 'data-testid="audit-event"' in audit.text and "<code>title</code>" in audit.text


def test_the_form_shows_the_national_id_and_clears_it(app, write):
    """The form showed the national id blank whatever was stored (the project page's read left it
    out); it shows it now, and emptying the field clears it."""
    from sqlalchemy import select

    from cooptrack.store.models import Project

    with write() as ctx:
        ctx.session.scalar(select(Project).where(Project.code == "bakad")).national_id = "KZ-PPP-2017/01"
    erin = signed_in(app, "erin")
    form = edit_form(erin)
    assert form["national_id"] == "KZ-PPP-2017/01"
    assert erin.get("/api/v1/projects/bakad").json()["national_id"] == "KZ-PPP-2017/01"
    saved = erin.post("/projects/bakad/edit", data=form | {"national_id": ""}, follow_redirects=False)
    assert saved.status_code == 303
    assert erin.get("/api/v1/projects/bakad").json()["national_id"] is None


def test_findings_come_back_beside_their_fields(app, store):
    erin = signed_in(app, "erin")
    form = edit_form(erin)
    before = count_rows(store)
    bad = erin.post("/projects/bakad/edit", data=form | {"host_country": "Atlantis", "planned_start": "2019-13-01"})
    assert bad.status_code == 422
    assert 'data-testid="error-host_country"' in bad.text and "Atlantis" in bad.text
    assert 'data-testid="error-planned_start"' in bad.text
    assert 'value="Atlantis"' in bad.text  # what was typed is kept
    assert count_rows(store) == before


def test_a_stale_form_shows_what_changed_meanwhile(app):
    erin = signed_in(app, "erin")
    mine = edit_form(erin)
    other = edit_form(erin)
    assert erin.post("/projects/bakad/edit", data=other | {"title": "Changed first"},
                     follow_redirects=False).status_code == 303
    late = erin.post("/projects/bakad/edit", data=mine | {"description": "My description"})
    assert late.status_code == 409 and 'data-testid="changed-meanwhile"' in late.text
    assert "Changed first" in late.text and "My description" in late.text
    assert erin.get("/api/v1/projects/bakad").json()["description"] != "My description"
    again = erin.post("/projects/bakad/edit", data=mine | {"description": "My description", "title": "Changed first",
                                                            "version": hidden(late.text, "version")},
                      follow_redirects=False)
    assert again.status_code == 303


def test_forms_need_the_token_and_the_role(app):
    erin = signed_in(app, "erin")
    form = edit_form(erin)
    assert erin.post("/projects/bakad/edit", data=form | {"csrf": "forged", "title": "x"}).status_code == 403
    vic = signed_in(app, "vic")
    assert vic.get("/projects/bakad/edit").status_code == 403
    assert 'data-testid="project-edit"' not in vic.get("/projects/bakad").text
    anonymous = TestClient(app)
    assert anonymous.get("/projects/bakad/edit", headers={"accept": "text/html"}).status_code == 401
    assert anonymous.get("/audit", headers={"accept": "text/html"}).status_code == 401  # not public


def test_status_form(app):
    erin = signed_in(app, "erin")
    page = erin.get("/projects/car-assembly-plant")
    csrf = hidden(page.text, "csrf")
    done = erin.post("/projects/car-assembly-plant/status",
                     data={"csrf": csrf, "status": "agreed", "effective": "2020"}, follow_redirects=False)
    assert done.status_code == 303
    assert erin.get("/api/v1/projects/car-assembly-plant").json()["status"] == "agreed"
    bad = erin.post("/projects/car-assembly-plant/status", data={"csrf": csrf, "status": "pipeline",
                                                                 "effective": "2019"})
    assert bad.status_code == 422 and 'data-testid="form-errors"' in bad.text


def test_review_buttons(app, read):
    rita = signed_in(app, "rita")
    queue = rita.get("/claims?review=pending")
    with read() as ctx:
        claim = list_claims(ctx, "fresh-wind", "pending")[0]
    assert f'data-testid="reject-{claim.id}"' in queue.text
    csrf = hidden(queue.text, "csrf")
    done = rita.post(f"/claims/{claim.id}/review", data={"csrf": csrf, "version": claim.version,
                                                        "decision": "reject", "reason": "off topic"},
                     follow_redirects=False)
    assert done.status_code == 303
    assert rita.get(f"/api/v1/claims/{claim.id}").json()["review"] == "rejected"
    stale = rita.post(f"/claims/{claim.id}/review", data={"csrf": csrf, "version": claim.version,
                                                         "decision": "reject"})
    assert stale.status_code == 412 and 'data-testid="review-error"' in stale.text
    erin = signed_in(app, "erin")
    assert 'data-testid="reject-' not in erin.get("/claims?review=pending").text


HEADER = "id,title,programme,host_country,partner_country,value,currency,value_date,sectors,status,status_date\n"


def test_import_from_the_web_page(app, store):
    erin = signed_in(app, "erin")
    page = erin.get("/imports")
    assert page.status_code == 200 and 'id="import-form"' in page.text
    csrf = hidden(page.text, "csrf")
    good = HEADER + "web-1,Web project,fresh-wind,KAZ,KOR,1000,USD,2019-06-30,21020:100,agreed,2019\n"
    done = erin.post("/imports", data={"csrf": csrf, "kind": "projects"},
                     files={"file": ("../../evil.csv", good.encode(), "text/csv")}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/imports/")
    job = erin.get(done.headers["location"])
    assert 'data-value="done"' in job.text and "evil.csv" in job.text and "1 created" in job.text
    assert erin.get("/api/v1/projects/web-1").status_code == 200
    before = count_rows(store)
    bad = HEADER + "web-2,Bad,fresh-wind,Atlantis,KOR,1000,USD,2019-06-30,21020:100,agreed,2019\n"
    refused = erin.post("/imports", data={"csrf": csrf, "kind": "projects"},
                        files={"file": ("bad.csv", bad.encode(), "text/csv")})
    assert 'data-value="refused"' in refused.text and 'data-testid="job-findings"' in refused.text
    assert "Atlantis" in refused.text
    after = count_rows(store)
    assert after.pop("import_jobs") == before.pop("import_jobs") + 1 and after == before
    wrong = erin.post("/imports", data={"csrf": csrf, "kind": "projects"},
                      files={"file": ("p.xlsx", good.encode(), "application/octet-stream")})
    assert wrong.status_code == 415 and 'data-testid="import-error"' in wrong.text
    forged = erin.post("/imports", data={"csrf": "forged", "kind": "projects"},
                       files={"file": ("p.csv", good.encode(), "text/csv")})
    assert forged.status_code == 403
    vic = signed_in(app, "vic")
    assert vic.get("/imports").status_code == 403
