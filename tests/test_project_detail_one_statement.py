"""project_detail (the API's most frequent read) in one statement, on both databases: every project
of the demo, of the real IATI publisher files and of hand-built projects that exercise every kind
of child record gives exactly what the previous implementation (one statement per child table,
kept below as the oracle) gave, value for value and type for type; and the number of statements
one call runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import BindParameter, bindparam, event, select, text

from cooptrack import codes
from cooptrack.errors import NotFound
from cooptrack.services import audit
from cooptrack.services.browse import IDENTITY, project_detail
from cooptrack.services.context import Context
from cooptrack.services.iati import ImportOptions, import_iati
from cooptrack.services.projects import get_project
from cooptrack.services.rates import RateSpec, add_rate, rate_table
from cooptrack.store import Store
from cooptrack.store.changes import read_tokens
from cooptrack.store.models import (
    Claim,
    FinanceRecord,
    Industry,
    Location,
    Organisation,
    Participant,
    Programme,
    Project,
    ProjectDocument,
    ProjectSector,
    Source,
    StatusEvent,
)
from cooptrack.web.api import JSON

REAL = "iati/activities/real-publishers-2.03-via-dportal"
REAL_FILES = ["covid-dportal.xml", "dportal_28-koica.xml", "dportal_33-nl-ngos.xml", "dportal_84-ec-intpa.xml",
              "foodsecurity-dportal.xml"]


# -- the previous implementation, kept as the oracle ---------------------------------------------
# Copied verbatim from cooptrack/services/browse.py before project_detail read everything in one
# statement (one plain query per kind of child record, and one for the sources they reference).

def _core(ctx: Context) -> Any:
    ctx.session.flush()
    return ctx.session.connection()


_REF_SOURCE_REF = (Source.id, Source.code, Source.title, Source.publisher, Source.published, Source.url, Source.kind)


def _reference_source_refs(ctx: Context, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    return {sid: {"id": scode or str(sid), "title": title, "publisher": publisher, "published": published,
                  "url": url, "kind": kind}
            for sid, scode, title, publisher, published, url, kind
            in _core(ctx).execute(select(*_REF_SOURCE_REF).where(Source.id.in_(sorted(ids))))}


_PID: BindParameter[int] = bindparam("pid")
_REF_PROJECT_ROW = (
    select(Project.id, Project.title, Project.description, Project.aliases, Programme.code, Programme.name,
           Industry.name, Project.host_country, Project.partner_country, Project.value_amount,
           Project.value_currency, Project.value_date, Project.value_source_id, Project.value_claim_id,
           Project.planned_start, Project.planned_end, Project.actual_start, Project.actual_end,
           Project.iati_identifier, Project.status, Project.source_id, Project.version, Project.national_id)
    .outerjoin(Programme, Programme.id == Project.programme_id)
    .outerjoin(Industry, Industry.id == Project.industry_id)
    .where(Project.code == bindparam("code")))
_REF_SECTORS = (select(ProjectSector.dac_code, ProjectSector.percent).where(ProjectSector.project_id == _PID)
                .order_by(ProjectSector.dac_code))
_REF_PARTICIPANTS = (select(Organisation.name, Participant.role, Organisation.country)
                     .join(Organisation, Organisation.id == Participant.organisation_id)
                     .where(Participant.project_id == _PID).order_by(Participant.id))
_REF_LOCATIONS = select(Location.name, Location.country).where(Location.project_id == _PID).order_by(Location.id)
_REF_EVENTS = (select(StatusEvent.status, StatusEvent.effective, StatusEvent.recorded_at, StatusEvent.source_id,
                      StatusEvent.claim_id, StatusEvent.note, StatusEvent.reopen, StatusEvent.backdated)
               .where(StatusEvent.project_id == _PID).order_by(StatusEvent.effective_start, StatusEvent.id))
_REF_FINANCE = (select(FinanceRecord.kind, FinanceRecord.type, FinanceRecord.transaction_date,
                       FinanceRecord.period_start, FinanceRecord.amount, FinanceRecord.currency,
                       FinanceRecord.description)
                .where(FinanceRecord.project_id == _PID).order_by(FinanceRecord.id))
_REF_DOCUMENTS = (select(ProjectDocument.source_id, ProjectDocument.category)
                  .where(ProjectDocument.project_id == _PID).order_by(ProjectDocument.position))
_REF_CLAIMS = (select(Claim.id, Claim.kind, Claim.quote, Claim.span_start, Claim.span_end, Claim.source_id,
                      Programme.code.label("programme"), Claim.subject, Claim.status, Claim.period, Claim.amount,
                      Claim.currency, Claim.count, Claim.unit, Claim.value, Claim.approximate, Claim.lower_bound,
                      Claim.links, Claim.method, Claim.review, Claim.reviewed_by, Claim.reason, Claim.fact_entity,
                      Claim.fact_id, Claim.extracted, Claim.version)
               .outerjoin(Programme, Programme.id == Claim.programme_id)
               .where(Claim.project_id == _PID).order_by(Claim.id))


def _reference_project_detail(ctx: Context, code: str) -> dict[str, Any]:
    """The previous project_detail, unchanged (the oracle)."""
    conn = _core(ctx)
    row = conn.execute(_REF_PROJECT_ROW, {"code": code}).first()
    if row is None:
        get_project(ctx, code)  # its not-found message
    assert row is not None
    (pid, title, description, aliases, programme_code, programme_name, industry, host, partner, amount, currency,
     value_date, value_source_id, value_claim_id, planned_start, planned_end, actual_start, actual_end, iati_id,
     status, source_id, version, national_id) = row
    conversion = (rate_table(ctx).stored_to_usd(amount, currency, value_date)
                  if amount is not None and currency else None)
    rate = conversion[1] if conversion else None
    given = {"pid": pid}
    sectors = conn.execute(_REF_SECTORS, given).all()
    participants = conn.execute(_REF_PARTICIPANTS, given).all()
    locations = conn.execute(_REF_LOCATIONS, given).all()
    events = conn.execute(_REF_EVENTS, given).all()
    finance = conn.execute(_REF_FINANCE, given).all()
    documents = conn.execute(_REF_DOCUMENTS, given).all()
    claims = conn.execute(_REF_CLAIMS, given).all()
    refs = _reference_source_refs(ctx, {i for i in (value_source_id, source_id) if i is not None}
                                  | {e.source_id for e in events if e.source_id is not None}
                                  | {d.source_id for d in documents})
    return {
        "code": code, "title": title, "description": description, "aliases": aliases,
        "programme": programme_code, "programme_name": programme_name, "industry": industry,
        "host_country": host, "partner_country": partner,
        "value": ({"amount": amount, "currency": currency, "value_date": value_date,
                   "source": refs.get(value_source_id) if value_source_id else None, "claim": value_claim_id}
                  if amount is not None else None),
        "usd": ({"amount": conversion[0], "rate": rate.per_usd if rate else IDENTITY,
                 "rate_period": rate.period.code if rate else "", "rate_source": rate.source if rate else "identity"}
                if conversion else None),
        "sectors": [{"code": dac, "percent": percent,
                     "name": (found.name if (found := codes.sector(dac)) else None)} for dac, percent in sectors],
        "participants": [{"name": name, "role": role, "country": country} for name, role, country in participants],
        "locations": [{"name": name, "country": country} for name, country in locations],
        "planned": {"start": planned_start, "end": planned_end},
        "actual": {"start": actual_start, "end": actual_end},
        "iati_identifier": iati_id,
        "national_id": national_id,  # added to both 2026-11-28: the edit form showed it blank
        "status": status,
        "history": [{"status": e.status, "effective": e.effective, "recorded_at": e.recorded_at,
                     "source": refs[e.source_id]["id"] if e.source_id is not None else None,
                     "source_title": refs[e.source_id]["title"] if e.source_id is not None else None,
                     "claim": e.claim_id, "note": e.note, "reopen": e.reopen, "backdated": e.backdated}
                    for e in events],
        "finance": [{"kind": f.kind, "type": f.type, "date": f.transaction_date or f.period_start,
                     "amount": f.amount, "currency": f.currency, "description": f.description} for f in finance],
        "documents": [{"source": refs[d.source_id], "category": d.category} for d in documents],
        "source": refs.get(source_id) if source_id else None,
        "claims": [{
            "id": c.id, "kind": c.kind, "quote": c.quote, "start": c.span_start, "end": c.span_end,
            "source": c.source_id, "programme": c.programme, "project": code, "subject": c.subject,
            "status": c.status, "period": c.period, "amount": c.amount, "currency": c.currency, "count": c.count,
            "unit": c.unit, "value": c.value, "approximate": c.approximate, "lower_bound": c.lower_bound,
            "links": c.links, "method": c.method, "review": c.review, "reviewed_by": c.reviewed_by,
            "reason": c.reason, "fact": {"entity": c.fact_entity, "id": c.fact_id} if c.fact_entity else None,
            "extracted": c.extracted, "version": c.version} for c in claims],  # as claim_view shows them
        "version": version,
    }


# -- the data ---------------------------------------------------------------------------------------

FULL = "every-child"
EMPTY = "no-children"


def _hand_built(ctx: Context) -> None:
    """A project with every kind of child record and awkward values, projects with none, and
    values written as text the way another writer could have left them."""
    s = ctx.session
    add_rate(ctx, RateSpec("EUR", "2021", "0.845000", "ECB, test"))
    add_rate(ctx, RateSpec("GBP", "2020-03", "0.771234", "BoE, test"))
    coded = Source(code="src-coded", title="Coded source «ü»", publisher="Ministry", published="2021-03",
                   url="https://example.org/a?b=1&c=\"2\"", kind="official")
    bare = Source(title="A source without a code\nand a second line", publisher=None, published=None, url=None,
                  kind=None)
    doc_a = Source(code="doc-a", title="Document A", url="https://example.org/a.pdf", kind="document")
    doc_b = Source(title="Document B \\ back\tslash", url="https://example.org/b.pdf", kind="document",
                   published="2020")
    programme = Programme(code="hand-prog", name="Hand-built programme", aliases=["HB", "Ручной"])
    industry = Industry(programme=programme, name="Energy ⚡", position=0)
    org_a = Organisation(name="Org with country", country="KAZ")
    org_b = Organisation(name="Org without country «x»", country=None)
    s.add_all([coded, bare, doc_a, doc_b, programme, industry, org_a, org_b])
    s.flush()

    full = Project(code=FULL, title='Every child: "quotes", \\ and ünïcödé', description="Line 1\nLine 2\t\u2028 end",
                   aliases=["alias one", "Алиас", {"nested": [1, 2.5, None, True]}], programme=programme,
                   industry=industry, host_country="KAZ", partner_country="KOR",
                   value_amount=Decimal("1234567.891200"), value_currency="EUR", value_date=date(2021, 6, 30),
                   value_source_id=coded.id, planned_start=date(2020, 1, 1), planned_end=date(2024, 12, 31),
                   actual_start=date(2020, 2, 29), actual_end=None, iati_identifier="XM-HAND-1", status="in_execution",
                   source_id=bare.id, national_id="KZ-PPP-2021/07")
    empty = Project(code=EMPTY, title="Nothing attached")
    usd = Project(code="value-in-usd", title="USD value", value_amount=Decimal("0.000001"), value_currency="USD",
                  value_date=None, source_id=coded.id)
    no_currency = Project(code="value-without-currency", title="No currency", value_amount=Decimal("-42.5"),
                          value_currency=None)
    unrated = Project(code="value-without-rate", title="No rate", value_amount=Decimal("100"),
                      value_currency="XOF", value_date=date(2010, 1, 1), value_source_id=bare.id)
    gbp = Project(code="value-gbp-month", title="GBP", value_amount=Decimal("999999999999999999999.5"),
                  value_currency="GBP", value_date=date(2020, 3, 15))
    s.add_all([full, empty, usd, no_currency, unrated, gbp])
    s.flush()

    s.add_all([ProjectSector(project_id=full.id, dac_code=dac, percent=Decimal(p))
               for dac, p in (("23210", "33.33"), ("21020", "33.34"), ("12191", "33.330"), ("99999", "0.000001"))])
    s.add_all([ProjectSector(project_id=gbp.id, dac_code="21020", percent=Decimal("100.000000"))])
    s.add_all([Participant(project_id=full.id, organisation_id=org_b.id, role="funding"),
               Participant(project_id=full.id, organisation_id=org_a.id, role="extending"),
               Participant(project_id=full.id, organisation_id=org_a.id, role="implementing")])
    s.add_all([Location(project_id=full.id, name="Zhambyl", country="KAZ"),
               Location(project_id=full.id, name="Somewhere «unknown»", country=None, latitude=Decimal("1.5")),
               Location(project_id=full.id, name="Almaty", country="KAZ")])
    s.flush()
    claim_a = Claim(source_id=coded.id, programme_id=programme.id, project_id=full.id, kind="money", span_start=0,
                    span_end=12, quote="US$1.2 billion «quoted»", subject="project_value", status=None,
                    period="2021", amount=Decimal("1200000000.000000"), currency="USD", count=None, unit=None,
                    value=None, approximate=True, lower_bound=False, data={"x": 1},
                    extracted={"amount": "1.2", "float": 1.25, "big": 12345678901234567890, "nested": {"a": [None]},
                               "text": "ü\n\""},
                    links=[], method="rules:v1", review="accepted", reviewed_by="reviewer", reason=None,
                    fact_entity="project_value", fact_id="every-child")
    claim_b = Claim(source_id=bare.id, programme_id=None, project_id=full.id, kind="count", span_start=5,
                    span_end=9, quote="19 projects", subject=None, status="completed", period="2020-H1",
                    amount=None, currency=None, count=19, unit="project", value=Decimal("19.50"),
                    approximate=False, lower_bound=True, data={}, extracted={}, links=[], method="manual",
                    review="pending", reviewed_by=None, reason="because\n", fact_entity=None, fact_id=None)
    s.add_all([claim_a, claim_b])
    s.flush()
    claim_b.links = [claim_a.id, 7]
    full.value_claim_id = claim_a.id
    berlin = timezone(timedelta(hours=2))
    s.add_all([
        StatusEvent(project_id=full.id, status="in_execution", effective="2021-03", effective_start=date(2021, 3, 1),
                    recorded_at=datetime(2021, 4, 1, 10, 0, 0, tzinfo=UTC), source_id=coded.id,
                    claim_id=claim_a.id, note="from the ministry", reopen=False, backdated=True, actor="tester"),
        StatusEvent(project_id=full.id, status="agreed", effective="2020", effective_start=date(2020, 1, 1),
                    recorded_at=datetime(2020, 12, 31, 23, 59, 59, 999999, tzinfo=berlin), source_id=None,
                    claim_id=None, note=None, reopen=False, backdated=False, actor="tester"),
        StatusEvent(project_id=full.id, status="suspended", effective="2021-03-15",
                    recorded_at=datetime(2021, 3, 16, 0, 0, 0, 1, tzinfo=UTC),
                    effective_start=date(2021, 3, 15), source_id=bare.id, claim_id=None, note="Ü «note»\n2",
                    reopen=True, backdated=False, actor=None),
        StatusEvent(project_id=full.id, status="in_execution", effective="2021-03", effective_start=date(2021, 3, 1),
                    recorded_at=datetime(2021, 4, 2, tzinfo=UTC), source_id=bare.id, claim_id=None, note="",
                    reopen=True, backdated=True, actor=None),
        StatusEvent(project_id=gbp.id, status="planned", effective="2019", effective_start=date(2019, 1, 1),
                    recorded_at=datetime(2019, 1, 1, tzinfo=UTC), source_id=None),
    ])
    s.add_all([
        FinanceRecord(project_id=full.id, kind="transaction", type="2", transaction_date=date(2021, 5, 5),
                      period_start=date(2021, 1, 1), amount=Decimal("1.500000"), currency="EUR",
                      description="with both"),
        FinanceRecord(project_id=full.id, kind="budget", type="1", status="1", transaction_date=None,
                      period_start=date(2022, 1, 1), period_end=date(2022, 12, 31), amount=Decimal("-2500.000001"),
                      currency="USD", description=None),
        FinanceRecord(project_id=full.id, kind="planned_disbursement", type=None, transaction_date=None,
                      period_start=None, amount=Decimal("0"), currency="KZT", description="no date"),
        FinanceRecord(project_id=full.id, kind="transaction", type="3", transaction_date=date(1999, 12, 31),
                      amount=Decimal("1234567890123456789012.123456"), currency="USD",
                      description="ünïcödé «»"),
        FinanceRecord(project_id=full.id, kind="transaction", type="4", transaction_date=date(2021, 1, 2),
                      amount=Decimal("1E+3"), currency="USD", description="exponent"),
        FinanceRecord(project_id=full.id, kind="transaction", type="4", transaction_date=date(2021, 1, 3),
                      amount=Decimal("0.1234567"), currency="USD", description="more decimals than NUMERIC keeps"),
    ])
    s.add_all([ProjectDocument(project_id=full.id, source_id=doc_b.id, category=None, position=1),
               ProjectDocument(project_id=full.id, source_id=doc_a.id, category="A01", position=0),
               ProjectDocument(project_id=full.id, source_id=coded.id, category="B02", position=2)])
    s.flush()
    # Values as another writer could leave them (SQLite keeps text as given; PostgreSQL converts it).
    for statement in (
            "UPDATE project_finance SET amount = '1.50' WHERE description = 'with both'",
            "UPDATE project_finance SET amount = '-0.0' WHERE description = 'no date'",
            "UPDATE project_finance SET amount = '1e3' WHERE description = 'exponent'",
            "UPDATE project_sectors SET percent = '33.330' WHERE dac_code = '12191'",
            "UPDATE status_events SET recorded_at = '2021-04-02 00:00:00' WHERE note = ''",
    ):
        s.execute(text(statement))


@pytest.fixture
def parity_db(demo_db: Store, write: Any, prepare: Any, shared_data: Any) -> Store:
    """The demo, the real IATI publisher files (the activities that import) and the hand-built projects."""

    def build() -> None:
        with write() as ctx:
            import_iati(ctx, [shared_data / REAL / name for name in REAL_FILES], ImportOptions(skip_invalid=True))
        with write() as ctx:
            _hand_built(ctx)

    prepare("demo, real IATI files and hand-built projects (project_detail parity)", build)
    return demo_db


def _types(value: Any) -> Any:
    """The value's shape with every leaf's exact type."""
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value), (value.tzinfo if isinstance(value, datetime) else None)


def _same(ctx: Context, code: str) -> dict[str, Any]:
    old = _reference_project_detail(ctx, code)
    new = project_detail(ctx, code)
    assert new == old, code
    assert repr(new) == repr(old), code
    assert _types(new) == _types(old), code
    assert list(new) == list(old), code
    assert JSON(new).body == JSON(old).body, code
    assert audit.jsonable(new) == audit.jsonable(old), code
    return new


def _codes(ctx: Context) -> list[str]:
    return list(ctx.session.scalars(select(Project.code).order_by(Project.code)))


def _compare_all(ctx: Context) -> str:
    """Every project read both ways: what was compared."""
    found = _codes(ctx)
    assert len(found) > 500  # the demo's, the publishers' and the hand-built ones
    seen: dict[str, int] = dict.fromkeys(
        ("sectors", "participants", "locations", "history", "finance", "documents", "claims"), 0)
    for code in found:
        detail = _same(ctx, code)
        for key in seen:
            seen[key] += len(detail[key])
    assert all(seen.values()), seen
    return f"{len(found)} projects compared, holding {seen}"


def test_every_project_as_before(parity_db: Store, read: Any) -> None:
    """Also under other time zones of a PostgreSQL session (the server's configuration's or a
    connection's own): timestamps are rendered in UTC whatever the zone."""
    zones = ["Asia/Kathmandu", "America/St_Johns"] if parity_db.dialect == "postgresql" else []
    for zone in zones:
        with read() as ctx:
            ctx.session.execute(text(f"SET LOCAL TIME ZONE '{zone}'"))
            compared = _compare_all(ctx)
            print(f"\n{parity_db.dialect} {zone}: {compared}")
    with read() as ctx:
        print(f"\n{parity_db.dialect}: {_compare_all(ctx)}")
        full = _same(ctx, FULL)
        empty = _same(ctx, EMPTY)
    # the hand-built projects exercise what they are meant to
    assert [(s["code"], s["percent"], s["name"] is None) for s in full["sectors"]] == [
        ("12191", Decimal("33.33"), False), ("21020", Decimal("33.34"), False), ("23210", Decimal("33.33"), False),
        ("99999", Decimal("0.000001"), True)]
    assert [p["country"] for p in full["participants"]] == [None, "KAZ", "KAZ"]
    assert [f["date"] for f in full["finance"]][:3] == [date(2021, 5, 5), date(2022, 1, 1), None]
    assert [d["category"] for d in full["documents"]] == ["A01", None, "B02"]
    assert [(e["reopen"], e["backdated"], e["source"] is not None) for e in full["history"]] == [
        (False, False, False), (False, True, True), (True, True, True), (True, False, True)]
    assert all(e["recorded_at"].tzinfo is UTC for e in full["history"])
    assert full["usd"] is not None and full["value"]["source"]["id"] == "src-coded"
    assert full["source"]["id"].isdigit() and len(full["claims"]) == 2
    assert (empty["sectors"], empty["participants"], empty["locations"], empty["history"], empty["finance"],
            empty["documents"], empty["claims"], empty["value"], empty["usd"], empty["source"]) == (
        [], [], [], [], [], [], [], None, None, None)


def test_pending_changes_are_seen_in_a_write_transaction(parity_db: Store, write: Any) -> None:
    """After an edit in the same transaction (the API answers a PATCH with the detail)."""
    with write() as ctx:
        project = get_project(ctx, FULL)
        project.title = "Changed, not flushed"
        ctx.session.add(ProjectSector(project_id=project.id, dac_code="11110", percent=Decimal("12.5")))
        detail = _same(ctx, FULL)
        assert detail["title"] == "Changed, not flushed"
        assert "11110" in [s["code"] for s in detail["sectors"]]


def test_not_found_keeps_its_message(parity_db: Store, read: Any) -> None:
    with read() as ctx:
        with pytest.raises(NotFound) as old:
            _reference_project_detail(ctx, "no-such-project")
        with pytest.raises(NotFound) as new:
            project_detail(ctx, "no-such-project")
    assert new.value.message == old.value.message


class _Statements:
    def __init__(self, store: Store) -> None:
        self.store, self.seen = store, []

    def _note(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        self.seen.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.store.engine, "before_cursor_execute", self._note)
        return self.seen

    def __exit__(self, *_exc: Any) -> None:
        event.remove(self.store.engine, "before_cursor_execute", self._note)


def test_one_statement_per_call(parity_db: Store, read: Any) -> None:
    """One statement, whatever the project holds, when the rates' change token is at hand (as in
    the web's requests); without it the rate table's own check adds one for a project with a value."""
    with read() as ctx:
        tokens = read_tokens(ctx.session.connection())
        ctx.tokens = lambda: tokens
        rate_table(ctx)  # the table built once for these tokens
        for code in (FULL, EMPTY, "value-in-usd", "value-gbp-month", "bakad", *_codes(ctx)[:40]):
            with _Statements(parity_db) as seen:
                project_detail(ctx, code)
            assert len(seen) == 1, (code, seen)
    with read() as ctx:  # no tokens: the rate table's key is read (as it was before)
        rate_table(ctx)  # the transaction begun (SQLite: its BEGIN is not project_detail's) and the table built
        for code, expected in ((EMPTY, 1), (FULL, 2)):
            with _Statements(parity_db) as seen:
                project_detail(ctx, code)
            assert len(seen) == expected, (code, seen)
        with _Statements(parity_db) as seen, pytest.raises(NotFound):
            project_detail(ctx, "no-such-project")
        assert len(seen) == 2, seen  # and get_project's, for its message
