"""A large CSV of projects is read and checked by a second process while the importing one writes
(services.tabular_pipeline): the same findings, counts, rows and audit events (in the same order)
as the one-process import of the same file; a file refused in its last rows, after batches were
written, leaves nothing in the database either way; a reader or a writer that fails stops the
import with nothing written and no process left behind. Small batches (CHUNK_ROWS) make a few
dozen rows several batches."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import count_rows
from sqlalchemy import func, select
from test_tabular import write_csv

from cooptrack.errors import InvalidInput
from cooptrack.formats.tabular import read_sheet
from cooptrack.services import tabular, tabular_pipeline
from cooptrack.services.context import Context
from cooptrack.services.projects import StatusSpec, add_status_event
from cooptrack.services.tabular import import_projects
from cooptrack.services.tabular_pipeline import ReaderFailed
from cooptrack.store.models import AuditEvent, Organisation, Participant, Project, ProjectSector, StatusEvent

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HERE, PIPED = -1, 0  # pipeline_bytes: never, always
TABLES = {"projects": Project, "project_sectors": ProjectSector, "project_participants": Participant,
          "organisations": Organisation, "status_events": StatusEvent, "audit_events": AuditEvent}
# Which table each id column points into.
POINTS = {"project_id": "projects", "organisation_id": "organisations"}
STAMPS = ("created_at", "updated_at")
HEADER = ["id", "title", "programme", "industry", "description", "aliases", "host_country", "partner_country",
          "value", "currency", "value_date", "sectors", "participants", "planned_start", "planned_end",
          "iati_identifier", "national_id", "source", "status", "status_date"]
SECTORS = ["21020:60; 21030:40", "12191", "32210:50.0; 32220:50", ""]
PARTICIPANTS = ["Korea Eximbank (funding, KOR); Samruk-Kazyna (investor, KAZ)", "Pipeline Org {n} (contractor, KOR)",
                "Samruk-Kazyna (investor)", ""]


class _Undo(Exception):
    pass


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "CHUNK_ROWS", 7)


def new_row(n: int) -> list[str]:
    """A new project, in every cell syntax the template takes (one kind of row every n)."""
    programme = "fresh-wind" if n % 3 else ""
    return [f"pipe-{n:03d}", f"Pipeline project {n}" + (" \"quoted\" 100%" if n % 7 == 0 else ""), programme,
            "Health care" if programme and n % 5 == 0 else "", "'=formula kept as text" if n % 11 == 0 else "",
            "P; Project P" if n % 4 == 0 else "", "Kazakhstan" if n % 2 else "KAZ", "South Korea" if n % 3 else "KOR",
            "" if n % 6 == 0 else f"{1000 * n:,}" if n % 2 else f"{n}.50", "" if n % 6 == 0 else "usd",
            "" if n % 6 == 0 else "22.04.2019" if n % 2 else "2019-04-22", SECTORS[n % len(SECTORS)],
            PARTICIPANTS[n % len(PARTICIPANTS)].format(n=n % 3), "2019-05-01" if n % 2 else "",
            "2021-12-31" if n % 4 == 1 else "", f"XM-PIPE-{n}" if n % 8 == 0 else "", f"KZ-{n}" if n % 9 == 0 else "",
            "qazaqtv-40-projects" if n % 10 == 0 else "", ["agreed", "in_execution", "", "pipeline"][n % 4],
            ["2019", "2020-H1", "", "2019-07"][n % 4]]


def registered_rows(store: Any) -> list[list[str]]:
    """The demo's two projects: one changed (title, a new organisation also named by new rows, a
    status), one as registered (its row as the export writes it)."""
    bakad = ["bakad", "BAKAD, renamed", "fresh-wind", "", "", "", "KAZ", "KOR", "", "", "", "21020:100",
             "Pipeline Org 1 (investor, KAZ)", "", "", "", "", "qazaqtv-40-projects", "implemented", "2021"]
    with store.read() as session:
        project = session.scalar(select(Project).where(Project.code == "car-assembly-plant"))
        cells = tabular.project_cells(project, tabular._source_codes(Context(session, "tester")))
    return [bakad, ["" if cells[c] is None else str(cells[c]) for c in HEADER]]


def imported(store: Any, path: Path, pipeline_bytes: int, **options: Any) -> dict[str, Any]:
    """One import: what it reports and what it leaves in the database (read in its transaction),
    then rolled back, so that the other way can import the same file into the same database."""
    seen: dict[str, Any] = {}
    with pytest.raises(_Undo), store.write() as session:
        before = {name: session.scalar(select(func.coalesce(func.max(model.id), 0))) for name, model in TABLES.items()}
        result = import_projects(Context(session, "tester", now=NOW), read_sheet(path), pipeline_bytes=pipeline_bytes,
                                 **options)
        report = result.report
        seen = {"summary": result.summary, "blank_rows": result.blank_rows,
                "report": ([dataclasses.asdict(f) for f in report.findings], report.truncated, report.dropped_errors,
                           report.valid),
                "tables": _tables(session, before)}
        raise _Undo
    return seen


def _time(value: Any) -> Any:
    """The import's time as it is; a time the ORM took from the clock (a row made or changed one
    by one: created_at and updated_at are the clock's, not the import's) as such."""
    if isinstance(value, datetime):
        return value if value == NOW else "the clock"
    if isinstance(value, str) and value[:4].isdigit() and "T" in value:
        return value if value == NOW.isoformat() else "the clock"
    return value


def _tables(session: Any, before: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables an import writes, in id order. The ids of rows this import added
    count from its first one (PostgreSQL's sequences do not roll back); the others are as they
    are. Times taken from the clock (``_time``) are compared as such."""
    first: dict[str, int] = {}
    for name, model in TABLES.items():
        first[name] = session.scalar(select(func.min(model.id)).where(model.id > before[name])) or 0

    def rel(table: str, value: Any) -> Any:
        if value is None or value <= before[table]:
            return value
        return f"new #{value - first[table]}"

    def snapshot(data: Any, entity: str) -> Any:
        if not isinstance(data, dict):
            return data
        out = {k: _time(v) if k in STAMPS else v for k, v in data.items()}
        if "id" in out:
            out["id"] = rel("organisations" if entity == "organisation" else "projects", out["id"])
        if isinstance(out.get("event"), dict):
            out["event"] = {**out["event"], "id": rel("status_events", out["event"]["id"]),
                            "project_id": rel("projects", out["event"]["project_id"])}
        return out

    tables: dict[str, list[dict[str, Any]]] = {}
    for name, model in TABLES.items():
        rows = []
        for obj in session.scalars(select(model).order_by(model.id)):
            row = {c.key: getattr(obj, c.key) for c in model.__table__.columns}
            row["id"] = rel(name, row["id"])
            for key, table in POINTS.items():
                if key in row:
                    row[key] = rel(table, row[key])
            for key in STAMPS:
                if key in row:
                    row[key] = _time(row[key])
            if name == "audit_events" and str(row["id"]).startswith("new"):  # this import's events
                if row["entity"] == "organisation":
                    row["entity_id"] = rel("organisations", int(row["entity_id"]))
                row["before"] = snapshot(row["before"], row["entity"])
                row["after"] = snapshot(row["after"], row["entity"])
            rows.append(row)
        tables[name] = rows
    return tables


