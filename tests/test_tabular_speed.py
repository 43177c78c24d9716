"""The fast paths of the spreadsheet import give what the general ones give: the JSON text of an
audit snapshot, built column by column, is ``json.dumps`` of the snapshot; bind processors run
once per distinct value still convert every value as they would one by one."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from test_tabular import write_csv

from cooptrack.formats.tabular import read_sheet
from cooptrack.services import audit
from cooptrack.services.context import Context
from cooptrack.services.datasets import demo_path, load_dataset, read_dataset
from cooptrack.services.tabular import import_projects
from cooptrack.services.tabular_store import _bound, _Snapshot, json_text, json_texts
from cooptrack.store.models import AuditEvent, Project, ProjectSector
from cooptrack.store.types import Amount

VALUES: list[Any] = [None, "KAZ", "Ünïcode \"quoted\" \\ text", 0, 7, True, False, Decimal("60"), Decimal("60.0"),
                     Decimal("1E+2"), date(2019, 4, 22), datetime(2019, 4, 22, 10, 30, tzinfo=UTC), [], ["a", "b"],
                     {}, {"21020": Decimal("60.50")}, [{"name": "A", "role": "funding"}]]


def _reference(value: Any) -> str:
    return json.dumps(audit.jsonable(value))


def test_json_text_is_json_dumps_of_the_jsonable_value():
    for value in VALUES:
        assert json_text(value) == _reference(value), value


def test_json_texts_of_a_column_each_as_written():
    # One column at a time, as the import gives them; then every value of VALUES in one column.
    columns: list[list[Any]] = [
        ["b", "a", None, "b"], [f"code-{i}" for i in range(10)], [1, 2, None, 1], [True, 1, False, 0],
        [Decimal("60"), Decimal("60.0"), Decimal("60.00"), None], [date(2020, 1, 1), None, date(2020, 1, 1)],
        [[], [], ["x"], None], [{}, {"a": 1}, {}], [0.0, -0.0, None],
        [datetime(2020, 1, 1, 10, tzinfo=UTC), datetime(2020, 1, 1, 11, tzinfo=timezone(timedelta(hours=1)))], VALUES]
    for column in columns:
        assert json_texts(column) == [_reference(v) for v in column], column


def test_equal_decimals_keep_their_own_digits():
    assert json_texts([Decimal("60"), Decimal("60.0")]) == ['"60"', '"60.0"']


def test_snapshot_template_is_json_dumps_of_the_dict():
    keys = ("id", "code", "share%", "note", "version", "sectors")
    shared = {"note": "100% sure", "version": 1}
    snapshot = _Snapshot(keys, shared)
    rows = [{"id": 1, "code": "a%s", "share%": Decimal("12.5"), "sectors": {}},
            {"id": 2, "code": "b", "share%": None, "sectors": {"21020": Decimal("100")}}]
    texts = snapshot.texts({k: json_texts([r[k] for r in rows]) for k in snapshot.slots})
    assert texts == [_reference({k: {**r, **shared}[k] for k in keys}) for r in rows]


def test_bound_converts_each_value_as_one_by_one():
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    process = Amount().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    values = [Decimal("1.50"), Decimal("1.5"), None, Decimal("-0"), Decimal("100"), Decimal("1E+2")]
    assert list(_bound(process, values)) == [process(v) for v in values]
    mixed: list[Any] = [True, 1, 1.0, "1"]
    assert list(_bound(repr, mixed)) == [repr(v) for v in mixed]  # equal values of other types are not merged
    same: list[Any] = [{}, {}, [], ["a"], None]
    assert list(_bound(json.dumps, same)) == [json.dumps(v) for v in same]


HEADER = ["id", "title", "programme", "host_country", "partner_country", "value", "currency", "value_date",
          "sectors", "participants", "planned_start", "status", "status_date"]
ROWS = [HEADER,
        ["s1", "Ünïcode \"one\"", "fresh-wind", "KAZ", "KOR", "1,250,000.50", "usd", "22.04.2019",
         "21020:60.0; 21030:40", "Korea Eximbank (funding, KOR); New Org % (investor, KAZ)", "2019-05-01", "agreed",
         "2019-04"],
        ["s2", "Two", "", "", "", "10", "KZT", "", "12191", "", "", "", ""]]


def test_stored_audit_text_is_what_the_json_column_writes(store, tmp_path):
    """The snapshots the bulk insert stores as text read back as the one-by-one path's would
    (tests/test_tabular_bulk.py) and are, byte for byte, ``json.dumps`` of what they hold."""
    with store.write() as session:
        load_dataset(Context(session, "tester"), read_dataset(demo_path()), "demo", demo_path().parent)
    with store.read() as session:
        start = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    with store.write() as session:
        result = import_projects(Context(session, "tester"), read_sheet(write_csv(tmp_path / "s.csv", ROWS)))
    assert result.summary["created"] == 2
    table = AuditEvent.__table__
    with store.read() as session:
        raw = session.connection().exec_driver_sql(
            f"SELECT action, entity, {table.c.before.name}, {table.c.after.name} FROM {table.name} "
            f"WHERE id > {start} ORDER BY id").all()
        sectors_of = select(ProjectSector.percent).join(Project, Project.id == ProjectSector.project_id)
        percents = sorted(session.scalars(sectors_of.where(Project.code.in_(["s1", "s2"]))))
    assert [(a, e) for a, e, *_ in raw if e == "project"] == [("create", "project"), ("create", "project"),
                                                              ("status", "project")]
    for _, _, before, after in raw:
        for text in (before, after):
            as_text = text if isinstance(text, str) else json.dumps(text)
            assert as_text == json.dumps(json.loads(as_text))
    first = next(after for _, entity, _, after in raw if entity == "project")
    sectors = json.loads(first if isinstance(first, str) else json.dumps(first))["sectors"]
    assert sectors == {"21020": "60.0", "21030": "40"}
    assert percents == [Decimal("40"), Decimal("60"), Decimal("100")]


def test_check_project_remembered_gives_the_same_findings(store):
    """With the import's memo, each spec gets the findings (and order) of a check without one,
    the second time as the first: dates and their order, amounts and currencies included."""
    from cooptrack.errors import InvalidInput
    from cooptrack.services.projects import ProjectSpec, check_project

    specs = [
        ProjectSpec("a", "A", value="1,5", currency="usd", planned_start="2020-01-01", planned_end="2019-01-01"),
        ProjectSpec("b", "B", value="10", currency="xxx", actual_start="2021-02-30", actual_end="2020-01-01"),
        ProjectSpec("c", "C", value="10", planned_start="2020-01-01", planned_end="2019-01-01",
                    actual_start="2022-01-01", actual_end="2021-01-01", host_country="Narnia"),
        ProjectSpec("d", "D", value="2500000.50", currency="KZT", planned_start="2020-01-01", planned_end="2021-01-01"),
        ProjectSpec("Bad Id", "", value="-5", currency="USD", value_date="2019-13-01"),
    ]

    def outcome(spec: ProjectSpec, memo: dict[Any, Any] | None) -> Any:
        with store.read() as session:
            try:
                checked = check_project(Context(session, "tester"), spec, memo)
            except InvalidInput as exc:
                return [(f.code, f.field, f.value, f.message) for f in exc.findings]
            return checked.fields

    memo: dict[Any, Any] = {}
    for _ in range(2):
        for spec in specs:
            assert outcome(spec, memo) == outcome(spec, None), spec.code
    assert outcome(specs[3], None)["value_amount"] == Decimal("2500000.50")
    assert outcome(specs[3], None)["value_currency"] == "KZT"


def test_a_status_date_refused_as_a_day_is_not_read_as_a_period(store, tmp_path):
    """A status date the day parser refuses is reported as a bad date, and the status is then
    without its date: the period parser never sees the refused text."""
    rows = [["id", "title", "status", "status_date"], ["p1", "One", "agreed", "12.13.2019"],
            ["p2", "Two", "agreed", "2019-Q5"], ["p3", "Three", "agreed", "12.13.2019"]]
    with store.write() as session:
        result = import_projects(Context(session, "tester"), read_sheet(write_csv(tmp_path / "s.csv", rows)))
    found = [(f.row, f.code, f.field) for f in result.report.findings]
    assert found == [(2, "bad_date", "status_date"), (2, "missing_status_date", "status_date"),
                     (3, "bad_period", "status_date"),
                     (4, "bad_date", "status_date"), (4, "missing_status_date", "status_date")]
