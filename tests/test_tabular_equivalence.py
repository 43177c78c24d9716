"""A spreadsheet of some thousands of new projects, imported in bulk, must leave the database
as registering the same projects one by one through ``register_project`` and
``add_status_event`` does: the same projects, sectors, organisations, participants, status
events and audit events (ids and timestamps aside). Then the same file again changes nothing."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from test_tabular import write_csv
from test_tabular_bulk import _state

from cooptrack.formats.tabular import read_sheet
from cooptrack.services.context import Context
from cooptrack.services.datasets import demo_path, load_dataset, read_dataset
from cooptrack.services.projects import (
    CHECKED_FIELDS,
    ParticipantSpec,
    ProjectSpec,
    StatusSpec,
    _children_state,
    add_status_event,
    check_project,
    register_project,
)
from cooptrack.services.tabular import (
    _names,
    _project_query,
    _source_codes,
    import_projects,
    project_cells,
    registered_cells,
)
from cooptrack.services.tabular_store import load_registered
from cooptrack.store import Store
from cooptrack.store.migrate import upgrade
from cooptrack.store.models import AuditEvent, Project

ROWS = 2000
HEADER = ["id", "title", "programme", "industry", "description", "aliases", "host_country", "partner_country",
          "value", "currency", "value_date", "sectors", "participants", "planned_start", "planned_end",
          "actual_start", "iati_identifier", "national_id", "source", "status", "status_date"]
SECTORS = [{"21020": "60", "21030": "40"}, {"12191": "100"}, {"32210": "50", "32220": "50"}, {"99810": "100"}, {}]
COUNTRIES = [("KAZ", "Kazakhstan"), ("KOR", "South Korea"), ("UZB", "Uzbekistan")]
ROLES = ["funding", "accountable", "extending", "implementing", "investor", "contractor"]
STATUSES = ["pipeline", "agreed", "in_execution", "implemented", "", ""]


def _generate(seed: int) -> tuple[list[list[str]], list[tuple[ProjectSpec, str | None, str | None]]]:
    """The same projects twice: as spreadsheet cells (in the syntaxes people type) and as the
    specs a caller of the service would build."""
    rnd = random.Random(seed)
    cells, specs = [HEADER], []
    for i in range(ROWS):
        code, name = rnd.choice(COUNTRIES)
        partner = rnd.choice(COUNTRIES)[0]
        programme = "fresh-wind" if i % 3 else ""
        industry = "Health care" if programme and i % 7 == 0 else ""
        sectors = SECTORS[i % len(SECTORS)]
        start = date(2012, 1, 1) + timedelta(days=rnd.randrange(3500))
        amount = rnd.randrange(1, 10**7) * 1000
        value = "" if i % 5 == 0 else f"{amount:,}" if i % 2 else str(amount)
        currency = rnd.choice(["USD", "kzt", "KRW"]) if value else ""
        people = rnd.sample(range(300), rnd.randrange(0, 3))
        participants = [ParticipantSpec(f"Company {n}" if n else "Korea Eximbank", ROLES[n % len(ROLES)],
                                        "KOR" if n % 2 else None) for n in people]
        status = STATUSES[i % len(STATUSES)]
        effective = f"{start.year}" if i % 2 else start.strftime("%Y-%m")
        aliases = [f"P{i}", f"Project number {i}"] if i % 4 == 0 else []
        iati = f"XM-BENCH-{i}" if i % 6 == 0 else ""
        cells.append([
            f"p-{i:05d}", f"Project {i}", programme, industry, f"About project {i}" if i % 2 else "",
            "; ".join(aliases), name if i % 2 else code, partner, value, currency,
            start.strftime("%d.%m.%Y") if value and i % 3 else start.isoformat() if value else "",
            "; ".join(f"{c}:{p}" for c, p in sectors.items()),
            "; ".join(f"{p.name} ({p.role}, {p.country})" if p.country else f"{p.name} ({p.role})"
                      for p in participants),
            start.isoformat(), (start + timedelta(days=900)).isoformat(), start.isoformat() if i % 8 == 0 else "",
            iati, f"KZ-{i}" if i % 9 == 0 else "", "qazaqtv-40-projects" if i % 10 == 0 else "", status,
            effective if status else ""])
        spec = ProjectSpec(
            code=f"p-{i:05d}", title=f"Project {i}", programme=programme or None, industry=industry or None,
            description=f"About project {i}" if i % 2 else None, aliases=aliases,
            host_country=name if i % 2 else code, partner_country=partner, value=value or None,
            currency=currency or None, value_date=start.isoformat() if value else None, sectors=dict(sectors),
            participants=participants, planned_start=start.isoformat(),
            planned_end=(start + timedelta(days=900)).isoformat(),
            actual_start=start.isoformat() if i % 8 == 0 else None, iati_identifier=iati or None,
            national_id=f"KZ-{i}" if i % 9 == 0 else None, source="qazaqtv-40-projects" if i % 10 == 0 else None)
        specs.append((spec, status or None, effective if status else None))
    return cells, specs


def _demo(store: Store) -> int:
    with store.write() as session:
        load_dataset(Context(session, "tester"), read_dataset(demo_path()), "demo", demo_path().parent)
    with store.read() as session:
        return session.scalar(select(func.max(AuditEvent.id))) or 0


@pytest.fixture(scope="module")
def one_by_one(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The state the bulk import must match: the demo, then the generated projects registered one
    by one, in a SQLite database of their own (the same for both backends' runs of the test, so
    built once)."""
    _, specs = _generate(20240601)
    reference = Store(f"sqlite:///{tmp_path_factory.mktemp('reference') / 'reference.db'}")
    upgrade(reference)
    reference_start = _demo(reference)
    with reference.write() as session:
        ctx = Context(session, "tester")
        for spec, status, effective in specs:
            register_project(ctx, spec)
            if status and effective:
                add_status_event(ctx, StatusSpec(spec.code, status, effective))
    state = _state(reference, reference_start)
    reference.dispose()
    return state