def same_both_ways(store: Any, path: Path, **options: Any) -> dict[str, Any]:
    here = imported(store, path, HERE, **options)
    piped = imported(store, path, PIPED, **options)
    for key in here:
        assert piped[key] == here[key], key
    return here


def _watch(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The readers started (to see they all ended)."""
    readers: list[Any] = []
    original = tabular_pipeline.Reader.start

    def start(cls: Any, sheet: Any) -> Any:
        readers.append(original(sheet))
        return readers[-1]

    monkeypatch.setattr(tabular_pipeline.Reader, "start", classmethod(start))
    return readers


def _batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the batches of new projects written (in this process)."""
    sizes: list[int] = []
    create_many = tabular.create_many

    def counted(ctx: Any, rows: Any, memo: Any = None) -> int:
        sizes.append(len(rows))
        return create_many(ctx, rows, memo)

    monkeypatch.setattr(tabular, "create_many", counted)
    return sizes


def test_rows_and_audit_events_the_same_both_ways(demo_db, tmp_path, monkeypatch):
    readers = _watch(monkeypatch)
    sizes = _batches(monkeypatch)
    # The registered projects first: the new ones are written while later rows are checked.
    rows = [HEADER, *registered_rows(demo_db), *(new_row(n) for n in range(60))]
    rows.insert(30, [])  # a blank row
    out = same_both_ways(demo_db, write_csv(tmp_path / "kinds.csv", rows))
    assert len(readers) == 1 and readers[0].done and readers[0].process.returncode == 0
    assert sizes == [7] * 8 + [4] + [7] * 8 + [4]  # here, then piped: the same batches
    assert out["summary"] == {"created": 60, "updated": 1, "unchanged": 1, "refused": 0}
    assert out["report"] == ([], False, 0, True) and out["blank_rows"] == 1
    tables = out["tables"]
    assert len([p for p in tables["projects"] if str(p["id"]).startswith("new")]) == 60
    events = [(e["action"], e["entity"]) for e in tables["audit_events"] if str(e["id"]).startswith("new")]
    assert events[:3] == [("create", "organisation"), ("update", "project"), ("status", "project")]  # bakad first
    assert sorted(set(events[3:])) == [("create", "organisation"), ("create", "project"), ("status", "project")]
    # The new organisation the changed project names was created by it (its country), before the new projects.
    org = next(o for o in tables["organisations"] if o["name"] == "Pipeline Org 1")
    assert org["country"] == "KAZ" and org["id"] == "new #0"
    assert next(p for p in tables["projects"] if p["code"] == "pipe-011")["description"] == "=formula kept as text"


def test_a_registered_project_last_writes_after_every_row_is_checked(demo_db, tmp_path, monkeypatch):
    """Changed registered projects are written before new ones (as checking everything first
    would): named in the last row, nothing is written until then."""
    sizes = _batches(monkeypatch)
    rows = [HEADER, *(new_row(n) for n in range(30)), registered_rows(demo_db)[0]]
    out = same_both_ways(demo_db, write_csv(tmp_path / "last.csv", rows))
    assert out["summary"] == {"created": 30, "updated": 1, "unchanged": 0, "refused": 0}
    assert sizes == [7, 7, 7, 7, 2] * 2


def test_columns_left_out_keep_what_is_registered(demo_db, tmp_path):
    """The reader checks a registered project's programme and source, which the file does not
    name, as this process looked them up for it."""
    rows = [["id", "title", "status", "status_date"], ["bakad", "BAKAD, renamed", "", ""],
            *([f"short-{n}", f"Short {n}", "agreed", "2020"] for n in range(20))]
    out = same_both_ways(demo_db, write_csv(tmp_path / "short.csv", rows))
    assert out["summary"] == {"created": 20, "updated": 1, "unchanged": 0, "refused": 0}
    bakad = next(p for p in out["tables"]["projects"] if p["code"] == "bakad")
    assert bakad["programme_id"] is not None and bakad["source_id"] is not None


def test_errors_in_the_last_rows_nothing_written_either_way(demo_db, tmp_path, monkeypatch):
    sizes = _batches(monkeypatch)
    rows = [HEADER, *(new_row(n) for n in range(40))]
    bad = new_row(40)
    bad[0], bad[6], bad[12] = "Bad Id", "Narnia", "Someone (boss, KOR)"
    rows += [bad, new_row(3)]  # refused, and an id again
    path = write_csv(tmp_path / "errors.csv", rows)
    out = same_both_ways(demo_db, path)
    assert sizes == [7] * 5 * 2  # both ways, written as checked: then rolled back
    assert out["summary"] == {"created": 0, "updated": 0, "unchanged": 0, "refused": 2}
    assert [(f["row"], f["code"]) for f in out["report"][0]] == [
        (42, "bad_id"), (42, "unknown_country"), (42, "unknown_role"), (43, "duplicate_id")]
    assert all(not str(row["id"]).startswith("new") for table in out["tables"].values() for row in table)

    counts = count_rows(demo_db)
    for pipeline_bytes in (HERE, PIPED):  # committed as usual: nothing of it is there
        with demo_db.write() as session:
            result = import_projects(Context(session, "tester"), read_sheet(path), pipeline_bytes=pipeline_bytes)
        assert not result.report.valid
        assert count_rows(demo_db) == counts


def test_findings_past_the_limit_the_same_both_ways(demo_db, tmp_path):
    rows = [HEADER, *(new_row(n) for n in range(150))]
    for row in rows[20:]:
        row[6] = "Narnia"
    out = same_both_ways(demo_db, write_csv(tmp_path / "many.csv", rows))
    assert out["report"][1:] == (True, 1, False) and len(out["report"][0]) == 100
    assert out["summary"]["refused"] == 101


def test_identifiers_and_lookups_the_same_both_ways(demo_db, tmp_path):
    with demo_db.write() as session:  # bakad gets an IATI identifier
        import_projects(Context(session, "tester"), read_sheet(write_csv(
            tmp_path / "iati.csv", [["id", "title", "iati_identifier"], ["bakad", "BAKAD", "XM-TAKEN"]])))
    rows = [HEADER, *(new_row(n) for n in range(30))]
    rows[3][15] = "XM-TAKEN"  # registered with bakad
    rows[5][15] = rows[9][15] = "XM-TWICE"  # two projects
    rows[7][2], rows[8][17] = "no-such-programme", "no-such-source"
    rows[10][2], rows[10][3] = "fresh-wind", "No such industry"
    out = same_both_ways(demo_db, write_csv(tmp_path / "ids.csv", rows))
    assert [(f["row"], f["code"]) for f in out["report"][0]] == [
        (8, "not_found"), (9, "not_found"), (10, "duplicate_iati_identifier"), (11, "unknown_industry"),
        (4, "iati_identifier_taken")]


def test_dry_run_the_same_both_ways(demo_db, tmp_path):
    counts = count_rows(demo_db)
    rows = [HEADER, *registered_rows(demo_db)[:1], *(new_row(n) for n in range(25))]
    out = same_both_ways(demo_db, write_csv(tmp_path / "dry.csv", rows), dry_run=True)
    assert out["summary"] == {"created": 25, "updated": 1, "unchanged": 0, "refused": 0}
    assert all(not str(row["id"]).startswith("new") for table in out["tables"].values() for row in table)
    assert count_rows(demo_db) == counts


def test_mostly_registered_projects_read_here(demo_db, tmp_path, monkeypatch):
    """A file naming more registered projects than one in four is checked in this process: the
    reader, started before that is known, is told nothing and ends."""
    readers = _watch(monkeypatch)
    rows = [HEADER, *registered_rows(demo_db), *(new_row(n) for n in range(7))]
    same_both_ways(demo_db, write_csv(tmp_path / "some.csv", rows))  # two of nine: read there
    assert len(readers) == 1 and readers[0].done
    rows = [HEADER, *registered_rows(demo_db), *(new_row(n) for n in range(5))]
    out = same_both_ways(demo_db, write_csv(tmp_path / "mostly.csv", rows))  # two of seven: here
    assert out["summary"] == {"created": 5, "updated": 1, "unchanged": 1, "refused": 0}
    assert len(readers) == 2 and not readers[1].done and readers[1].process.returncode == 0


def test_a_register_large_beside_the_file_starts_the_reader_once_the_rows_are_read(demo_db, tmp_path,
                                                                                  monkeypatch):
    """Two registered projects could be more than one in four of a file of three rows: the reader
    is started only once the rows show it names none of them."""
    readers = _watch(monkeypatch)
    started: list[int] = []
    load_known = tabular.load_known
    monkeypatch.setattr(tabular, "load_known", lambda *args: started.append(len(readers)) or load_known(*args))
    out = same_both_ways(demo_db, write_csv(tmp_path / "three.csv", [HEADER, *(new_row(n) for n in range(3))]))
    assert out["summary"]["created"] == 3
    assert started == [0, 0] and len(readers) == 1 and readers[0].done  # here, then piped: started after


def test_threshold(tmp_path, monkeypatch):
    sheet = read_sheet(write_csv(tmp_path / "f.csv", [["id", "title"], ["a", "x" * 990]]))
    assert sheet.text is not None
    size = len(sheet.text)
    monkeypatch.delenv(tabular_pipeline.ENV, raising=False)
    assert not tabular_pipeline.wanted(sheet, None)  # PIPELINE_BYTES: far more
    assert tabular_pipeline.wanted(sheet, size) and not tabular_pipeline.wanted(sheet, size + 1)
    assert not tabular_pipeline.wanted(sheet, -1)
    monkeypatch.setenv(tabular_pipeline.ENV, "0")
    assert tabular_pipeline.wanted(sheet, None) and not tabular_pipeline.wanted(sheet, -1)
    monkeypatch.setenv(tabular_pipeline.ENV, "-1")
    assert not tabular_pipeline.wanted(sheet, None)
    workbook = tmp_path / "f.xlsx"
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["id", "title"])
    book.save(workbook)
    assert not tabular_pipeline.wanted(read_sheet(workbook), 0)  # a workbook is read here


