"""Backups through the API on both databases: GET /api/v1/backup gives the data package as a ZIP
(the files `cooptrack export datapackage` writes, byte for byte), an upload of kind datapackage
restores it into an empty database (whose accounts the backup's replace), and a download after
the restore gives the same bytes. Hostile ZIPs (path traversal, links, duplicates, bombs, members
nobody declared, no descriptor, not a ZIP at all) are refused with their message before anything
is written; only admins may do either; the imports page offers both to admins only; the command
line reads and writes the same ZIP."""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
import warnings
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import count_rows, load_demo
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from web_support import add_test_user, hidden, signed_in

from cooptrack.services.backup import NOT_BACKED_UP, export_datapackage, export_datapackage_zip
from cooptrack.services.context import Context
from cooptrack.services.users import add_user, create_token
from cooptrack.store import Store
from cooptrack.store.models import AuditEvent, Base, ImportJob, User
from cooptrack.web import api_imports, create_app

ROLES = ("viewer", "editor", "reviewer", "admin")
BACKED_UP = sorted([f"{t}.csv" for t in Base.metadata.tables if t not in NOT_BACKED_UP] + ["datapackage.json"])


@pytest.fixture
def world(demo_db, write, prepare):
    """The demo, a user of each role who can sign in (password) and a token of each."""

    def users():
        tokens = {}
        with write() as ctx:
            for role in ROLES:
                add_test_user(ctx, f"{role}-user", role)
                tokens[role] = create_token(ctx, f"{role}-user").token
        return tokens

    return demo_db, prepare("demo, then a signed-in user and a token of each role (backups)", users)


@pytest.fixture(scope="module")
def backup_zip(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> bytes:
    """A valid backup of the demo and an admin who signs in with a token only (from SQLite; the
    revision is every test database's), the base the hostile ZIPs are made from."""
    folder = tmp_path_factory.mktemp("backup-zip")
    shutil.copy(sqlite_template, folder / "demo.db")
    source = Store(f"sqlite:///{folder / 'demo.db'}")
    load_demo(source)
    with source.write() as session:
        ctx = Context(session, "tester")
        add_user(ctx, "keeper", "admin")
        create_token(ctx, "keeper")
    export_datapackage_zip(source, folder / "backup.zip")
    source.dispose()
    return (folder / "backup.zip").read_bytes()


def auth(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def restore(client: TestClient, body: bytes, token: str | None, filename: str = "backup.zip", **params):
    return client.post("/api/v1/imports", params={"kind": "datapackage", "filename": filename, **params},
                       content=body, headers=auth(token))


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist()}


def make_zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": on purpose below
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return out.getvalue()


def empty_database(request: pytest.FixtureRequest, store: Store, *apps: TestClient) -> None:
    """The test's database as `cooptrack init` leaves it (the same database, so on either backend).
    ``apps`` are done with: their own connection to a SQLite file is closed before it is replaced."""
    for client in apps:
        client.app.state.cache.version.close()
    if store.dialect == "sqlite":
        path = Path(make_url(store.url).database or "")
        store.dispose()
        for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
    else:
        request.getfixturevalue("postgres_store").reset()


def bootstrap_admin(prepare, write) -> str:
    """On the empty database, the admin a team creates to restore with (`cooptrack user add`,
    `cooptrack token create`): a user, a token and the audit events recording them."""

    def build() -> str:
        with write() as ctx:
            add_user(ctx, "bootstrap", "admin")
            return create_token(ctx, "bootstrap").token

    token: str = prepare("empty, then an admin to restore with (backups)", build)
    return token


def wait_for(client: TestClient, location: str, tokens: list[str]) -> dict:
    """Poll a job until it ends, with the first of ``tokens`` that signs in (a restore replaces
    the uploader's token with the backup's)."""
    for _ in range(600):
        for token in tokens:
            polled = client.get(location, headers=auth(token))
            if polled.status_code != 401:
                break
        assert polled.status_code == 200, polled.text
        job = polled.json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"the job at {location} did not end")


def audit_count(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(select(func.count(AuditEvent.id))))


# --- round trip ------------------------------------------------------------------------------


