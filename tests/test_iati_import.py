"""IATI import on both databases: real publisher files, the official annotated example, re-imports
(no duplicates, status events only on a change), all or nothing, --skip-invalid, IATI 1.0x and
the validator's broken files. Small activities written here test one rule each."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import count_rows
from lxml import etree
from sqlalchemy import delete, func, select

from cooptrack.services.iati import ImportOptions, ImportResult, import_iati, slugify
from cooptrack.services.programmes import IndustrySpec, ProgrammeSpec, register_programme
from cooptrack.services.projects import get_project, history
from cooptrack.store.models import AuditEvent, FinanceRecord, Project, ProjectTag, StatusEvent

REAL = "iati/activities/real-publishers-2.03-via-dportal"
XSD = "iati/schema-2.03"
EXAMPLE = "iati/activities/official-examples-2.03/activity-standard-example-annotated.xml"


def run(write, paths, **options) -> ImportResult:
    with write() as ctx:
        return import_iati(ctx, [Path(p) for p in paths], ImportOptions(**options))


def activity_xml(identifier="XM-TEST-1", status="2", body="", dates='<activity-date type="2" iso-date="2020-03-01"/>',
                 attrs='default-currency="USD"'):
    return f"""<iati-activity {attrs}>
  <iati-identifier>{identifier}</iati-identifier>
  <reporting-org ref="KR-GOV-010" type="10"><narrative>KOICA</narrative></reporting-org>
  <title><narrative>Activity {identifier}</narrative></title>
  <description><narrative>What it does</narrative></description>
  <participating-org role="1" ref="KR-GOV-010" type="10"><narrative>KOICA</narrative></participating-org>
  <activity-status code="{status}"/>
  {dates}
  {body}
