"""Import, export, import into an empty database: the same identifiers, statuses, dates, sectors
and percentages, participants, money, documents (and everything else the register keeps); the
export validates against the official schema, and exporting the second database gives the same
XML. cooptrack's own projects (the demo) export valid too."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select
from test_iati_import import EXAMPLE, REAL, XSD, run

from cooptrack.findings import Report
from cooptrack.formats.iati_write import write_activities
from cooptrack.services.context import Context
from cooptrack.services.iati import ImportOptions, ReportingOrg, export_activities, import_iati
from cooptrack.store import Store
from cooptrack.store.models import Project
from cooptrack.store.types import utcnow


def export(store: Store, path: Path, reporting_org: ReportingOrg | None = None) -> Report:
    report = Report()
    with store.read() as session, path.open("wb") as handle:
        write_activities(handle, export_activities(Context(session, "tester"), report, reporting_org=reporting_org),
                         utcnow())
    return report


def schema_errors(shared_data: Path, path: Path) -> list[str]:
    schema = etree.XMLSchema(etree.parse(str(shared_data / XSD / "iati-activities-schema.xsd")))
    schema.validate(etree.parse(str(path)))
    return [f"{e.line}: {e.message}" for e in schema.error_log]


def snapshot(store: Store) -> dict[str, dict[str, object]]:
    """Each project by IATI identifier, as plain comparable values."""
    result: dict[str, dict[str, object]] = {}
    with store.read() as session:
        for p in session.scalars(select(Project)):
            result[p.iati_identifier] = {
                "title": p.title, "description": p.description, "status": p.status,
                "history": [(e.status, e.effective) for e in p.events],
                "dates": (p.planned_start, p.actual_start, p.planned_end, p.actual_end),
                "countries": (p.host_country, p.partner_country),
                "value": (p.value_amount, p.value_currency, p.value_date),
                "sectors": sorted((s.dac_code, s.percent) for s in p.sectors),
                "tags": sorted((t.vocabulary, t.code, t.name or "", t.percent or 0) for t in p.tags),
                "participants": sorted((x.organisation.name, x.role) for x in p.participants),
                "finance": sorted((f.kind, f.type or "", f.status or "", str(f.transaction_date), str(f.period_start),
                                   str(f.period_end), f.amount, f.currency, str(f.value_date), f.description or "",
                                   f.provider or "", f.receiver or "", f.ref or "", repr(sorted(f.extra.items())))
                                  for f in p.finance),
                "documents": [(d.position, d.category, d.source.url, d.source.title, d.source.media_type,
                               d.source.language, d.source.published) for d in p.documents],
                "locations": sorted((x.name, x.latitude or 0, x.longitude or 0) for x in p.locations),
                "narratives": p.narratives, "iati": p.iati,
            }
    return result


@pytest.fixture
def second(sqlite_template: Path, tmp_path: Path):
    path = tmp_path / "second.db"
    shutil.copy(sqlite_template, path)
    store = Store(f"sqlite:///{path}")
    yield store
    store.dispose()


@pytest.mark.parametrize("name", [EXAMPLE, f"{REAL}/foodsecurity-dportal.xml"])
def test_round_trip(write, store, second, shared_data, tmp_path, name):
    assert run(write, [shared_data / name]).written
    first_xml = tmp_path / "first.xml"
    assert export(store, first_xml).findings == []
    assert schema_errors(shared_data, first_xml) == []
    with second.write() as session:
        result = import_iati(Context(session, "tester"), [first_xml], ImportOptions(xsd=shared_data / XSD))
    assert result.written and result.report.errors == []

    before, after = snapshot(store), snapshot(second)
    assert sorted(before) == sorted(after) and len(before) == result.summary["created"]
    for identifier, project in before.items():
        for key, value in project.items():
            assert after[identifier][key] == value, (identifier, key)

    second_xml = tmp_path / "second.xml"
    export(second, second_xml)
    stamp = re.compile(rb'generated-datetime="[^"]*"')
    assert stamp.sub(b"", second_xml.read_bytes()) == stamp.sub(b"", first_xml.read_bytes())


def test_the_annotated_example_exports_every_element_it_had(write, store, shared_data, tmp_path):
    run(write, [shared_data / EXAMPLE])
    export(store, tmp_path / "out.xml")

    def shape(path: Path) -> list[str]:
        activity = etree.parse(str(path)).getroot().find("iati-activity")
        return sorted(f"{el.tag}@{','.join(sorted(el.attrib))}" for el in activity.iter() if isinstance(el.tag, str))

    assert shape(tmp_path / "out.xml") == shape(shared_data / EXAMPLE)


def test_the_demo_exports_valid(cli, store, shared_data, tmp_path):
    assert cli("demo").exit_code == 0
    path = tmp_path / "demo.xml"
    report = export(store, path, ReportingOrg("XM-COOPTRACK-DEMO", "Fresh Wind programme office", "10"))
    assert report.errors == []
    assert [(f.source, f.code) for f in report.findings] == [
        ("bakad", "no_participants"), ("bakad", "derived_date"),
        ("car-assembly-plant", "no_participants"), ("car-assembly-plant", "derived_date")]
    assert schema_errors(shared_data, path) == []
    root = etree.parse(str(path)).getroot()
    assert [a.findtext("iati-identifier") for a in root] == ["XM-COOPTRACK-DEMO-bakad",
                                                              "XM-COOPTRACK-DEMO-car-assembly-plant"]
    bakad = root[0]
    assert [(s.get("code"), s.get("percentage")) for s in bakad.findall("sector")] == [("21020", "100")]
    assert bakad.find("recipient-country").get("code") == "KZ"
    assert bakad.find("activity-status").get("code") == "2"
    assert (bakad.find("activity-date").get("type"), bakad.find("activity-date").get("iso-date")) == (
        "2", "2019-01-01")


def test_a_project_without_reporting_org_is_not_exported(cli, store, tmp_path):
    assert cli("demo").exit_code == 0
    report = export(store, tmp_path / "demo.xml")
    assert [(f.source, f.code, f.severity) for f in report.findings] == [
        ("bakad", "no_reporting_org", "error"), ("car-assembly-plant", "no_reporting_org", "error")]
