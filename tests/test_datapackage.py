"""Full backup as a Data Package: export, restore into an empty database, export again gives
the same bytes; restores into a non-empty database, at another migration, or from tampered
files are refused with file/row/field and nothing written. Both databases."""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import pytest
from conftest import count_rows
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from cooptrack.services.backup import NOT_BACKED_UP, export_datapackage, restore_datapackage
from cooptrack.services.users import add_user, create_token, find_token, update_user
from cooptrack.store import Store
from cooptrack.store.migrate import head_revision, upgrade
from cooptrack.store.models import AuditEvent, Base, Project, User

NEWS = Path(__file__).resolve().parents[1] / "src" / "cooptrack" / "data" / "news" / "fresh-wind-2019-en.txt"


def load_demo_with_claims(cli) -> None:
    """The demo plus an ingested article whose claims were reviewed: a claim accepted as a
    project's value (the projects.value_claim_id <-> claims.project_id cycle), a reported
    figure, a rejection."""
    assert cli("demo").exit_code == 0
    result = cli("ingest", str(NEWS), "--programme", "fresh-wind", "--publisher", "Qazaq TV", "--published",
                 "2019-09-01", "--kind", "media", "--json")
    assert result.exit_code == 0, result.stderr
    claims = json.loads(cli("claims", "list", "--json").stdout)
    money = next(c for c in claims if c["kind"] == "money")
    count = next(c for c in claims if c["kind"] == "count")
    status = next(c for c in claims if c["kind"] == "status")
    assert cli("claims", "accept", str(money["id"]), "--as", "value", "--project", "bakad").exit_code == 0
    assert cli("claims", "accept", str(count["id"]), "--as", "figure").exit_code == 0
    assert cli("claims", "reject", str(status["id"]), "--reason", "not a status").exit_code == 0


def new_sqlite(path: Path) -> Store:
    store = Store(f"sqlite:///{path}")
    upgrade(store)
    return store


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert (mismatch, errors) == ([], [])


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package exported from a SQLite database holding the demo and reviewed claims (once per
    session; each test gets its own copy from `package`)."""
    from typer.testing import CliRunner

    from cooptrack.cli import app

    tmp_path = tmp_path_factory.mktemp("datapackage")
    source = new_sqlite(tmp_path / "source.db")
    runner = CliRunner()
    env = {"COOPTRACK_DATABASE_URL": source.url, "COOPTRACK_ACTOR": "tester"}

    def cli(*args: str):
        return runner.invoke(app, list(args), env=env)

    load_demo_with_claims(cli)
    out = tmp_path / "package"
    export_datapackage(source, out)
    source.dispose()
    return out


@pytest.fixture
def package(exported: Path, tmp_path: Path) -> Path:
    """This test's own copy of the exported package (some tests tamper with it)."""
    return Path(shutil.copytree(exported, tmp_path / "package"))


def test_round_trip_is_byte_identical(cli, store, tmp_path):
    """Export (SQLite or PostgreSQL), restore into a new SQLite file, export again."""
    load_demo_with_claims(cli)
    first, second = tmp_path / "first", tmp_path / "second"
    result = cli("export", "datapackage", str(first))
    assert result.exit_code == 0, result.stderr
    target = new_sqlite(tmp_path / "restored.db")
    report, counts = restore_datapackage(target, first)
    assert report.valid, report.as_dict()
    assert counts["claims"] > 0 and counts["audit_events"] > 0
    export_datapackage(target, second)
    same_files(first, second)
    assert count_rows(target) == count_rows(store)
    with target.read() as session:
        assert session.scalar(select(Project.value_claim_id).where(Project.code == "bakad")) is not None
    target.dispose()


def test_restore_into_empty_database(cli, store, package, tmp_path):
    """Restore through the CLI into the test database (so on PostgreSQL too, sequences reset)."""
    result = cli("import", "datapackage", str(package))
    assert result.exit_code == 0, result.stderr
    total = sum(r["rows"] for r in json.loads((package / "datapackage.json").read_text())["resources"])
    assert f"{total:,} rows restored, {len(Base.metadata.tables) - len(NOT_BACKED_UP)} tables" in result.stdout
    again = tmp_path / "again"
    assert cli("export", "datapackage", str(again)).exit_code == 0
    same_files(package, again)
    # New rows get fresh ids after the restored ones.
    assert cli("project", "add", "after-restore", "--title", "After", "--programme", "fresh-wind").exit_code == 0
    assert cli("rate", "add", "EUR", "2020", "0.9", "--source", "a later note").exit_code == 0