</iati-activity>"""


def iati_file(path: Path, *activities: str, root='version="2.03"') -> Path:
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities {root}>\n'
                    + "\n".join(activities) + "\n</iati-activities>\n", encoding="utf-8")
    return path


def activities_in(path: Path) -> int:
    return sum(1 for _ in etree.iterparse(str(path), tag="iati-activity"))


def flat(result: ImportResult, *keys: str) -> list[list[object]]:
    return result.report.flatten(*keys)


def flat_errors(result: ImportResult, *keys: str) -> list[list[object]]:
    return [[getattr(f, k) for k in keys] for f in result.report.errors]


@pytest.mark.parametrize("name", ["foodsecurity-dportal.xml", "dportal_84-ec-intpa.xml", "dportal_33-nl-ngos.xml"])
def test_valid_publisher_files_import_completely(write, read, store, shared_data, name):
    path = shared_data / REAL / name
    result = run(write, [path], xsd=shared_data / XSD)
    n = activities_in(path)
    assert result.written and result.report.valid
    assert (result.summary["created"], result.summary["refused"]) == (n, 0)
    with read() as ctx:
        assert ctx.session.scalar(select(func.count()).select_from(Project)) == n
        assert ctx.session.scalar(select(func.count()).select_from(StatusEvent)) == n
    assert count_rows(store)["project_finance"] == result.summary["finance_records"] > 0


def test_official_example_in_detail(write, read, shared_data):
    result = run(write, [shared_data / EXAMPLE], xsd=shared_data / XSD)
    assert result.summary["created"] == 1 and result.report.findings == []
    with read() as ctx:
        p = get_project(ctx, "aa-aaa-123456789-abc123")
        assert (p.iati_identifier, p.title) == ("AA-AAA-123456789-ABC123", "Activity title")
        assert p.description.startswith("General activity description text.")
        assert (p.planned_start, p.actual_start, p.planned_end, p.actual_end) == (
            date(2012, 4, 15), date(2012, 4, 28), date(2015, 12, 31), None)
        assert [(e.status, e.effective) for e in history(ctx, p)] == [("in_execution", "2012-04-28")]
        # vocabulary 2 and 99 sectors are tags; no DAC 5-digit sector, so none on the project
        assert p.sectors == []
        assert [(t.vocabulary, t.code, t.name, t.percent) for t in p.tags] == [
            ("recipient-country", "AG", None, Decimal(25)),
            ("recipient-region:1", "489", None, Decimal(25)),
            ("recipient-region:99", "A1", None, Decimal(25)),
            ("sector:2", "111", None, Decimal(50)),
            ("sector:2", "112", None, Decimal(50)),
            ("sector:99", "A1", "A description of the sector", Decimal(100)),
        ]
        # partner: the reporting org's prefix AA is no country; the funding org's invented BB-BBB reads as Barbados
        assert (p.host_country, p.partner_country) == ("AFG", "BRB")
        assert sorted((x.organisation.name, x.role, x.organisation.iati_ref) for x in p.participants) == [
            ("Name of Agency A", "extending", "AA-AAA-123456789"),
            ("Name of Agency B", "funding", "BB-BBB-123456789"),
            ("Name of Agency C", "accountable", "CC-CCC-123456789")]
        assert [(f.kind, f.type, f.status, f.amount, f.currency, f.value_date, f.period_start, f.transaction_date,
                 f.provider, f.receiver, f.ref) for f in p.finance] == [
            ("budget", "1", "1", Decimal(3000), "EUR", date(2014, 1, 1), date(2014, 1, 1), None, None, None, None),
            ("planned_disbursement", "1", None, Decimal(3000), "EUR", date(2014, 1, 1), date(2014, 1, 1), None,
             "Agency B", "Agency A", None),
            ("planned_disbursement", "1", None, Decimal(3000), "EUR", date(2014, 1, 1), date(2014, 1, 1), None,
             None, None, None),
            ("transaction", "1", None, Decimal(1000), "EUR", date(2012, 1, 1), None, date(2012, 1, 1),
             "Agency B", "Agency A", "1234")]
        assert p.value_amount is None  # no commitment (type 2) in the example
        [doc] = p.documents
        assert (doc.category, doc.source.url, doc.source.title, doc.source.media_type, doc.source.language,
                doc.source.published) == ("A01", "http:www.example.org/docs/report_en.odt", "Project Report 2013",
                                          "application/vnd.oasis.opendocument.text", "en", "2014-02-05")
        assert sorted((loc.name, loc.latitude, loc.longitude) for loc in p.locations) == [
            ("Location #2 name", Decimal("11.55"), Decimal("104.9167")),
            ("Location name", Decimal("31.616944"), Decimal("65.716944"))]
        assert [n["lang"] for n in p.narratives["title"][1:]] == ["fr", "es"]
        kept = [tag for tag, _ in p.iati["xml"]]
        assert kept == ["contact-info", "tag", "tag", "country-budget-items", "humanitarian-scope",
                        "humanitarian-scope", "policy-marker", "policy-marker", "policy-marker", "related-activity",
                        "legacy-data", "legacy-data", "conditions", "result", "crs-add", "fss"]
        assert p.iati["reporting-org"]["ref"] == "AA-AAA-123456789"
        assert p.iati["codes"] == {"activity-scope": "3", "collaboration-type": "1", "default-flow-type": "10",
                                   "default-finance-type": "110", "default-tied-status": "3"}


def test_reimport_is_unchanged_and_a_new_status_adds_one_event(write, read, store, shared_data, tmp_path):
    path = shared_data / REAL / "foodsecurity-dportal.xml"
    run(write, [path])
    before = count_rows(store)
    again = run(write, [path])
    assert {k: again.summary[k] for k in ("created", "updated", "unchanged")} == {
        "created": 0, "updated": 0, "unchanged": 7}
    assert count_rows(store) == before
    # The publisher now reports the first activity as finished (3: implemented).
    text = path.read_text(encoding="utf-8").replace('<activity-status code="2"/>', '<activity-status code="3"/>', 1)
    changed = tmp_path / "foodsecurity-changed.xml"
    changed.write_text(text, encoding="utf-8")
    result = run(write, [changed])
    assert {k: result.summary[k] for k in ("updated", "unchanged", "status_events")} == {
        "updated": 1, "unchanged": 6, "status_events": 1}
    after = count_rows(store)
    assert after["status_events"] == before["status_events"] + 1 and after["projects"] == before["projects"]
    with read() as ctx:
        p = get_project(ctx, slugify("XI-IATI-EC_INTPA-2021/429-054"))
        # no actual end date, no last-updated-datetime, nothing later than the start: dated by the import day
        assert [(e.status, e.effective) for e in history(ctx, p)] == [
            ("in_execution", "2022-01-17"), ("implemented", date.today().isoformat())]
        assert history(ctx, p)[-1].note == ("IATI activity-status 3 in foodsecurity-changed.xml; dated by the import "
                                            "day (the activity gives no later date)")
    assert run(write, [changed]).summary["unchanged"] == 7
    assert count_rows(store)["status_events"] == after["status_events"]


@pytest.mark.parametrize(("name", "refused", "schema_errors"), [
    ("dportal_28-koica.xml", 14, 12), ("covid-dportal.xml", 130, 263)])
def test_invalid_publisher_files(write, read, store, shared_data, name, refused, schema_errors):
    path = shared_data / REAL / name
    before = count_rows(store)
    result = run(write, [path], xsd=shared_data / XSD)
    assert not result.written and count_rows(store) == before
    errors = result.report.errors
    assert len([f for f in errors if f.code == "schema"]) == schema_errors
    assert all(f.row and f.source == str(path) and f.field for f in errors)
    assert result.summary["refused"] == refused and result.summary["created"] == 0
    assert result.summary["not_written"] == activities_in(path) - refused

    skipped = run(write, [path], xsd=shared_data / XSD, skip_invalid=True)
    assert skipped.written and skipped.report.valid
    assert skipped.summary["created"] == activities_in(path) - refused
    assert skipped.summary["refused"] == refused
    assert len([f for f in skipped.report.findings if f.code == "schema"]) == schema_errors
    with read() as ctx:
        assert ctx.session.scalar(select(func.count()).select_from(Project)) == activities_in(path) - refused


def test_koica_findings_name_line_and_field(write, shared_data):
    result = run(write, [shared_data / REAL / "dportal_28-koica.xml"], xsd=shared_data / XSD)
    assert flat_errors(result, "row", "field", "code")[:4] == [
        [342, "activity-date[1]", "schema"], [377, "activity-date[1]", "schema"],
        [411, "other-identifier", "schema"], [417, "activity-date[1]", "schema"]]
    assert result.report.errors[0].message == (
        "schema: Element 'activity-date': The attribute 'iso-date' is required but missing.")
    # schema-valid, but the register cannot hold a planned end before the planned start
    assert [f for f in result.report.errors if f.code != "schema"][0].as_dict() == {
        "code": "end_before_start", "field": "activity-date[@type=3]/@iso-date", "value": "2020-08-19",
        "row": 5399, "source": str(shared_data / REAL / "dportal_28-koica.xml"), "severity": "error",
        "message": "planned end 2020-08-19 is before planned start 2020-09-17; swap them or fix the date"}
    # without the schema, cooptrack's own checks find the same activities
    own = run(write, [shared_data / REAL / "dportal_28-koica.xml"])
    assert own.summary["refused"] == 14
    assert flat_errors(own, "row", "field", "code")[:2] == [
        [342, "activity-date[1]/@iso-date", "missing_attribute"], [377, "activity-date[1]/@iso-date",
                                                                    "missing_attribute"]]


@pytest.mark.parametrize(("name", "message"), [
    ("worldbank.xml", "IATI 1.0 is not supported; convert to 2.03"),
    ("dfid_out.xml", "IATI 1.0 is not supported; convert to 2.03"),
    ("IATIfromGF.xml", "IATI 1.0 is not supported; convert to 2.03"),
    ("undp_sample.xml", "IATI 1.0x is not supported (no version, and names written as text where 2.0x uses "
                        "<narrative>); convert to 2.03"),
])
def test_iati_1_files_are_refused_naming_the_version(write, store, shared_data, name, message):
    before = count_rows(store)
    result = run(write, [shared_data / "iati/activities/legacy-1.0-real-publishers" / name])
    assert flat(result, "code", "message", "field") == [["unsupported_version", message, "iati-activities/@version"]]
    assert not result.written and count_rows(store) == before


@pytest.mark.parametrize(("name", "expected"), [
    ("iati-with-schema-errors.xml", [[18, "activity-date[1]/@iso-date", "bad_date"]]),
    ("iati-with-xml-errors.xml", [[7, None, "not_well_formed"]]),
    ("iati-with-xml-and-schema-errors.xml", [[7, None, "not_well_formed"]]),
])
@pytest.mark.parametrize("xsd", [False, True])
def test_validator_fixtures_are_refused(write, store, shared_data, name, expected, xsd):
    before = count_rows(store)
    result = run(write, [shared_data / "iati/activities/invalid-2.03-validator-fixtures" / name],
                 xsd=shared_data / XSD if xsd else None)
    assert not result.written and count_rows(store) == before
    if xsd and expected[0][2] == "bad_date":
        assert {f.code for f in result.report.errors} == {"schema"}
        assert all(f.row for f in result.report.errors)
    else:
        assert flat_errors(result, "row", "field", "code") == expected
    if expected[0][2] == "not_well_formed":
        assert result.report.errors[0].message == (
            "not well-formed XML: Opening and ending tag mismatch: reporting-org line 5 and not-reporting-org; "
            "fix the file at that line")


def test_dry_run_checks_and_writes_nothing(write, store, shared_data):
    before = count_rows(store)
    result = run(write, [shared_data / REAL / "foodsecurity-dportal.xml"], dry_run=True)
    assert result.report.valid and not result.written
    assert result.summary["created"] == 7
    assert count_rows(store) == before


def test_one_bad_file_refuses_all_files_unless_skip_invalid(write, store, shared_data, tmp_path):
    good = shared_data / REAL / "foodsecurity-dportal.xml"
    # A file cut off after its first activity: not well-formed, refused whole.
    broken = tmp_path / "broken.xml"
    iati_file(broken, activity_xml("XM-TEST-1"), activity_xml("XM-TEST-2"))
    text = broken.read_text()
    broken.write_text(text[: text.index("<iati-activity", 100) + 40])
    before = count_rows(store)
    result = run(write, [good, broken])
    assert not result.written and count_rows(store) == before
    assert flat_errors(result, "source", "code") == [[str(broken), "not_well_formed"]]
    assert result.report.errors[0].row == 14  # where the file ends

    skipped = run(write, [good, broken], skip_invalid=True)
    assert skipped.written and skipped.summary["created"] == 7
    assert skipped.summary["refused"] == 1  # the one activity read before the break: its file is refused whole
    assert [f for f in skipped.report.findings if f.code == "not_well_formed"][0].severity == "warning"
    assert skipped.report.errors == []
    assert count_rows(store)["projects"] == 7


def test_programme_option_and_reimport_keeps_it(write, read, tmp_path):
    with write() as ctx:
        register_programme(ctx, ProgrammeSpec(code="kr-uz", name="Korea-Uzbekistan", parties=["KOR", "UZB"],
                                              industries=[IndustrySpec("Health care", ["12191"])]))
    path = iati_file(tmp_path / "a.xml", activity_xml(body='<recipient-country code="UZ"/><sector code="12191"/>'))
    assert run(write, [path], programme="kr-uz").summary["created"] == 1
    assert run(write, [path]).summary["unchanged"] == 1
    with read() as ctx:
        p = get_project(ctx, "xm-test-1")
        assert (p.programme.code, p.industry.name, p.host_country, p.partner_country) == (
            "kr-uz", "Health care", "UZB", "KOR")
        assert [(s.dac_code, s.percent) for s in p.sectors] == [("12191", Decimal(100))]


def test_status_moves_the_lifecycle_forbids_do_not_break_the_import(write, read, tmp_path):
    run(write, [iati_file(tmp_path / "a.xml", activity_xml("XM-A", status="4"), activity_xml("XM-B", status="3"))])
    # The publisher reopens A (closed -> implementation) and moves B back (implemented -> implementation).
    result = run(write, [iati_file(tmp_path / "b.xml", activity_xml("XM-A", status="2", attrs='default-currency="USD" '
                                   'last-updated-datetime="2021-06-01T10:00:00Z"'), activity_xml("XM-B", status="2"))])
    assert result.written
    assert flat(result, "code", "severity") == [["reopened", "warning"], ["status_not_recorded", "warning"]]
    assert result.report.findings[1].message == (
        "activity-status 2 (in_execution) was not recorded: status cannot go from implemented to in_execution: "
        "from implemented a project can move to closed")
    with read() as ctx:
        a, b = get_project(ctx, "xm-a"), get_project(ctx, "xm-b")
        assert [(e.status, e.effective, e.reopen) for e in history(ctx, a)] == [
            ("closed", "2020-03-01", False), ("in_execution", "2021-06-01", True)]
        assert (a.status, b.status) == ("in_execution", "implemented")


def test_sectors(write, read, tmp_path):
    acts = [
        activity_xml("XM-1", body='<sector code="72050" percentage="30"/><sector code="72050" percentage="70"/>'),
        activity_xml("XM-2", body='<sector code="12191" percentage="60" vocabulary="1"/>'
                                  '<sector code="12220" percentage="40"/><sector code="121" vocabulary="2"/>'),
        activity_xml("XM-3", body='<sector code="99999" percentage="100"/>'),
        activity_xml("XM-4", body='<sector code="12191" percentage="60"/><sector code="12220" percentage="39.99"/>'),
    ]
    result = run(write, [iati_file(tmp_path / "s.xml", *acts)], skip_invalid=True)
    assert flat(result, "code", "field", "value") == [
        ["repeated_sector", "sector/@code", "72050"],
        ["unknown_sector", "sector/@code", "99999"],
        ["sector_percent_sum", "sector/@percentage", "99.99"],
    ]
    assert result.report.findings[2].message == (
        "DAC sector percentages sum to 99.99, not 100 (12191=60, 12220=39.99); the publisher must fix them")
    assert result.summary["refused"] == 1
    with read() as ctx:
        sectors = {c: [(s.dac_code, s.percent) for s in get_project(ctx, c).sectors] for c in ("xm-1", "xm-2", "xm-3")}
        assert sectors == {"xm-1": [("72050", Decimal(100))],
                           "xm-2": [("12191", Decimal(60)), ("12220", Decimal(40))], "xm-3": []}
        tags = ctx.session.execute(select(Project.code, ProjectTag.vocabulary, ProjectTag.code)
                                   .join(ProjectTag, ProjectTag.project_id == Project.id).order_by(ProjectTag.id)).all()
        assert [tuple(t) for t in tags] == [("xm-2", "sector:2", "121"), ("xm-3", "sector:1", "99999")]


def test_project_ids_from_identifiers(write, read, tmp_path):
    long = "XM-DAC-41114-" + "X" * 70
    acts = [activity_xml("KR-1/2"), activity_xml("kr-1-2"), activity_xml(long), activity_xml(long + "Y")]
    run(write, [iati_file(tmp_path / "ids.xml", *acts)])
    with read() as ctx:
        rows = ctx.session.execute(select(Project.iati_identifier, Project.code).order_by(Project.id)).all()
    assert [r.code for r in rows] == ["kr-1-2", "kr-1-2-2", slugify(long), slugify(long)[:62] + "-2"]
    assert all(len(r.code) <= 64 for r in rows)


def test_value_is_the_sum_of_commitments_in_one_currency(write, read, tmp_path):
    def tx(kind, amount, currency="USD", day="2020-01-01"):
        return (f'<transaction><transaction-type code="{kind}"/><transaction-date iso-date="{day}"/>'
                f'<value currency="{currency}" value-date="{day}">{amount}</value></transaction>')

    acts = [activity_xml("XM-1", body=tx("2", "100") + tx("2", "-20.5", day="2019-06-01") + tx("3", "50")),
            activity_xml("XM-2", body=tx("11", "70") + tx("3", "70")),
            activity_xml("XM-3", body=tx("2", "10") + tx("2", "10", "EUR"))]
    result = run(write, [iati_file(tmp_path / "v.xml", *acts)])
    assert flat(result, "code", "message") == [["value_not_set", "the commitments (type 2) are in EUR, USD; the "
                                                                 "project value was left as it was"]]
    assert result.summary["value_not_set"] == 1
    with read() as ctx:
        values = {c: (p.value_amount, p.value_currency, p.value_date) for c in ("xm-1", "xm-2", "xm-3")
                  for p in [get_project(ctx, c)]}
        assert values == {"xm-1": (Decimal("79.5"), "USD", date(2019, 6, 1)),
                          "xm-2": (Decimal(70), "USD", date(2020, 1, 1)), "xm-3": (None, None, None)}
        amounts = ctx.session.scalars(select(FinanceRecord.amount).order_by(FinanceRecord.id)).all()
        assert Decimal("-20.5") in amounts  # negative amounts are kept


def test_placeholders_are_warnings_but_broken_data_refuses(write, store, tmp_path):
    ok = activity_xml("", status="xx", dates='<activity-date type="xx" iso-date="2013-11-27"/>',
                      body='<transaction><transaction-type code="3"/><transaction-date iso-date="2020-01-01"/>'
                           '<value value-date="2020-01-01">5</value></transaction>', attrs="")
    path = iati_file(tmp_path / "placeholders.xml", ok.replace('role="1"', 'role="xx"'), root='version="xx"')
    result = run(write, [path])
    assert result.written
    assert flat(result, "code") == [["unknown_date_type"], ["missing_currency"], ["empty_identifier"],
                                    ["unknown_role"], ["unknown_status"], ["unknown_version"]]
    assert count_rows(store)["projects"] == 1

    bad = activity_xml("XM-BAD", dates='<activity-date type="1" iso-date="2020-13-01"/>',
                       body='<budget><period-start iso-date="2020-01-01"/><period-end iso-date="2020-12-31"/>'
                            '<value currency="XYZ" value-date="2020-01-01">1,000</value></budget>')
    before = count_rows(store)
    refused = run(write, [iati_file(tmp_path / "bad.xml", bad)])
    assert flat(refused, "field", "code") == [
        ["activity-date[1]/@iso-date", "bad_date"], ["budget[1]/value", "bad_amount"],
        ["budget[1]/value/@currency", "unknown_currency"]]
    assert refused.report.errors[1].message == "budget[1]/value '1,000' is not a decimal number (e.g. -1500.50)"
    assert count_rows(store) == before


def test_duplicate_identifier_in_one_import(write, store, tmp_path):
    path = iati_file(tmp_path / "dup.xml", activity_xml("XM-1"), activity_xml("XM-1"))
    result = run(write, [path])
    assert flat(result, "row", "code") == [[13, "duplicate_identifier"]]
    assert result.report.errors[0].message == (
        f"iati-identifier 'XM-1' appears twice in this import (first at {path} line 3); each activity must have "
        "its own")
    assert count_rows(store)["projects"] == 0


def test_every_change_is_audited(write, read, shared_data):
    run(write, [shared_data / EXAMPLE])
    with read() as ctx:
        events = ctx.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert sorted((e.action, e.entity, e.entity_id) for e in events) == [
        ("create", "organisation", "1"), ("create", "organisation", "2"), ("create", "organisation", "3"),
        ("create", "project", "aa-aaa-123456789-abc123"), ("create", "source", "1"),
        ("import", "project", "aa-aaa-123456789-abc123"), ("status", "project", "aa-aaa-123456789-abc123")]
    created = next(e.after for e in events if e.action == "create" and e.entity == "project")
    assert created["participants"] == [{"name": "Name of Agency B", "role": "funding"},
                                       {"name": "Name of Agency C", "role": "accountable"},
                                       {"name": "Name of Agency A", "role": "extending"}]
    assert (created["status"], created["version"], created["iati"]) == ("in_execution", 1, {})


@pytest.mark.parametrize("name", [EXAMPLE, f"{REAL}/dportal_84-ec-intpa.xml"])
def test_the_bulk_path_writes_what_upsert_project_writes(write, read, store, shared_data, name, sqlite_template,
                                                         tmp_path):
    """New projects go in batches through Core inserts; the same file one project at a time through
    upsert_project must give the same register and the same audit events."""
    import shutil

    from test_iati_roundtrip import snapshot

    from cooptrack.services.context import Context
    from cooptrack.store import Store

    run(write, [shared_data / name])
    shutil.copy(sqlite_template, tmp_path / "slow.db")
    slow = Store(f"sqlite:///{tmp_path / 'slow.db'}")
    with slow.write() as session:
        import_iati(Context(session, "tester"), [shared_data / name], ImportOptions(bulk=False))
    assert snapshot(store) == snapshot(slow)
    for db in (store, slow):
        assert count_rows(db)["audit_events"] == count_rows(store)["audit_events"]

    def audited(db):
        with db.read() as session:
            return sorted((e.action, e.entity, e.entity_id if e.entity != "organisation" else "")
                          for e in session.scalars(select(AuditEvent)))

    assert audited(store) == audited(slow)
    slow.dispose()


def test_version_1_03_is_named(write, store, tmp_path):
    result = run(write, [iati_file(tmp_path / "old.xml", activity_xml(), root='version="1.03"')])
    assert flat(result, "code", "message", "row") == [
        ["unsupported_version", "IATI 1.03 is not supported; convert to 2.03", 2]]
    assert count_rows(store)["projects"] == 0


def test_rows_written_straight_through_the_driver_equal_core_inserts(write, read, tmp_path):
    """insert_rows and insert_tuples (on SQLite: the driver's executemany, each column's bind
    processor once per distinct value; elsewhere Core) store what a Core insert of the same rows
    stores: exact decimals that compare equal but differ in writing, dates (given as day numbers to
    insert_tuples), columns the same in every row, JSON (empty, nested, null)."""
    from sqlalchemy import insert

    from cooptrack.services.iati_store import insert_rows, insert_tuples

    run(write, [iati_file(tmp_path / "three.xml", *(activity_xml(f"XM-TEST-{n}") for n in (1, 2, 3)))])
    with read() as ctx:
        one, two, three = (ctx.session.scalar(select(Project.id).where(Project.iati_identifier == f"XM-TEST-{n}"))
                           for n in (1, 2, 3))

    def rows(pid):
        base = {"project_id": pid, "kind": "budget", "type": None, "status": "1", "transaction_date": None,
                "period_start": date(2020, 1, 1), "period_end": date(2020, 12, 31), "currency": "USD",
                "value_date": date(2020, 1, 1), "description": None, "provider": None, "receiver": None,
                "ref": None, "version": 1}
        amounts = [Decimal("1.5"), Decimal("1.50"), Decimal("1E+2"), Decimal("100"), Decimal("-0.000"), Decimal(7)]
        extras = [{}, {"provider-org": {"ref": "XM-1", "narratives": [{"text": "Ünïcode", "lang": "fr"}]}},
                  {"aid-type": [{"code": "C01"}]}, {}, {"n": [1, 2.5, True, None]}, {}]
        return [{**base, "amount": a, "extra": e} for a, e in zip(amounts, extras, strict=True)]

    days = ("transaction_date", "period_start", "period_end", "value_date")
    keys = tuple(k for k in rows(three)[0] if k != "version")
    as_tuples = [tuple(v.toordinal() if k in days and v is not None else v for k, v in r.items() if k != "version")
                 for r in rows(three)]
    with write() as ctx:
        ctx.session.execute(delete(FinanceRecord))
        insert_rows(ctx.session, FinanceRecord, rows(one))
        ctx.session.execute(insert(FinanceRecord), rows(two))
        insert_tuples(ctx.session, FinanceRecord, keys, as_tuples, constants={"version": 1}, days=days)
    with read() as ctx:
        stored = {pid: [(f.kind, f.status, f.period_start, f.period_end, str(f.amount), f.currency, f.value_date,
                         f.extra, f.version) for f in ctx.session.scalars(select(FinanceRecord)
                                                                          .where(FinanceRecord.project_id == pid)
                                                                          .order_by(FinanceRecord.id))]
                  for pid in (one, two, three)}
    assert stored[one] == stored[two] == stored[three]
    assert [row[4] for row in stored[one]] == ["1.5", "1.5", "100", "100", "0", "7"]
    assert stored[three][0][2:4] == (date(2020, 1, 1), date(2020, 12, 31))


def test_amount_beyond_the_kept_size_refused(write, store, tmp_path):
    """An IATI value of more than 22 digits before the decimal point is a finding on its line;
    nothing is written (it would be rounded on SQLite and overflow PostgreSQL's column)."""
    huge = "1234567890123456789012345.5"
    path = iati_file(tmp_path / "huge.xml", activity_xml(body=f"""<transaction>
    <transaction-type code="3"/><transaction-date iso-date="2020-05-01"/>
    <value currency="USD" value-date="2020-05-01">{huge}</value></transaction>"""))
    before = count_rows(store)
    result = run(write, [path])
    assert not result.written and count_rows(store) == before
    assert flat_errors(result, "code", "row", "field", "value") == [["too_large", 13, "transaction[1]/value", huge]]
    assert result.report.errors[0].message == (f"transaction[1]/value '{huge}' is too large: cooptrack keeps at most "
                                               "22 digits before the decimal point")
