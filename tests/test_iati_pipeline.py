"""IATI import of large files through a second reading process (formats.iati_piped): the same
findings, summary and rows as reading in the importing process, on both databases; small files
stay in the importing process; a reading process that dies or fails fails the import with nothing
written; a consumer that stops early stops the child."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import count_rows
from sqlalchemy import select, text

from cooptrack.formats import iati_piped
from cooptrack.formats.iati_piped import PipedFile, ReaderFailed
from cooptrack.formats.iati_read import IatiFile
from cooptrack.services import iati
from cooptrack.services.context import Context
from cooptrack.services.iati import ImportOptions, ImportResult, import_iati
from cooptrack.store import Store
from cooptrack.store.models import AuditEvent

REAL = "iati/activities/real-publishers-2.03-via-dportal"
XSD = "iati/schema-2.03"
VALID = ["dportal_33-nl-ngos.xml", "dportal_84-ec-intpa.xml", "foodsecurity-dportal.xml"]
INVALID = ["covid-dportal.xml", "dportal_28-koica.xml"]
TABLES = ("projects", "project_sectors", "project_participants", "locations", "project_tags", "project_finance",
          "project_documents", "status_events", "organisations", "sources")
# Columns that differ between two runs whatever the reader: ids (PostgreSQL's sequences do not go
# back on a rollback), foreign keys to them and the clock.
VARYING = {"id", "project_id", "organisation_id", "source_id", "value_source_id", "created_at", "updated_at", "at",
           "recorded_at"}


class _Undo(Exception):
    """Rolls the import's transaction back once its rows have been read."""


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in VARYING}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _rows(session: Any) -> dict[str, list[str]]:
    """Every row the import writes, without ids and timestamps, in a comparable order."""
    rows: dict[str, list[str]] = {}
    for table in TABLES:
        result = session.execute(text(f"SELECT * FROM {table} ORDER BY id"))
        keys = [k for k in result.keys() if k not in VARYING]  # noqa: SIM118 - a Result's column names
        rows[table] = [repr([row._mapping[k] for k in keys]) for row in result]
    urls = dict(session.execute(text("SELECT id, url FROM sources")).all())

    def documents(state: dict[str, Any] | None) -> Any:  # an import event's documents are source ids
        if state and "documents" in state:
            state = {**state, "documents": [urls.get(i, i) for i in state["documents"]]}
        return _plain(state)

    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    rows["audit_events"] = [repr((e.action, e.entity, e.entity_id if e.entity == "project" else "", e.actor,
                                  documents(e.before), documents(e.after))) for e in events]
    return rows


def _import(store: Store, paths: list[Path], monkeypatch: pytest.MonkeyPatch, piped: bool,
            **options: Any) -> tuple[ImportResult, dict[str, list[str]]]:
    """The import in one transaction, its rows read and rolled back; ``piped``: every file through a
    reading process, else none."""
    monkeypatch.setattr(iati_piped, "MIN_BYTES", 0 if piped else 1 << 60)
    rows: dict[str, list[str]] = {}
    with pytest.raises(_Undo), store.write() as session:
        result = import_iati(Context(session, "tester"), paths, ImportOptions(**options))
        rows = _rows(session) if result.written else {}  # else import_iati rolled back itself
        raise _Undo
    return result, rows


def _same_both_ways(store: Store, paths: list[Path], monkeypatch: pytest.MonkeyPatch, **options: Any) -> ImportResult:
    here, here_rows = _import(store, paths, monkeypatch, piped=False, **options)
    piped, piped_rows = _import(store, paths, monkeypatch, piped=True, **options)
    assert piped.report.findings == here.report.findings
    assert (piped.summary, piped.written, piped.report.truncated) == (here.summary, here.written, here.report.truncated)
    assert piped_rows == here_rows
    return piped


def test_piped_reading_imports_what_reading_here_imports(store, shared_data, monkeypatch):
    """The valid and the invalid real files in one import with --skip-invalid: the same findings
    (codes, messages, lines), summary, rows and audit events."""
    paths = [shared_data / REAL / name for name in VALID + INVALID]
    result = _same_both_ways(store, paths, monkeypatch, skip_invalid=True)
    assert result.written and result.summary["created"] > 0 and result.summary["refused"] > 0
    assert any(f.row for f in result.report.findings)


def test_piped_reading_refuses_what_reading_here_refuses(store, shared_data, monkeypatch, tmp_path):
    """Errors without --skip-invalid (nothing written), --xsd, --dry-run and a file that breaks off
    in the middle: the same findings either way."""
    covid, koica = (shared_data / REAL / name for name in INVALID)
    result = _same_both_ways(store, [covid], monkeypatch)
    assert not result.written and result.report.errors
    _same_both_ways(store, [koica], monkeypatch, xsd=shared_data / XSD)
    assert _same_both_ways(store, [shared_data / REAL / VALID[2]], monkeypatch, dry_run=True).summary["created"] > 0
    broken = tmp_path / "broken.xml"
    broken.write_bytes((shared_data / REAL / VALID[1]).read_bytes()[:600_000])
    result = _same_both_ways(store, [broken, shared_data / REAL / VALID[2]], monkeypatch, skip_invalid=True)
    assert [f.code for f in result.report.findings if f.source == str(broken)][-1:] == ["not_well_formed"]


