"""Uploading import files through the API on both databases: small files imported at once,
large ones as background jobs with progress, and the attacks: size limit, type sniffing, path
traversal in file names, XML bombs, who may upload; a refused file writes nothing."""

from __future__ import annotations

import time

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cooptrack.services.users import add_user, create_token
from cooptrack.store.models import AuditEvent, ImportJob, Project
from cooptrack.web import create_app

HEADER = "id,title,programme,host_country,partner_country,value,currency,value_date,sectors,status,status_date\n"


def rows(n: int, start: int = 0) -> str:
    return "".join(f"up-{i:06d},Uploaded project {i},fresh-wind,KAZ,KOR,{1000 + i},USD,2019-06-30,21020:100,"
                   f"agreed,2019\n" for i in range(start, start + n))


@pytest.fixture
def api(demo_db, write, prepare):
    def users():
        with write() as ctx:
            tokens = {}
            for role in ("viewer", "editor"):
                add_user(ctx, role, role)
                tokens[role] = create_token(ctx, role).token
        return tokens

    tokens = prepare("demo, then a viewer and an editor with tokens", users)
    client = TestClient(create_app(demo_db, public_read=True))
    client.headers["Authorization"] = f"Bearer {tokens['editor']}"
    client.viewer_token = tokens["viewer"]  # type: ignore[attr-defined]
    return client


def upload(client, kind, filename, body, **params):
    return client.post("/api/v1/imports", params={"kind": kind, "filename": filename, **params}, content=body)


def projects(store) -> int:
    with store.read() as session:
        return session.scalar(select(func.count(Project.id)))


def test_small_spreadsheet_is_imported_at_once(api, store):
    before = projects(store)
    done = upload(api, "projects", "projects.csv", (HEADER + rows(3)).encode())
    assert done.status_code == 201, done.text
    job = done.json()
    assert job["state"] == "done" and job["summary"]["created"] == 3 and job["actor"] == "editor"
    assert done.headers["location"] == f"/api/v1/imports/{job['id']}"
    assert projects(store) == before + 3
    with store.read() as session:
        actors = set(session.scalars(select(AuditEvent.actor).where(AuditEvent.entity_id == "up-000001")))
    assert actors == {"editor"}
    again = api.get(done.headers["location"]).json()
    assert again["state"] == "done" and again["filename"] == "projects.csv"


def test_a_file_with_errors_is_refused_whole(api, store):
    before = count_rows(store)
    bad = HEADER + rows(2) + "up-bad,Bad,fresh-wind,Atlantis,KOR,12,USD,2019-06-30,21020:100,agreed,2019\n"
    done = upload(api, "projects", "bad.csv", bad.encode())
    assert done.status_code == 201
    job = done.json()
    assert job["state"] == "refused" and not job["report"]["valid"]
    finding = job["report"]["findings"][0]
    assert finding["row"] == 4 and "Atlantis" in finding["message"]
    after = count_rows(store)
    assert after.pop("import_jobs") == before.pop("import_jobs") + 1
    assert after == before  # nothing but the job's own record


def test_dry_run_writes_nothing(api, store):
    before = projects(store)
    job = upload(api, "projects", "p.csv", (HEADER + rows(2)).encode(), dry_run="true").json()
    assert job["state"] == "done" and job["dry_run"] is True
    assert projects(store) == before


def test_large_file_runs_as_a_job_with_progress(api, store):
    body = (HEADER + rows(13000)).encode()
    assert len(body) > 1024 * 1024
    started = upload(api, "projects", "big.csv", body)
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    states = set()
    for _ in range(600):
        job = api.get(location).json()
        states.add(job["state"])
        if job["state"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    assert job["state"] == "done", job
    assert job["summary"]["created"] == 13000
    assert states <= {"queued", "running", "done"}
    listed = api.get("/api/v1/imports").json()
    assert listed[0]["id"] == job["id"]


def test_iati_upload_and_an_xml_bomb(api, store, shared_data):
    sample = next((shared_data / "iati/activities/schema-tests/activity-tests/should-pass").glob("*.xml"))
    ok = upload(api, "iati", sample.name, sample.read_bytes())
    assert ok.status_code == 201 and ok.json()["state"] == "done", ok.text
    before = count_rows(store)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">'.encode()
                       for i in range(1, 10))
            + b']><iati-activities version="2.03"><iati-activity>&lol9;</iati-activity></iati-activities>')
    refused = upload(api, "iati", "bomb.xml", bomb)
    assert refused.status_code == 201
    job = refused.json()
    assert job["state"] == "refused" and job["report"]["findings"]
    after = count_rows(store)
    after.pop("import_jobs"), before.pop("import_jobs")
    assert after == before


@pytest.mark.parametrize("kind, filename, body, status, words", [
    ("projects", "p.xlsx", HEADER.encode(), 415, "not an Excel workbook"),
    ("projects", "p.exe", HEADER.encode(), 415, ".csv, .xlsx"),
    ("iati", "a.xml", b"PK\x03\x04binary", 415, "binary"),
    ("iati", "a.xml", b"id,title\n", 415, "not XML"),
    ("trade", "t.csv", b"\x00\x01\x02\x03" * 100, 415, "binary"),
    ("projects", "p.csv", b"", 422, "empty"),
    ("spreadsheet", "p.csv", HEADER.encode(), 400, "kind 'spreadsheet'"),
])
def test_wrong_uploads_are_refused_before_anything_runs(api, store, kind, filename, body, status, words):
    before = count_rows(store)
    response = upload(api, kind, filename, body)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]
    assert count_rows(store) == before  # not even a job row


def test_size_limit(api, store, monkeypatch):
    monkeypatch.setenv("COOPTRACK_MAX_UPLOAD_MB", "0.01")
    before = count_rows(store)
    response = upload(api, "projects", "p.csv", (HEADER + rows(200)).encode())
    assert response.status_code == 413 and "upload limit" in response.json()["error"]["message"]
    body = (HEADER + rows(200)).encode()
    chunked = api.post("/api/v1/imports", params={"kind": "projects", "filename": "p.csv"},
                       content=(body[i:i + 1000] for i in range(0, len(body), 1000)))  # no Content-Length
    assert chunked.status_code == 413 and "upload limit" in chunked.json()["error"]["message"]
    assert count_rows(store) == before


def test_path_traversal_in_the_file_name_stays_a_name(api, store, tmp_path):
    done = upload(api, "projects", "../../../../etc/cron.d/evil.csv", (HEADER + rows(1)).encode())
    assert done.status_code == 201
    assert done.json()["filename"] == "evil.csv"
    windows = upload(api, "projects", "..\\..\\windows\\x.csv", (HEADER + rows(1, 5)).encode())
    assert windows.json()["filename"] == "x.csv"
    with store.read() as session:
        assert set(session.scalars(select(ImportJob.filename))) == {"evil.csv", "x.csv"}


def test_only_editors_upload(api, store):
    anonymous = TestClient(api.app)
    assert upload(anonymous, "projects", "p.csv", HEADER.encode()).status_code == 401
    viewer = TestClient(api.app, headers={"Authorization": f"Bearer {api.viewer_token}"})
    assert upload(viewer, "projects", "p.csv", HEADER.encode()).status_code == 403
    assert viewer.get("/api/v1/imports").status_code == 403