def test_download_restore_download_is_byte_identical(world, request, write, prepare, tmp_path):
    store, tokens = world
    demo = TestClient(create_app(store, public_read=False))
    first = demo.get("/api/v1/backup", headers=auth(tokens["admin"]))
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/zip"
    today = datetime.now(UTC).date().isoformat()
    assert first.headers["content-disposition"] == f'attachment; filename="cooptrack-backup-{today}.zip"'
    assert first.headers["cache-control"] == "no-store"
    downloaded = members(first.content)
    assert sorted(downloaded) == BACKED_UP
    # Exactly the files `cooptrack export datapackage` writes, byte for byte.
    export_datapackage(store, tmp_path / "folder")
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == BACKED_UP
    assert all(downloaded[name] == (tmp_path / "folder" / name).read_bytes() for name in BACKED_UP)
    before = count_rows(store)
    demo_events = audit_count(store)
    descriptor = json.loads(downloaded["datapackage.json"])

    empty_database(request, store, demo)
    boot = bootstrap_admin(prepare, write)
    assert audit_count(store) == 2  # the bootstrap user and token were recorded
    fresh = TestClient(create_app(store, public_read=False))
    assert fresh.get("/api/v1/projects", headers=auth(boot)).json()["total"] == 0  # answered, and kept
    done = restore(fresh, first.content, boot)
    assert done.status_code == 201, done.text
    job = done.json()
    assert job["state"] == "done" and job["kind"] == "datapackage" and job["actor"] == "bootstrap", job
    assert job["summary"] == {"rows restored": sum(r["rows"] for r in descriptor["resources"]),
                              "tables": len(descriptor["resources"])}
    assert done.headers["location"] == f"/api/v1/imports/{job['id']}"

    # The accounts are the backup's now: the uploader's token no longer signs in (its id names
    # another token now), the backup's do.
    assert fresh.get("/api/v1/backup", headers=auth(boot)).status_code == 401
    assert fresh.get("/api/v1/projects", headers=auth(boot)).status_code == 401
    second = fresh.get("/api/v1/backup", headers=auth(tokens["admin"]))
    assert second.status_code == 200
    again = members(second.content)
    assert sorted(again) == BACKED_UP
    different = [name for name in BACKED_UP if again[name] != downloaded[name]]
    assert different == []
    assert second.content == first.content  # the ZIP itself too: members dated alike, in one order
    listed = fresh.get("/api/v1/projects", headers=auth(tokens["viewer"]))
    assert listed.status_code == 200 and listed.json()["total"] == before["projects"]  # not the kept answer
    after = count_rows(store)
    assert after.pop("import_jobs") == 1  # the restore's own record, kept: not part of a backup
    before.pop("import_jobs")
    assert after == before
    assert audit_count(store) == demo_events  # the bootstrap's events went with the bootstrap account
    with store.read() as session:
        assert session.scalar(select(User.id).where(User.name == "bootstrap")) is None
        assert session.scalar(select(ImportJob.actor)) == "bootstrap"
    # The restored database takes new rows after the restored ones (sequences moved on PostgreSQL).
    created = fresh.post("/api/v1/projects", json={"code": "after-restore", "title": "After", "programme":
                                                   "fresh-wind"}, headers=auth(tokens["editor"]))
    assert created.status_code == 201, created.text


def test_a_large_restore_runs_as_a_job(world, request, write, prepare, monkeypatch):
    store, tokens = world
    demo = TestClient(create_app(store, public_read=False))
    data = demo.get("/api/v1/backup", headers=auth(tokens["admin"])).content
    empty_database(request, store, demo)
    boot = bootstrap_admin(prepare, write)
    monkeypatch.setattr(api_imports, "SYNC_LIMIT", 0)  # every upload is "large"
    client = TestClient(create_app(store, public_read=False))
    started = restore(client, data, boot)
    assert started.status_code == 202, started.text
    job = wait_for(client, started.headers["location"], [boot, tokens["admin"]])
    assert job["state"] == "done", job
    descriptor = json.loads(members(data)["datapackage.json"])
    rows = sum(r["rows"] for r in descriptor["resources"])
    assert job["summary"]["rows restored"] == rows and job["total"] == 2 * rows and job["progress"] == 2 * rows
    assert client.get("/api/v1/backup", headers=auth(tokens["admin"])).content == data