def test_small_files_are_read_here(shared_data, monkeypatch, tmp_path, sqlite_template):
    """Files under MIN_BYTES are read in the importing process; from MIN_BYTES on, in a child."""
    path = shared_data / REAL / VALID[2]
    used: list[str] = []

    class Spy(PipedFile):
        def __iter__(self):  # type: ignore[no-untyped-def]
            used.append(self.name)
            return super().__iter__()

    monkeypatch.setattr(iati, "PipedFile", Spy)
    shutil.copy(sqlite_template, tmp_path / "small.db")
    store = Store(f"sqlite:///{tmp_path / 'small.db'}")
    try:
        for min_bytes, expected in ((path.stat().st_size + 1, []), (path.stat().st_size, [str(path)])):
            used.clear()
            monkeypatch.setattr(iati_piped, "MIN_BYTES", min_bytes)
            with pytest.raises(_Undo), store.write() as session:
                assert import_iati(Context(session, "tester"), [path], ImportOptions()).written
                raise _Undo
            assert used == expected
    finally:
        store.dispose()


def test_a_reading_process_that_dies_fails_the_import(store, shared_data, monkeypatch):
    """Killed after its first chunk: ReaderFailed from import_iati, and nothing written."""
    path = shared_data / REAL / VALID[0]  # 100 activities, one a message: far more than the pipe holds
    monkeypatch.setattr(iati_piped, "MIN_BYTES", 0)
    monkeypatch.setattr(iati_piped, "CHUNK", 1)
    started: list[Any] = []
    start, decode = PipedFile._start, iati_piped._decode

    def _start(self: PipedFile) -> Any:
        started.append(start(self))
        return started[-1]

    def _decode(data: bytes) -> Any:
        message = decode(data)
        started[-1].kill()
        started[-1].wait()
        return message

    monkeypatch.setattr(PipedFile, "_start", _start)
    monkeypatch.setattr(iati_piped, "_decode", _decode)
    before = count_rows(store)
    with pytest.raises(ReaderFailed, match="stopped before the end of the file"), store.write() as session:
        import_iati(Context(session, "tester"), [path], ImportOptions())
    assert count_rows(store) == before


def test_a_reading_process_that_fails_says_why(shared_data, tmp_path):
    file = PipedFile(shared_data / REAL / VALID[2], xsd=tmp_path / "no-schema-here")
    with pytest.raises(ReaderFailed, match="iati-activities-schema.xsd"):
        list(file)
    assert file.process is not None and file.process.returncode is not None  # ended (or was ended)


def test_the_child_stops_when_the_importer_stops(shared_data):
    file = PipedFile(shared_data / REAL / VALID[0], chunk=1)
    activities = iter(file)
    assert next(activities).identifier
    activities.close()  # type: ignore[attr-defined]
    assert file.process is not None and file.process.poll() is not None


def test_the_piped_file_holds_what_the_file_holds(shared_data, tmp_path):
    """Activities (every field), file findings and state, read here and in a child."""
    broken = tmp_path / "broken.xml"
    broken.write_bytes((shared_data / REAL / VALID[1]).read_bytes()[:600_000])
    for path in (shared_data / REAL / INVALID[0], broken):
        here, there = IatiFile(path), PipedFile(path)
        assert list(there) == list(here)
        for key in ("findings", "refused", "fatal", "version", "generated", "count", "bytes_read"):
            assert getattr(there, key) == getattr(here, key), key


def test_every_field_of_an_activity_crosses_the_pipe():
    """to_wire/from_wire keep every field (types included: decimals exact, dates, tuples)."""
    from datetime import date
    from decimal import Decimal

    from cooptrack.findings import Finding
    from cooptrack.formats.iati_piped import from_wire, to_wire
    from cooptrack.formats.iati_read import (
        Activity,
        ActivityDate,
        Coded,
        DocumentLink,
        Money,
        Narrative,
        Org,
        Place,
    )

    names = [Narrative("Nom", "fr"), Narrative("Name")]
    org = Org(names, "XM-1", "10", "1", "XM-1-A", {"crs-channel-code": "21000"})
    coded = Coded("21020", "1", Decimal("12.50"), "http://example.org", names)
    money = Money("transaction", Decimal("-1E+3"), "EUR", date(2020, 1, 2), "2", "1", date(2020, 1, 3),
                  date(2020, 1, 1), date(2020, 12, 31), "T-1", names, org, Org([], None),
                  {"aid-type": [{"code": "C01"}]})
    activity = Activity(
        "file.xml", 7, 3, "XM-1-A", {"default-currency": "EUR"}, org, names, [("1", names), (None, [])], [org, org],
        [{"ref": "X", "type": "A1"}], "2", [ActivityDate("1", date(2019, 5, 6), names)], {"activity-scope": "4"},
        [{"code": "C01"}], "33.3", [coded], [Coded("298", "1")],
        [Place(names, "L1", Decimal("-1.5"), Decimal("30.25"), "http://www.opengis.net/def/crs/EPSG/0/4326", ["<x/>"])],
        [coded, Coded("1", "99", None)], [money, Money("budget", Decimal("0.00"), "USD", date(2021, 1, 1))],
        [DocumentLink("http://example.org/a.pdf", "application/pdf", names, names, ["A01"], ["en"], date(2020, 2, 2))],
        [("result", "<result></result>")], [Finding("bad_date", "not a date", "activity-date", "x", 9, "file.xml",
                                                    "warning")], "2024-01-01T00:00:00Z")
    back = from_wire(to_wire(activity))
    assert back == activity and repr(back) == repr(activity)
    assert str(back.finance[0].amount) == "-1E+3" and back.descriptions[0].__class__ is tuple