def test_descriptor_schemas(package):
    descriptor = json.loads((package / "datapackage.json").read_text())
    assert descriptor["profile"] == "tabular-data-package"
    assert descriptor["cooptrack"] == {"format": "cooptrack-backup/1", "alembic_revision": head_revision()}
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert set(resources) == set(Base.metadata.tables) - NOT_BACKED_UP
    assert {"web_sessions", "data_changes", "response_cache", "import_jobs", "sign_in_failures"} == NOT_BACKED_UP
    projects = resources["projects"]
    assert projects["path"] == "projects.csv" and projects["hash"].startswith("sha256:")
    fields = {f["name"]: f for f in projects["schema"]["fields"]}
    assert fields["value_amount"]["type"] == "number"
    assert fields["value_date"]["type"] == "date"
    assert fields["aliases"]["type"] == "array" and fields["narratives"]["type"] == "object"
    assert fields["created_at"] == {"name": "created_at", "type": "datetime", "format": "%Y-%m-%dT%H:%M:%S.%fZ",
                                    "constraints": {"required": True}}
    assert fields["code"] == {"name": "code", "type": "string", "constraints": {"maxLength": 64}}
    assert projects["schema"]["primaryKey"] == ["id"]
    assert {"fields": ["value_claim_id"], "reference": {"resource": "claims", "fields": ["id"]}} in \
        projects["schema"]["foreignKeys"]
    assert [f["type"] for f in resources["status_events"]["schema"]["fields"]
            if f["name"] in ("reopen", "recorded_at")] == ["datetime", "boolean"]
    text = (package / "projects.csv").read_bytes()
    assert b"\r\n" not in text.split(b"\n", 1)[0] and text.endswith(b"\n")


def test_restore_into_non_empty_database_refused(cli, store, package):
    assert cli("demo").exit_code == 0
    before = count_rows(store)
    result = cli("import", "datapackage", str(package))
    assert result.exit_code == 1
    message = result.stderr.replace("\n", " ")
    assert "is not empty: audit_events (" in message
    assert ("A backup is restored only into an empty database: create a new one, run `cooptrack init` on it, and "
            "restore there") in message
    assert count_rows(store) == before


def _tamper(package: Path, name: str, old: str, new: str) -> None:
    path = package / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8", newline="")