# --- failures -----------------------------------------------------------------------------

# The reader's start, with one thing made to fail (the rest of BOOT as it is).
PATCHED = "from cooptrack.services import tabular, tabular_pipeline\n{}\ntabular_pipeline.main(sheet)\n"
RAISES = PATCHED.format("def _check(self, number, cells):\n    raise RuntimeError('checking broke')\n"
                        "tabular._Checker._check = _check")
DIES_MID_WAY = PATCHED.format("import os\nsend = tabular_pipeline._send\n"
                              "def dying(out, message, sent=[]):\n"
                              "    sent.append(1)\n"
                              "    if len(sent) == 2: os._exit(3)\n"
                              "    send(out, message)\n"
                              "tabular_pipeline._send = dying")
DIES_AT_ONCE = "import os\nos._exit(4)\n"


def _boot(replacement: str) -> str:
    boot = tabular_pipeline.BOOT
    return boot[:boot.index("from cooptrack.services.tabular_pipeline")] + replacement


@pytest.mark.parametrize(("boot", "said"), [
    (RAISES, "it failed: RuntimeError: checking broke"),
    (DIES_MID_WAY, "it stopped with exit code 3"),
    (DIES_AT_ONCE, "it stopped with exit code 4"),
], ids=["raises", "dies-mid-way", "dies-at-once"])
def test_a_failing_reader_fails_the_import(demo_db, tmp_path, monkeypatch, boot, said):
    path = write_csv(tmp_path / "big.csv", [HEADER, *(new_row(n) for n in range(40))])
    monkeypatch.setattr(tabular_pipeline, "BOOT", _boot(boot) if boot is not DIES_AT_ONCE else boot)
    readers = _watch(monkeypatch)
    counts = count_rows(demo_db)
    with pytest.raises(ReaderFailed) as failed, demo_db.write() as session:
        import_projects(Context(session, "tester"), read_sheet(path), pipeline_bytes=PIPED)
    assert failed.value.message.startswith("big.csv was not imported, nothing was written: the process reading "
                                           f"the file {said}")
    assert readers[0].process.returncode is not None
    assert count_rows(demo_db) == counts