def test_dry_run_checks_and_writes_nothing(request, store, write, prepare, backup_zip):
    boot = bootstrap_admin(prepare, write)
    before = count_rows(store)
    client = TestClient(create_app(store, public_read=False))
    checked = restore(client, backup_zip, boot, dry_run="true")
    assert checked.status_code == 201 and checked.json()["state"] == "done" and checked.json()["dry_run"] is True
    after = count_rows(store)
    assert after.pop("import_jobs") == before.pop("import_jobs") + 1 and after == before
    assert client.get("/api/v1/backup", headers=auth(boot)).status_code == 200  # still the bootstrap's database


# --- hostile ZIPs ----------------------------------------------------------------------------


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = 0o120777 << 16  # a symbolic link
    return info


HOSTILE = {
    "traversal": (lambda base: [*base, ("../evil.csv", b"x")], 422,
                  "member '../evil.csv' of 'backup.zip' has an unsafe name (an absolute path, '..' or a backslash); "
                  "a backup's members are plain file names"),
    "absolute": (lambda base: [*base, ("/etc/cron.d/evil", b"x")], 422,
                 "member '/etc/cron.d/evil' of 'backup.zip' has an unsafe name (an absolute path, '..' or a "
                 "backslash); a backup's members are plain file names"),
    "backslash": (lambda base: [*base, ("..\\evil.csv", b"x")], 422,
                  "member '..\\evil.csv' of 'backup.zip' has an unsafe name (an absolute path, '..' or a "
                  "backslash); a backup's members are plain file names"),
    "symlink": (lambda base: [(_link(n) if n == "projects.csv" else n, b"/etc/passwd" if n == "projects.csv" else d)
                              for n, d in base], 422,
                "member 'projects.csv' of 'backup.zip' is a symbolic link; a backup holds plain files only"),
    "duplicate": (lambda base: [*base, ("projects.csv", b"id\n")], 422,
                  "member 'projects.csv' appears more than once in 'backup.zip'; a backup names each file once"),
    "no descriptor": (lambda base: [(n, d) for n, d in base if n != "datapackage.json"], 422,
                      "'backup.zip' holds no datapackage.json; give the .zip that `cooptrack export datapackage` or "
                      "GET /api/v1/backup wrote"),
    "undeclared": (lambda base: [*base, ("notes.txt", b"hello")], 422,
                   "member 'notes.txt' of 'backup.zip' is not a resource of its datapackage.json; a backup holds "
                   "datapackage.json and the files it lists, nothing else"),
    "folder inside": (lambda base: [*base, ("extra/", b"")], 422,
                      "member 'extra/' of 'backup.zip' is not a resource of its datapackage.json; a backup holds "
                      "datapackage.json and the files it lists, nothing else"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_zip_is_refused_and_writes_nothing(store, write, prepare, backup_zip, case):
    boot = bootstrap_admin(prepare, write)
    build, status, message = HOSTILE[case]
    body = make_zip(build(list(members(backup_zip).items())))
    before = count_rows(store)
    response = restore(TestClient(create_app(store, public_read=False)), body, boot)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] == message
    assert [f["message"] for f in error["findings"]] == [message]
    assert count_rows(store) == before  # not even a job's record


def test_not_a_zip_and_a_broken_zip(store, write, prepare, backup_zip):
    boot = bootstrap_admin(prepare, write)
    client = TestClient(create_app(store, public_read=False))
    before = count_rows(store)
    # The name says .zip, the bytes say otherwise: the bytes decide, both ways.
    for body in (b"\x1f\x8b\x08\x00 a gzip file", b"datapackage.json,projects.csv\n"):
        refused = restore(client, body, boot)
        assert refused.status_code == 415, refused.text
        assert refused.json()["error"]["message"] == (
            "'backup.zip' is not a ZIP file; a data package is uploaded as the .zip that GET /api/v1/backup or "
            "`cooptrack export datapackage FILE.zip` writes")
    broken = restore(client, b"PK\x03\x04" + b"\x00" * 200, boot)
    assert broken.status_code == 422
    assert broken.json()["error"]["message"] == "'backup.zip' is not a readable ZIP file (File is not a zip file)"
    assert count_rows(store) == before
    named_otherwise = restore(client, backup_zip, boot, filename="backup.bin", dry_run="true")
    assert named_otherwise.status_code == 201 and named_otherwise.json()["state"] == "done"


def test_zip_bombs_are_refused(store, write, prepare, backup_zip, monkeypatch):
    boot = bootstrap_admin(prepare, write)
    client = TestClient(create_app(store, public_read=False))
    before = count_rows(store)
    # Over the total: the whole (valid) backup against a cap below its size.
    monkeypatch.setenv("COOPTRACK_MAX_UNZIPPED_MB", "0.05")
    total = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(backup_zip)).infolist())
    over = restore(client, backup_zip, boot)
    assert over.status_code == 413, over.text
    assert over.json()["error"]["message"] == (
        f"'backup.zip' unpacks to {total:,} bytes, over the limit of {int(0.05 * 1024 * 1024):,} bytes "
        "(COOPTRACK_MAX_UNZIPPED_MB); nothing was restored")
    monkeypatch.delenv("COOPTRACK_MAX_UNZIPPED_MB")
    # Packed far tighter than any table: 20 MB of zeros in the place of projects.csv.
    bomb = make_zip([(n, b"0" * (20 * 1024 * 1024) if n == "projects.csv" else d)
                     for n, d in members(backup_zip).items()])
    info = zipfile.ZipFile(io.BytesIO(bomb)).getinfo("projects.csv")
    ratio = info.file_size / info.compress_size
    assert ratio > 200
    refused = restore(client, bomb, boot)
    assert refused.status_code == 413
    assert refused.json()["error"]["message"] == (
        f"member 'projects.csv' of 'backup.zip' unpacks to {ratio:,.0f} times its packed size, over the limit of "
        "200 (COOPTRACK_MAX_ZIP_RATIO): it looks like a ZIP bomb; nothing was restored")
    assert count_rows(store) == before
    # The cap is the server's to set: above the ratio, the member is unpacked and found to be no table.
    monkeypatch.setenv("COOPTRACK_MAX_ZIP_RATIO", str(int(ratio) + 1))
    checked = restore(client, bomb, boot)
    assert checked.status_code == 201 and checked.json()["state"] == "refused"
    codes = {(f["source"], f["code"]) for f in checked.json()["report"]["findings"]}
    assert ("projects.csv", "bad_header") in codes
    after = count_rows(store)
    assert after.pop("import_jobs") == before.pop("import_jobs") + 1 and after == before