def test_tampered_file_refused(cli, store, package):
    before = count_rows(store)
    _tamper(package, "status_events.csv", ",2019-01-01,", ",2019-13-45,")
    _tamper(package, "projects.csv", ",7000000000,", ",7e9,")
    result = cli("import", "datapackage", str(package), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    got = [(f["source"], f["row"], f["field"], f["value"], f["code"], f["severity"]) for f in data["findings"]]
    assert ("status_events.csv", 2, "effective_start", "2019-13-45", "bad_date", "error") in got
    assert ("projects.csv", 2, "value_amount", "7e9", "bad_number", "error") in got
    assert ("projects.csv", None, None, None, "changed_file", "warning") in got
    message = next(f["message"] for f in data["findings"] if f["code"] == "bad_date")
    assert message == "effective_start '2019-13-45' is not a date; write YYYY-MM-DD"
    assert data["summary"] == {"rows restored": 0, "tables": 0}
    assert count_rows(store) == before


def test_number_beyond_the_kept_size_refused(cli, store, package):
    before = count_rows(store)
    _tamper(package, "projects.csv", ",7000000000,", ",12345678901234567890123456789,")
    result = cli("import", "datapackage", str(package), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    # The row refused, the rows that refer to it are refused in turn.
    assert {f["code"] for f in data["findings"] if f["severity"] == "error"} == {"too_large", "broken_reference"}
    [finding] = [f for f in data["findings"] if f["code"] == "too_large"]
    assert (finding["source"], finding["row"], finding["field"], finding["code"]) == (
        "projects.csv", 2, "value_amount", "too_large")
    assert finding["message"] == ("value_amount '12345678901234567890123456789' is too large: cooptrack keeps at "
                                  "most 22 digits before the decimal point")
    assert count_rows(store) == before


def test_structural_problems_refused(cli, store, package):
    before = count_rows(store)
    (package / "targets.csv").unlink()
    _tamper(package, "programmes.csv", "id,code,name", "id,kode,name")
    _tamper(package, "project_sectors.csv", "\n1,1,", "\n1,999,")
    result = cli("import", "datapackage", str(package), "--json")
    assert result.exit_code == 1
    got = [(f["source"], f["row"], f["field"], f["code"]) for f in json.loads(result.stdout)["findings"]
           if f["severity"] == "error"]
    assert got == [
        ("targets.csv", None, None, "missing_file"),
        ("programmes.csv", 1, None, "bad_header"),
        ("project_sectors.csv", 2, "project_id", "broken_reference"),
    ]
    assert count_rows(store) == before


def test_other_revision_refused(cli, store, package):
    descriptor = json.loads((package / "datapackage.json").read_text())
    descriptor["cooptrack"]["alembic_revision"] = "0003"
    (package / "datapackage.json").write_text(json.dumps(descriptor))
    before = count_rows(store)
    result = cli("import", "datapackage", str(package))
    assert result.exit_code == 1
    assert "the backup was written at migration 0003" in result.stderr and f"is at {head_revision()}" in result.stderr
    assert count_rows(store) == before
    shutil.rmtree(package)
    package.mkdir()
    result = cli("import", "datapackage", str(package))
    assert result.exit_code == 1 and "holds no datapackage.json" in result.stderr


def test_export_refuses_to_overwrite(cli, tmp_path):
    assert cli("export", "datapackage", str(tmp_path / "p")).exit_code == 0
    result = cli("export", "datapackage", str(tmp_path / "p"))
    assert result.exit_code == 1 and "already holds a data package; pass --force" in result.stderr
    assert cli("export", "datapackage", str(tmp_path / "p"), "--force").exit_code == 0


def test_accounts_of_an_empty_database_are_replaced(cli, store, write, package):
    """A database holding nothing but the accounts made to restore with (users, tokens, the audit
    events recording them) is empty: the backup's accounts replace them, and the audit log is
    append-only again afterwards."""
    with write() as ctx:
        add_user(ctx, "bootstrap", "admin")
        token = create_token(ctx, "bootstrap").token
        update_user(ctx, "bootstrap", role="editor")
    before = count_rows(store)
    assert before["users"] == 1 and before["api_tokens"] == 1 and before["audit_events"] == 3
    result = cli("import", "datapackage", str(package))
    assert result.exit_code == 0, result.stderr
    descriptor = json.loads((package / "datapackage.json").read_text())
    rows = {r["name"]: r["rows"] for r in descriptor["resources"]}
    after = count_rows(store)
    assert {t: after[t] for t in rows} == rows
    with store.read() as session:
        assert session.scalar(select(User.id).where(User.name == "bootstrap")) is None
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.actor == "tester",
                                                                                AuditEvent.entity == "user")) == 0
    with write() as ctx:
        assert find_token(ctx, token) is None
    for statement in ("DELETE FROM audit_events", "UPDATE audit_events SET actor = 'x'"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert count_rows(store)["audit_events"] == rows["audit_events"]


def test_accounts_do_not_make_a_database_with_data_empty(cli, store, write, package):
    """An audit event about anything but an account is data: the restore is refused."""
    with write() as ctx:
        add_user(ctx, "bootstrap", "admin")
    assert cli("rate", "add", "EUR", "2020", "0.9", "--source", "a note").exit_code == 0
    before = count_rows(store)
    result = cli("import", "datapackage", str(package))
    assert result.exit_code == 1
    message = result.stderr.replace("\n", " ")
    assert "is not empty: audit_events (1 rows), exchange_rates (1 rows)." in message
    assert count_rows(store) == before


def test_a_path_in_the_descriptor_never_leads_outside(cli, store, package, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("id,never shown\n")
    descriptor = json.loads((package / "datapackage.json").read_text())
    target = next(r for r in descriptor["resources"] if r["name"] == "targets")
    target["path"] = "../secret.csv"
    (package / "datapackage.json").write_text(json.dumps(descriptor))
    before = count_rows(store)
    result = cli("import", "datapackage", str(package), "--json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert [(f["code"], f["value"]) for f in findings] == [("bad_path", "../secret.csv")]
    assert findings[0]["message"] == ("resource 'targets' has the path \"../secret.csv\"; a backup's files sit next "
                                      "to datapackage.json, named like targets.csv")
    assert "never shown" not in result.stdout
    assert count_rows(store) == before


def test_an_earlier_backup_with_import_jobs_restores(cli, store, package):
    """Backups written before import jobs were left out still restore: the jobs are skipped."""
    descriptor = json.loads((package / "datapackage.json").read_text())
    descriptor["resources"].append({**descriptor["resources"][0], "name": "import_jobs", "path": "import_jobs.csv",
                                    "rows": 0, "hash": ""})
    (package / "datapackage.json").write_text(json.dumps(descriptor))
    (package / "import_jobs.csv").write_text("id\n")
    result = cli("import", "datapackage", str(package), "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert [(f["code"], f["severity"], f["value"]) for f in data["findings"]] == [
        ("not_restored", "warning", "import_jobs")]
    assert count_rows(store)["import_jobs"] == 0


def test_dry_run_writes_nothing(cli, store, package):
    before = count_rows(store)
    result = cli("import", "datapackage", str(package), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "(dry run: nothing was written)" in result.stdout
    assert count_rows(store) == before