def test_bulk_import_of_thousands_matches_register_project(store, tmp_path, one_by_one):
    cells, specs = _generate(20240601)
    start = _demo(store)
    path = write_csv(tmp_path / "projects.csv", cells)
    with store.write() as session:
        result = import_projects(Context(session, "tester"), read_sheet(path))
    assert result.report.valid, result.report.findings[:5]
    assert result.summary == {"created": ROWS, "updated": 0, "unchanged": 0, "refused": 0}
    bulk = _state(store, start)
    with_status = sum(1 for _, status, _ in specs if status)
    assert len(bulk["projects"]) == ROWS + 2  # and the demo's two
    assert len(bulk["events"]) > with_status and len(bulk["audit"]) == len(one_by_one["audit"])
    assert sum(1 for a in bulk["audit"] if a[0] == "status") == with_status
    for key in ("projects", "sectors", "organisations", "participants", "events", "audit"):
        assert _equal(bulk[key], one_by_one[key]), key

    # The same file again: every row found as registered, nothing written.
    with store.write() as session:
        again = import_projects(Context(session, "tester"), read_sheet(path))
    assert again.report.valid and again.summary == {"created": 0, "updated": 0, "unchanged": ROWS, "refused": 0}
    assert _state(store, start) == bulk


def _equal(a: list[Any], b: list[Any]) -> bool:
    if a == b:
        return True
    first = next((x, y) for x, y in zip(a, b, strict=False) if x != y) if len(a) == len(b) else (len(a), len(b))
    raise AssertionError(f"first difference: {first}")


def test_registered_rows_read_as_export_writes_them(store):
    """The text a column left out of an import keeps (``registered_cells``, from Core queries)
    is what export writes for the project (``project_cells``, from the ORM)."""
    _demo(store)
    with store.read() as session:
        ctx = Context(session, "tester")
        codes = list(session.scalars(select(Project.code)))
        registered = load_registered(ctx, codes)
        names = _names(ctx)
        sources = _source_codes(ctx)
        for project in session.scalars(_project_query()):
            exported = {k: (format(v, "f") if isinstance(v, Decimal) else str(v) if v is not None else None)
                        for k, v in project_cells(project, sources).items()}
            assert registered_cells(registered[project.code], names) == exported
            checked = check_project(ctx, ProjectSpec(project.code, project.title))
            assert tuple(checked.fields) == CHECKED_FIELDS
            assert registered[project.code].children_state() == _children_state(project)