def test_a_failing_writer_stops_the_reader(demo_db, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "big.csv", [HEADER, *(new_row(n) for n in range(40))])
    readers = _watch(monkeypatch)
    calls: list[int] = []
    create_many = tabular.create_many

    def failing(ctx: Any, rows: Any, memo: Any = None) -> int:
        calls.append(len(rows))
        if len(calls) == 2:
            raise OSError("disk full")
        return create_many(ctx, rows, memo)

    monkeypatch.setattr(tabular, "create_many", failing)
    counts = count_rows(demo_db)
    with pytest.raises(OSError, match="disk full"), demo_db.write() as session:
        import_projects(Context(session, "tester"), read_sheet(path), pipeline_bytes=PIPED)
    assert readers[0].process.returncode is not None  # killed, not left writing into a pipe nobody reads
    assert count_rows(demo_db) == counts


def test_no_second_process_to_be_had(demo_db, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "kinds.csv", [HEADER, *(new_row(n) for n in range(20))])
    here = imported(demo_db, path, HERE)

    def refused(*args: Any, **kwargs: Any) -> None:
        raise OSError("fork: Resource temporarily unavailable")

    monkeypatch.setattr(tabular_pipeline.subprocess, "Popen", refused)
    assert imported(demo_db, path, PIPED) == here  # read in this process instead