def _csv_with(data: bytes, change) -> bytes:
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(csv.reader(io.StringIO(data.decode()))).pop(0), lineterminator="\n")
    writer.writeheader()
    writer.writerows(change(rows))
    return out.getvalue().encode()


NO_ADMIN = ("'backup.zip' holds no active admin who can sign in (with a password or a token that is not revoked): "
            "restored through the web, it would lock everyone out. Restore it with `cooptrack import datapackage` "
            "on the server, then add an admin with `cooptrack user add`")


@pytest.mark.parametrize("without", ["users", "a usable token"])
def test_a_backup_nobody_could_sign_in_to_is_refused(store, write, prepare, backup_zip, without):
    """The restore replaces the accounts it was uploaded with: a backup without an admin who can
    sign in would lock everyone out of the web. (A dry run changes nothing: it is checked.)"""
    boot = bootstrap_admin(prepare, write)
    files = members(backup_zip)
    if without == "users":
        files["users.csv"] = files["users.csv"].split(b"\n", 1)[0] + b"\n"
        files["api_tokens.csv"] = files["api_tokens.csv"].split(b"\n", 1)[0] + b"\n"
    else:  # the admin has no password, and its one token is revoked
        files["api_tokens.csv"] = _csv_with(files["api_tokens.csv"], lambda rows: [
            {**r, "revoked_at": "2020-01-01T00:00:00.000000Z"} for r in rows])
    client = TestClient(create_app(store, public_read=False))
    before = count_rows(store)
    refused = restore(client, make_zip(list(files.items())), boot)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["message"] == NO_ADMIN
    assert count_rows(store) == before
    checked = restore(client, make_zip(list(files.items())), boot, dry_run="true")
    assert checked.status_code == 201 and checked.json()["state"] == "done"