def test_repeated_children_are_reported_in_the_same_order_in_every_process(tmp_path):
    """A transaction with two of several children: its findings in the schema's order, whatever the
    process's string hash salt (the reading process is not the importing one)."""
    import os
    import subprocess
    import sys

    from test_iati_import import activity_xml, iati_file

    body = """<transaction><transaction-type code="2"/><transaction-date iso-date="2020-01-01"/>
      <transaction-date iso-date="2020-01-02"/><value currency="USD" value-date="2020-01-01">1</value>
      <value currency="USD" value-date="2020-01-01">2</value><description><narrative>a</narrative></description>
      <description><narrative>b</narrative></description><flow-type code="10"/><flow-type code="10"/>
      <finance-type code="110"/><finance-type code="110"/><tied-status code="5"/><tied-status code="5"/>
    </transaction>"""
    path = iati_file(tmp_path / "repeats.xml", activity_xml(body=body))
    script = ("import sys; from pathlib import Path; from cooptrack.formats.iati_read import IatiFile; print([f.field "
              "for a in IatiFile(Path(sys.argv[1])) for f in a.findings if f.code == 'repeated_element'])")
    seen = {subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in range(8)}
    assert seen == {str([f"transaction[1]/{tag}" for tag in ("transaction-date", "value", "description", "flow-type",
                                                               "finance-type", "tied-status")]) + "\n"}


def test_the_reading_process_refuses_what_reading_here_refuses(tmp_path):
    """An external entity, a billion laughs, a DTD: the same refusals from a reading process, which
    reads no file but the one given (the huge text node and attribute of test_iati_security are
    over MIN_BYTES: those tests import them through a reading process)."""
    from test_iati_security import MARKER, _laughs, _write, _xxe

    secret = tmp_path / "secret.txt"
    secret.write_text(MARKER)
    for path in (_xxe(tmp_path, secret), _laughs(tmp_path), _write(tmp_path / "dtd.xml", "<!DOCTYPE x>", "t")):
        here, there = IatiFile(path), PipedFile(path)
        assert list(there) == list(here) == []
        assert there.findings == here.findings and there.fatal and [f.code for f in there.findings] == ["dtd_refused"]
        assert MARKER not in repr(there.findings)


def test_a_reading_process_prepares_what_is_prepared_here(shared_data, tmp_path):
    """With ``prepare`` the child sends what the import's mapping makes of each activity: the same
    as mapping here (findings, JSON, rows: a set's order or a hash salt would show), and the file's
    state as reading here leaves it."""
    from cooptrack.services.iati_mapping import prepared_tuple

    broken = tmp_path / "broken.xml"
    broken.write_bytes((shared_data / REAL / VALID[1]).read_bytes()[:600_000])
    for path in (shared_data / REAL / INVALID[0], shared_data / REAL / VALID[0], broken):
        here, there = IatiFile(path), PipedFile(path, prepare=iati.PREPARE)
        assert list(there) == [prepared_tuple(a) for a in here]
        for key in ("findings", "refused", "fatal", "version", "generated", "count", "bytes_read"):
            assert getattr(there, key) == getattr(here, key), key


def test_prepared_activities_are_plain_data(shared_data):
    """What the mapping makes of every activity of the reference files is what marshal writes (a
    date or a decimal left in would fail the reading process), and comes back equal."""
    import marshal

    from cooptrack.services.iati_mapping import Prepared, prepare

    paths = sorted((shared_data / "iati/activities").rglob("*.xml"))
    seen = 0
    for path in paths:
        for activity in IatiFile(path):
            prepared = prepare(activity)
            assert Prepared._make(marshal.loads(marshal.dumps(tuple(prepared)))) == prepared
            seen += 1
    assert seen > 700


def test_the_reading_process_loads_no_orm_and_no_country_tables():
    """The reading process's start is on the import's critical path: what it imports to read and
    prepare activities leaves out SQLAlchemy and cooptrack.domain (countrynames)."""
    import subprocess
    import sys

    module = iati.PREPARE.partition(":")[0]
    script = (f"import sys, cooptrack.formats.iati_piped, {module}; "
              "print(sorted({m.split('.')[0] if not m.startswith('cooptrack') else '.'.join(m.split('.')[:2]) "
              "for m in sys.modules if m.startswith(('sqlalchemy', 'countrynames', 'cooptrack.domain', "
              "'cooptrack.store'))}))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
