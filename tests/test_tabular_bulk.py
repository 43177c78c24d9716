"""New projects from a spreadsheet are inserted in bulk; the result must be what creating
them one by one through ``upsert_project`` and ``add_status_event`` gives: the same rows and
the same audit events, ids and timestamps aside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from test_tabular import write_csv

from cooptrack.formats.tabular import read_sheet
from cooptrack.services.context import Context
from cooptrack.services.datasets import demo_path, load_dataset, read_dataset
from cooptrack.services.tabular import import_projects
from cooptrack.store import Store
from cooptrack.store.migrate import upgrade
from cooptrack.store.models import AuditEvent, Organisation, Participant, Project, ProjectSector, StatusEvent

HEADER = ["id", "title", "programme", "industry", "aliases", "host_country", "partner_country", "value", "currency",
          "value_date", "sectors", "participants", "planned_start", "iati_identifier", "source", "status",
          "status_date"]
FIRST = [HEADER, ["seed", "Seed", "", "", "", "KAZ", "KOR", "", "", "", "", "Korea Eximbank (funding, KOR)", "", "",
                  "", "", ""]]
MAIN = [HEADER,
        ["n1", "One", "fresh-wind", "", "A; B", "Kazakhstan", "South Korea", "1,250,000", "usd", "22.04.2019",
         "21020:60; 21030:40", "Korea Eximbank (funding, KOR); Samruk-Kazyna (investor, KAZ)", "2019-05-01",
         "XM-1", "qazaqtv-40-projects", "agreed", "2019-04"],
        ["n2", "Two", "fresh-wind", "Health care", "", "KAZ", "KOR", "", "", "", "12191", "Samruk-Kazyna (investor)",
         "", "", "", "", ""],
        ["n3", "Three", "", "", "", "", "", "10", "KZT", "", "", "", "", "", "", "implemented", "2021"],
        ["bakad", "BAKAD renamed", "fresh-wind", "", "", "KAZ", "KOR", "", "", "", "21020:100", "", "", "", "", "",
         ""]]
SKIP = {"id", "created_at", "updated_at", "recorded_at", "at", "project_id", "organisation_id"}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in SKIP}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _state(store: Store, audit_from: int) -> dict[str, Any]:
    with store.read() as s:
        code = dict(s.execute(select(Project.id, Project.code)).all())
        org = dict(s.execute(select(Organisation.id, Organisation.name)).all())

        def rows(model: Any, *keys: str) -> list[Any]:
            out = []
            for obj in s.scalars(select(model)):
                data = {c.key: getattr(obj, c.key) for c in model.__table__.columns if c.key not in SKIP}
                for k in keys:
                    data[k] = (code if k == "project_id" else org)[getattr(obj, k)]
                out.append(data)
            return sorted(out, key=repr)

        audit = sorted((e.action, e.entity, e.entity_id, repr(_strip(e.before)), repr(_strip(e.after)))
                        for e in s.scalars(select(AuditEvent).where(AuditEvent.id > audit_from)))
        return {"projects": rows(Project), "sectors": rows(ProjectSector, "project_id"),
                "participants": rows(Participant, "project_id", "organisation_id"),
                "organisations": rows(Organisation), "events": rows(StatusEvent, "project_id"), "audit": audit}


def _import(store: Store, path: Path, bulk: bool) -> dict[str, int]:
    with store.write() as session:
        result = import_projects(Context(session, "tester"), read_sheet(path), bulk=bulk)
    assert result.report.valid, result.report.as_dict()
    return result.summary


def test_bulk_insert_matches_one_by_one(store, tmp_path):
    reference = Store(f"sqlite:///{tmp_path / 'reference.db'}")
    upgrade(reference)
    first, main = write_csv(tmp_path / "first.csv", FIRST), write_csv(tmp_path / "main.csv", MAIN)
    for target in (store, reference):
        with target.write() as session:
            load_dataset(Context(session, "tester"), read_dataset(demo_path()), "demo", demo_path().parent)
    start = {}
    for target in (store, reference):
        with target.read() as session:
            start[target] = session.scalar(select(func.max(AuditEvent.id)))
    for path in (first, main):
        assert _import(store, path, bulk=True) == _import(reference, path, bulk=False)
    bulk, one_by_one = _state(store, start[store]), _state(reference, start[reference])
    assert len(bulk["projects"]) == 6 and len(bulk["organisations"]) == 2 and len(bulk["audit"]) == 9
    for key in bulk:
        assert bulk[key] == one_by_one[key], key
    reference.dispose()