def test_a_status_dated_in_the_future_refused_the_same_every_way(demo_db, tmp_path, monkeypatch):
    """A new project's first status and a registered project's new status dated after the
    import's day: refused as ``add_status_event`` refuses them, one by one, in bulk and piped."""
    readers = _watch(monkeypatch)
    bakad = registered_rows(demo_db)[0]
    bakad[-1] = "2099"
    rows = [HEADER, bakad, *(new_row(n) for n in range(30))]
    rows[14][-2:] = ["agreed", "2099-01-01"]  # pipe-012, sheet row 15
    path = write_csv(tmp_path / "future.csv", rows)
    with pytest.raises(InvalidInput) as direct, demo_db.write() as session:  # the one-by-one service's words
        add_status_event(Context(session, "tester", now=NOW), StatusSpec("bakad", "implemented", "2099-01-01"))
    assert direct.value.findings[0].code == "future_event"

    def refusal(row: int, period: str) -> dict[str, Any]:
        return {"code": "future_event", "message": direct.value.findings[0].message.replace("2099-01-01", period),
                "field": "status_date", "value": period, "row": row, "source": "future.csv", "severity": "error"}

    one_by_one = imported(demo_db, path, HERE, bulk=False)
    here = imported(demo_db, path, HERE)
    piped = imported(demo_db, path, PIPED)
    assert len(readers) == 1 and readers[0].done  # the piped import was read by a second process
    for out in (one_by_one, here, piped):
        assert out["report"] == ([refusal(2, "2099"), refusal(15, "2099-01-01")], False, 0, False)
        assert out["summary"] == {"created": 0, "updated": 0, "unchanged": 0, "refused": 2}
        assert all(not str(row["id"]).startswith("new") for table in out["tables"].values() for row in table)
    assert piped["tables"] == here["tables"]