def test_content_problems_are_findings_of_a_refused_job(store, write, prepare, backup_zip):
    """A safe ZIP whose files are wrong: refused with the findings report, like other imports."""
    boot = bootstrap_admin(prepare, write)
    files = members(backup_zip)
    files["status_events.csv"] = files["status_events.csv"].replace(b",2019-01-01,", b",2019-13-45,", 1)
    files["locations.csv"] = files["locations.csv"].replace(b"Almaty region", b"Almaty\x00region", 1)
    before = count_rows(store)
    done = restore(TestClient(create_app(store, public_read=False)), make_zip(list(files.items())), boot)
    assert done.status_code == 201
    job = done.json()
    assert job["state"] == "refused" and job["summary"] == {"rows restored": 0, "tables": 0}
    got = {(f["source"], f["row"], f["field"], f["code"])
           for f in job["report"]["findings"] if f["severity"] == "error"}
    assert got == {("status_events.csv", 2, "effective_start", "bad_date"),
                   ("locations.csv", 2, "name", "nul_character")}
    after = count_rows(store)
    assert after.pop("import_jobs") == before.pop("import_jobs") + 1 and after == before


# --- who may -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [None, *ROLES])
@pytest.mark.parametrize("public_read", [False, True])
def test_only_admins_download_and_restore(world, backup_zip, role, public_read):
    store, tokens = world
    client = TestClient(create_app(store, public_read=public_read))
    token = tokens[role] if role else None
    before = count_rows(store)
    download = client.get("/api/v1/backup", headers=auth(token))
    upload = restore(client, backup_zip, token)
    if role is None:
        assert (download.status_code, upload.status_code) == (401, 401)
        assert download.json()["error"]["code"] == upload.json()["error"]["code"] == "not_authenticated"
    elif role != "admin":
        assert (download.status_code, upload.status_code) == (403, 403), upload.text
        assert download.json()["error"]["message"] == (
            f"user '{role}-user' has the role {role}, which may not admin; an admin can change it with "
            "`cooptrack user set NAME --role ...`")
    else:
        assert download.status_code == 200 and sorted(members(download.content)) == BACKED_UP
        assert upload.status_code == 409, upload.text
        error = upload.json()["error"]
        assert error["code"] == "not_empty"
        assert "is not empty: audit_events (" in error["message"]
        assert error["message"].endswith(
            "A backup is restored only into an empty database: create a new one, run `cooptrack init` on it, and "
            "restore there (users and their tokens may be there already: the backup's replace them)")
    assert count_rows(store) == before


def test_options_of_other_kinds_do_not_apply(store, write, prepare, backup_zip):
    boot = bootstrap_admin(prepare, write)
    client = TestClient(create_app(store, public_read=False))
    before = count_rows(store)
    for name, value in (("skip_invalid", "true"), ("programme", "fresh-wind")):
        refused = restore(client, backup_zip, boot, **{name: value})
        assert refused.status_code == 400
        assert refused.json()["error"]["message"] == (
            f"{name} does not apply to a datapackage upload: a backup is restored whole, or not at all")
    assert count_rows(store) == before


# --- the imports page ------------------------------------------------------------------------


def test_imports_page_offers_backups_to_admins_only(world, backup_zip):
    store, _tokens = world
    app = create_app(store, public_read=True)
    admin, editor = signed_in(app, "admin-user"), signed_in(app, "editor-user")
    page = admin.get("/imports")
    assert '<option value="datapackage">' in page.text and 'data-testid="backup-download"' in page.text
    assert 'href="/api/v1/backup"' in page.text
    download = admin.get("/api/v1/backup")  # a plain link: the session, no CSRF token needed to read
    assert download.status_code == 200 and sorted(members(download.content)) == BACKED_UP
    before = count_rows(store)
    refused = admin.post("/imports", data={"csrf": hidden(page.text, "csrf"), "kind": "datapackage"},
                         files={"file": ("backup.zip", backup_zip, "application/zip")})
    assert refused.status_code == 409 and 'data-testid="import-error"' in refused.text
    assert "is not empty: audit_events (" in refused.text
    page = editor.get("/imports")
    assert page.status_code == 200 and 'value="projects"' in page.text
    assert "datapackage" not in page.text and "backup-download" not in page.text
    assert editor.get("/api/v1/backup").status_code == 403
    forbidden = editor.post("/imports", data={"csrf": hidden(page.text, "csrf"), "kind": "datapackage"},
                            files={"file": ("backup.zip", backup_zip, "application/zip")})
    assert forbidden.status_code == 403
    assert count_rows(store) == before


def test_restore_from_the_page(request, store, write, prepare, backup_zip):
    bootstrap_admin(prepare, write)
    with write() as ctx:
        add_test_user(ctx, "restorer", "admin")
    app = create_app(store, public_read=False)
    restorer = signed_in(app, "restorer")
    page = restorer.get("/imports")
    assert 'data-testid="restore-note"' in page.text
    done = restorer.post("/imports", data={"csrf": hidden(page.text, "csrf"), "kind": "datapackage"},
                         files={"file": ("../../backup.zip", backup_zip, "application/zip")}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/imports/")
    # The session went with the accounts it belonged to: sign in again, with the backup's.
    assert restorer.get(done.headers["location"]).status_code == 401
    with store.read() as session:
        job = session.scalars(select(ImportJob)).one()
        assert (job.kind, job.filename, job.state, job.actor) == ("datapackage", "backup.zip", "done", "restorer")
        assert session.scalar(select(func.count()).select_from(text("web_sessions"))) == 0
        assert session.scalar(select(User.id).where(User.name == "restorer")) is None


# --- the command line ------------------------------------------------------------------------


def test_cli_zip_round_trip(cli, cli_demo, request, store, tmp_path):
    first = tmp_path / "first.zip"
    written = cli("export", "datapackage", str(first))
    assert written.exit_code == 0, written.stderr
    assert f"to {first}" in written.stdout
    assert cli("export", "datapackage", str(tmp_path / "folder")).exit_code == 0
    files = members(first.read_bytes())
    assert sorted(files) == BACKED_UP
    assert all(files[name] == (tmp_path / "folder" / name).read_bytes() for name in BACKED_UP)
    refused = cli("export", "datapackage", str(first))
    assert refused.exit_code == 1 and f"{first} already exists; pass --force to overwrite it" in refused.stderr
    flagged = tmp_path / "backup-without-suffix"
    assert cli("export", "datapackage", "--zip", str(flagged)).exit_code == 0
    assert flagged.read_bytes() == first.read_bytes()
    before = count_rows(store)
    assert cli("import", "datapackage", str(first)).exit_code == 1  # the demo is there: not empty
    assert count_rows(store) == before

    empty_database(request, store)
    restored = cli("import", "datapackage", str(flagged))  # a ZIP by its bytes, whatever its name
    assert restored.exit_code == 0, restored.stderr
    assert "rows restored" in restored.stdout
    second = tmp_path / "second.zip"
    assert cli("export", "datapackage", str(second)).exit_code == 0
    assert second.read_bytes() == first.read_bytes()


def test_cli_refuses_what_the_api_refuses(cli, store, tmp_path, backup_zip):
    before = count_rows(store)
    not_zip = tmp_path / "backup.zip"
    not_zip.write_text("id,title\n")
    result = cli("import", "datapackage", str(not_zip))
    assert result.exit_code == 1
    assert (f"{not_zip} is not a ZIP file; a backup is restored from the .zip that `cooptrack export datapackage "
            "FILE.zip` or GET /api/v1/backup writes") in result.stderr.replace("\n", "")
    hostile = tmp_path / "hostile.zip"
    hostile.write_bytes(make_zip([*members(backup_zip).items(), ("../../evil.csv", b"x")]))
    result = cli("import", "datapackage", str(hostile))
    assert result.exit_code == 1
    assert f"member '../../evil.csv' of {hostile} has an unsafe name" in result.stderr.replace("\n", "")
    assert not (tmp_path.parent / "evil.csv").exists()
    assert count_rows(store) == before
