"""Read-side views: what the CLI, the JSON API, the web pages and the reports show of
projects, sources, claims, observations and programmes, built once here."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BindParameter,
    Boolean,
    Connection,
    Date,
    Integer,
    Numeric,
    String,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    join,
    literal_column,
    or_,
    outerjoin,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.types import TypeEngine

from cooptrack import codes
from cooptrack.domain.countries import country_name, resolve_country
from cooptrack.domain.money import RateTable, check_amount
from cooptrack.domain.status import Status
from cooptrack.errors import InvalidInput, NotFound
from cooptrack.findings import Finding
from cooptrack.services.claims import get_claim, linked
from cooptrack.services.conflicts import DEFAULT_TOLERANCE, find_conflicts
from cooptrack.services.context import Context
from cooptrack.services.observations import get_indicator, known_by
from cooptrack.services.overview import UNRECORDED
from cooptrack.services.programmes import get_programme
from cooptrack.services.projects import get_project
from cooptrack.services.rates import rate_table
from cooptrack.services.sources import get_source
from cooptrack.store.models import (
    Claim,
    FinanceRecord,
    Indicator,
    Industry,
    Location,
    Observation,
    Organisation,
    Participant,
    Programme,
    Project,
    ProjectDocument,
    ProjectSector,
    Source,
    StatusEvent,
)
from cooptrack.store.types import Amount, UTCDateTime

MAX_PAGE_SIZE = 500
SORTS = ("code", "title", "status", "status_date", "value", "programme")


def bad_parameter(name: str, value: object, message: str) -> InvalidInput:
    return InvalidInput(message, [Finding("bad_parameter", message, field=name, value=str(value))])


def source_ref(source: Source | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {"id": source.code or str(source.id), "title": source.title, "publisher": source.publisher,
            "published": source.published, "url": source.url, "kind": source.kind}


# -- projects -------------------------------------------------------------------------------------


@dataclass
class ProjectQuery:
    """Filters, sort and page of the project list. Text values come as typed by a user; they are
    checked here, each bad one named by its parameter."""

    programme: str | None = None
    status: list[str] = field(default_factory=list)
    sector: str | None = None  # DAC 5-digit code or 3-digit category
    country: str | None = None  # host or partner country, any name or code
    value_min: str | None = None  # USD
    value_max: str | None = None
    text: str | None = None
    sort: str = "code"
    descending: bool = False
    page: int = 1
    page_size: int = 50


@dataclass
class ProjectPage:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    query: ProjectQuery

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "page": self.page, "page_size": self.page_size,
                "pages": self.pages}


def _status_values(values: list[str]) -> list[str]:
    result = []
    for v in values:
        for part in v.split(","):
            if not part.strip():
                continue
            if part.strip() == UNRECORDED:
                result.append(UNRECORDED)
                continue
            try:
                result.append(Status.parse(part).value)
            except InvalidInput:
                allowed = ", ".join([*(s.value for s in Status), UNRECORDED])
                raise bad_parameter("status", part, f"status '{part}' is not a status; use one of {allowed}") from None
    return result


def _usd_bound(value: str | None, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return check_amount(value, name)
    except InvalidInput:
        raise bad_parameter(name, value, f"{name} '{value}' is not an amount in USD; write e.g. 1000000") from None


IDENTITY = Decimal(1)  # US dollars per US dollar, as RateTable.to_usd gives them




def _core(ctx: Context) -> Connection:
    """The transaction's connection, for reads of plain columns without the ORM's work per
    statement and row (pending ORM changes flushed first, as Session.execute would)."""
    ctx.session.flush()
    return ctx.session.connection()


def search_projects(ctx: Context, q: ProjectQuery) -> ProjectPage:
    if q.page < 1:
        raise bad_parameter("page", q.page, f"page {q.page} is not a page number; pages count from 1")
    if not 1 <= q.page_size <= MAX_PAGE_SIZE:
        raise bad_parameter("page_size", q.page_size, f"page_size {q.page_size} must be between 1 and {MAX_PAGE_SIZE}")
    if q.sort not in SORTS:
        raise bad_parameter("sort", q.sort, f"sort '{q.sort}' is not a sort key; use one of {', '.join(SORTS)}")
    statuses = _status_values(q.status)
    low, high = _usd_bound(q.value_min, "value_min"), _usd_bound(q.value_max, "value_max")

    # The filters as bound parameters of a statement built once per combination of them (building
    # a statement costs more than running it here), and their values for this request.
    params: dict[str, Any] = {}
    named = [s for s in statuses if s != UNRECORDED]
    if q.programme:
        params["programme"] = q.programme
    if named:
        params["statuses"] = named
    sector_kind = 0
    if q.sector:
        sector = q.sector.strip()
        if not (sector.isdigit() and len(sector) in (3, 5)) or (
                codes.sector(sector) is None and codes.sector_category(sector) is None):
            raise bad_parameter("sector", q.sector, f"sector '{q.sector}' is not a DAC 5-digit sector or 3-digit "
                                "category; `cooptrack codes sectors` lists them")
        sector_kind = len(sector)
        params["sector"] = sector if sector_kind == 5 else f"{sector}%"
    if q.country:
        try:
            params["country"] = resolve_country(q.country, "country")
        except InvalidInput:
            raise bad_parameter("country", q.country, f"country '{q.country}' is not a country name or ISO code") \
                from None
    if q.text and q.text.strip():
        params["needle"] = f"%{q.text.strip()}%"
    shape = _Shape(bool(q.programme), bool(named), UNRECORDED in statuses, sector_kind, bool(q.country),
                   "needle" in params)

    rates = rate_table(ctx)
    conn = _core(ctx)
    if low is not None or high is not None or q.sort == "value":
        # USD needs the rate table: filter (and sort by value) in Python over the matching rows, cheap
        # columns only, read in the order asked for.
        keyed = []
        text_amounts = conn.dialect.name != "postgresql"
        matching = _matching(shape, conn.dialect.name, q.sort, q.descending)
        for pid, code, amount, currency, value_date in conn.execute(matching, params).all():
            if text_amounts and amount is not None:
                amount = Decimal(amount)
            usd = _usd(rates, amount, currency, value_date)
            if (low is not None or high is not None) and usd is None:
                continue
            if low is not None and usd is not None and usd < low:
                continue
            if high is not None and usd is not None and usd > high:
                continue
            keyed.append((usd, code, pid))
        if q.sort == "value":
            keyed.sort(key=lambda k: (k[0] is None, k[0] if k[0] is not None else 0, k[1]),
                       reverse=q.descending)
            if q.descending:  # projects without a value still last
                keyed = [k for k in keyed if k[0] is not None] + [k for k in keyed if k[0] is None]
        total = len(keyed)
        if q.programme and not total:
            get_programme(ctx, q.programme)  # its not-found message
        ids = [k[2] for k in keyed[(q.page - 1) * q.page_size: q.page * q.page_size]]
        projects = _load(ctx, ids)
        return ProjectPage([project_row(p, dacs, rates) for p, dacs in projects], total, q.page, q.page_size, q)
    # Two statements: the count of every match (from an index, where one serves), then the
    # page's rows with their sectors (a count in the page's statement would make the database
    # build every matching row).
    total = conn.scalar(_count(shape, conn.dialect.name), params) or 0
    if q.programme and not total:
        get_programme(ctx, q.programme)  # its not-found message
    offset = (q.page - 1) * q.page_size
    rows = conn.execute(_page(shape, q.sort, q.descending, conn.dialect.name),
                        {**params, "offset": offset, "limit": q.page_size}).all() if offset < total else []
    return ProjectPage([project_row(r, sorted(r[13].split(",")) if r[13] else [], rates) for r in rows],
                       total, q.page, q.page_size, q)


@dataclass(frozen=True)
class _Shape:
    """Which filters a project list request has (their values are bound parameters)."""

    programme: bool
    statuses: bool
    unrecorded: bool
    sector: int  # 0, or 5 (a sector) or 3 (a category)
    country: bool
    text: bool

    def conditions(self, dialect: str = "") -> list[Any]:
        found: list[Any] = []
        if self.programme:
            found.append(Project.programme_id == select(Programme.id)
                         .where(Programme.code == bindparam("programme")).scalar_subquery())
        if self.statuses or self.unrecorded:
            either = [Project.status.in_(bindparam("statuses", expanding=True))] if self.statuses else []
            if self.unrecorded:
                either.append(Project.status.is_(None))
            found.append(or_(*either))
        if self.sector:
            if self.scattered(dialect):
                # The sector's project ids from its index, then each project by its key: PostgreSQL
                # would otherwise walk the projects in code order testing each (a sector's projects
                # often sit together, far down that order) or read the whole table for a hash join.
                found.append(Project.id == any_(func.array(
                    select(ProjectSector.project_id).where(self._sector_match()).scalar_subquery())))
            else:
                found.append(exists().where(ProjectSector.project_id == Project.id, self._sector_match()))
        if self.country:
            found.append(or_(Project.host_country == bindparam("country"),
                             Project.partner_country == bindparam("country")))
        if self.text:
            needle: BindParameter[str] = bindparam("needle")
            found.append(or_(Project.code.ilike(needle), Project.title.ilike(needle),
                             Project.description.ilike(needle)))
        return found

    def _sector_match(self) -> Any:
        return (ProjectSector.dac_code == bindparam("sector") if self.sector == 5
                else ProjectSector.dac_code.like(bindparam("sector")))

    def scattered(self, dialect: str) -> bool:
        """Whether the matches are found through a sector's or a country's index, not through a
        programme's: on PostgreSQL, such a list is read whole and sorted (see _page)."""
        return dialect == "postgresql" and not self.programme and bool(self.sector or self.country)

    def sector_only(self) -> bool:
        return bool(self.sector) and not (self.programme or self.statuses or self.unrecorded or self.country
                                          or self.text)


_STATEMENTS: dict[tuple[Any, ...], Any] = {}
_SORT_COLUMNS = {"code": (Project.code,), "title": (Project.title, Project.code),
                 "status": (Project.status, Project.code), "status_date": (Project.status_start, Project.code),
                 "programme": (Programme.code, Project.code)}


def _built(key: tuple[Any, ...], build: Any) -> Any:
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = build()
    return found


def _matching(shape: _Shape, dialect: str, sort: str, descending: bool) -> Any:
    """The cheap columns of every matching project (for the lists sorted or filtered by USD), in
    the order asked for unless that is by value (sorted by the caller). The amounts are read for
    arithmetic alone: as the driver gives them (PostgreSQL's Decimals; the text SQLite keeps, made
    Decimals by the caller), without Amount's normalising of each one, which would not change a
    value."""
    def build() -> Any:
        raw: TypeEngine[Any] = Numeric(38, 6, asdecimal=True) if dialect == "postgresql" else String()
        found = select(Project.id, Project.code, type_coerce(Project.value_amount, raw), Project.value_currency,
                       Project.value_date).where(and_(True, *shape.conditions(dialect)))
        if sort == "value":
            return found
        if sort == "programme":
            found = found.outerjoin(Programme, Programme.id == Project.programme_id)
        return found.order_by(*_order(shape, sort, descending, dialect))
    return _built(("matching", shape, dialect, sort, descending), build)


def _count(shape: _Shape, dialect: str) -> Any:
    def build() -> Any:
        if shape.sector_only():
            # from the sector's index alone (a project holds a 5-digit sector once, a category maybe more)
            counted = ProjectSector.project_id if shape.sector == 5 else ProjectSector.project_id.distinct()
            return select(func.count(counted)).where(shape._sector_match())
        return select(func.count(Project.id)).where(and_(True, *shape.conditions(dialect)))
    return _built(("count", shape, dialect), build)


def _page(shape: _Shape, sort: str, descending: bool, dialect: str) -> Any:
    """A page of the list: LIST_COLUMNS and the DAC codes joined by commas."""
    def build() -> Any:
        joined = (func.string_agg(ProjectSector.dac_code, ",") if dialect == "postgresql"
                  else func.group_concat(ProjectSector.dac_code, ","))
        sectors = select(joined).where(ProjectSector.project_id == Project.id).scalar_subquery()
        order = _order(shape, sort, descending, dialect)
        return (select(*LIST_COLUMNS, sectors.label("sectors"))
                .outerjoin(Programme, Programme.id == Project.programme_id)
                .outerjoin(Industry, Industry.id == Project.industry_id)
                .where(and_(True, *shape.conditions(dialect)))
                .order_by(*order).offset(bindparam("offset")).limit(bindparam("limit")))
    return _built(("page", shape, sort, descending, dialect), build)


def _order(shape: _Shape, sort: str, descending: bool, dialect: str) -> list[Any]:
    columns: tuple[Any, ...] = _SORT_COLUMNS[sort]
    if shape.scattered(dialect):
        # the matches read whole and sorted: code order from its index would walk the table
        columns = tuple(c.concat(literal_column("''")) if c is Project.code else c for c in columns)
    # Blanks (no status, no programme) last in either direction, as the value sort puts projects
    # without a value, and alike on both databases (SQLite puts NULL first, PostgreSQL last).
    return [(c.desc() if descending else c.asc()).nulls_last() if c in _NULLABLE else
            c.desc() if descending else c.asc() for c in columns]


_NULLABLE = (Project.status, Project.status_start, Programme.code)


LIST_COLUMNS = (Project.id, Project.code, Project.title, Programme.code.label("programme"),
                Industry.name.label("industry"), Project.status, Project.status_effective, Project.host_country,
                Project.partner_country, Project.value_amount, Project.value_currency, Project.value_date,
                Project.version)


def _load(ctx: Context, ids: list[int]) -> list[tuple[Any, list[str]]]:
    """The listed columns of the projects ``ids`` (in that order) with their DAC codes: two plain
    queries, no objects."""
    if not ids:
        return []
    found = {row.id: row for row in _core(ctx).execute(
        select(*LIST_COLUMNS).outerjoin(Programme, Programme.id == Project.programme_id)
        .outerjoin(Industry, Industry.id == Project.industry_id).where(Project.id.in_(ids)))}
    sectors: dict[int, list[str]] = defaultdict(list)
    for pid, dac in _core(ctx).execute(select(ProjectSector.project_id, ProjectSector.dac_code)
                                        .where(ProjectSector.project_id.in_(ids))
                                        .order_by(ProjectSector.project_id, ProjectSector.dac_code)):
        sectors[pid].append(dac)
    return [(found[i], sectors.get(i, [])) for i in ids]


def _usd(rates: RateTable, amount: Decimal | None, currency: str | None, value_date: date | None) -> Decimal | None:
    if amount is None or not currency:
        return None
    conversion = rates.stored_to_usd(amount, currency, value_date)
    return conversion[0] if conversion else None


def project_row(p: Any, sectors: list[str], rates: RateTable) -> dict[str, Any]:
    """A project as the list shows it; ``p`` holds LIST_COLUMNS first (unpacked as a tuple: a
    Row's attributes by name cost several times as much, 50 rows a page)."""
    (_pid, code, title, programme, industry, status, status_since, host, partner, amount, currency, value_date,
     version) = p[:13]
    conversion = rates.stored_to_usd(amount, currency, value_date) if amount is not None and currency else None
    usd, rate = conversion if conversion else (None, None)
    return {
        "code": code, "title": title, "programme": programme, "industry": industry,
        "status": status or UNRECORDED, "status_since": status_since,
        "host_country": host, "partner_country": partner,
        "sectors": sectors,
        "value": ({"amount": amount, "currency": currency, "value_date": value_date} if amount is not None else None),
        "usd": usd,
        "rate": {"per_usd": rate.per_usd, "period": rate.period.code, "source": rate.source} if rate else None,
        "version": version,
    }


# -- the project page: one statement ---------------------------------------------------------------
# The project's row with every child table aggregated to JSON in a correlated subquery of its select
# list: one statement, one round trip (the API's most frequent read; a statement per child table
# cost more than everything else it does). Each child row is a JSON array of its columns; values
# JSON cannot carry exactly are made text (amounts) or written in UTC (timestamps) and read back
# below into what the columns' own types give.

_VALUE_SOURCE = aliased(Source, name="value_source")
_PROJECT_SOURCE = aliased(Source, name="project_source")
_EVENT_SOURCE = aliased(Source, name="event_source")
_DOCUMENT_SOURCE = aliased(Source, name="document_source")
_CLAIM_PROGRAMME = aliased(Programme, name="claim_programme")


def _ref_columns(source: Any) -> list[Any]:
    """What source_ref shows of a source, in its order (id, code, title, publisher, published, url, kind)."""
    return [source.id, source.code, source.title, source.publisher, source.published, source.url, source.kind]


@dataclass(frozen=True)
class _Child:
    """A child table as the project page lists it: its columns, where from, which rows, in what order."""

    columns: tuple[Any, ...]
    source: Any
    where: Any
    order: tuple[Any, ...]


_CHILDREN = (
    _Child((ProjectSector.dac_code, ProjectSector.percent), ProjectSector, ProjectSector.project_id == Project.id,
           (ProjectSector.dac_code,)),
    _Child((Organisation.name, Participant.role, Organisation.country),
           join(Participant, Organisation, Organisation.id == Participant.organisation_id),
           Participant.project_id == Project.id, (Participant.id,)),
    _Child((Location.name, Location.country), Location, Location.project_id == Project.id, (Location.id,)),
    _Child((StatusEvent.status, StatusEvent.effective, StatusEvent.recorded_at, StatusEvent.source_id,
            StatusEvent.claim_id, StatusEvent.note, StatusEvent.reopen, StatusEvent.backdated, _EVENT_SOURCE.code,
            _EVENT_SOURCE.title),
           outerjoin(StatusEvent, _EVENT_SOURCE, _EVENT_SOURCE.id == StatusEvent.source_id),
           StatusEvent.project_id == Project.id, (StatusEvent.effective_start, StatusEvent.id)),
    _Child((FinanceRecord.kind, FinanceRecord.type, FinanceRecord.transaction_date, FinanceRecord.period_start,
            FinanceRecord.amount, FinanceRecord.currency, FinanceRecord.description), FinanceRecord,
           FinanceRecord.project_id == Project.id, (FinanceRecord.id,)),
    _Child((ProjectDocument.category, *_ref_columns(_DOCUMENT_SOURCE)),
           outerjoin(ProjectDocument, _DOCUMENT_SOURCE, _DOCUMENT_SOURCE.id == ProjectDocument.source_id),
           ProjectDocument.project_id == Project.id, (ProjectDocument.position,)),
    # as claim_view shows a claim
    _Child((Claim.id, Claim.kind, Claim.quote, Claim.span_start, Claim.span_end, Claim.source_id,
            _CLAIM_PROGRAMME.code, Claim.subject, Claim.status, Claim.period, Claim.amount, Claim.currency,
            Claim.count, Claim.unit, Claim.value, Claim.approximate, Claim.lower_bound, Claim.links, Claim.method,
            Claim.review, Claim.reviewed_by, Claim.reason, Claim.fact_entity, Claim.fact_id, Claim.extracted,
            Claim.version),
           outerjoin(Claim, _CLAIM_PROGRAMME, _CLAIM_PROGRAMME.id == Claim.programme_id),
           Claim.project_id == Project.id, (Claim.id,)),
)


def _json_value(column: Any) -> Any:
    """``column`` as PostgreSQL puts it in JSON: an amount as its text (never a JSON number, which
    would be read as a float), a timestamp in UTC whatever the session's time zone; dates are
    written in ISO form whatever the DateStyle, booleans and integers as JSON's own."""
    if isinstance(column.type, Amount):
        return cast(column, Text)
    if isinstance(column.type, UTCDateTime):
        return func.timezone(literal_column("'UTC'"), column)
    return column


def _aggregated(child: _Child, dialect: str) -> Any:
    """The child's rows of the enclosing statement's project as one JSON array (NULL when none).
    SQLite before 3.44 has no ORDER BY in an aggregate: its rows are ordered in a subquery, whose
    order SQLite keeps for an aggregate other than count(), min() and max() over that subquery alone
    (select.c, the rule omitting a FROM subquery's ORDER BY: conditions 4 and 5)."""
    if dialect == "postgresql":
        rows = func.json_build_array(*(_json_value(c) for c in child.columns))
        return (select(func.json_agg(aggregate_order_by(rows, *child.order))).select_from(child.source)
                .where(child.where).correlate(Project).scalar_subquery())
    ordered = (select(*(c.label(f"c{i}") for i, c in enumerate(child.columns))).select_from(child.source)
               .where(child.where).order_by(*child.order).correlate(Project).subquery())
    return select(func.json_group_array(func.json_array(*ordered.c))).scalar_subquery()


def _reader(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """What makes a value read from a child's JSON the value its column's type gives (None: as read).
    SQLite's JSON holds what the driver gives (the stored text, integers), so the column type's own
    result processor applies; PostgreSQL's holds text for amounts, dates and timestamps."""
    kind = column.type
    if dialect.name != "postgresql":
        processor: Callable[[Any], Any] | None = kind.dialect_impl(dialect).result_processor(dialect, None)
        return processor
    if isinstance(kind, Amount | UTCDateTime):
        parse: Callable[[str], Any] = Decimal if isinstance(kind, Amount) else datetime.fromisoformat
        typed = kind.process_result_value
        return lambda v: None if v is None else typed(parse(v), dialect)
    if isinstance(kind, Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    if not isinstance(kind, String | Integer | Boolean | JSON):  # what JSON carries as the driver would give it
        raise TypeError(f"{column}: a {kind!r} column in the project page's JSON needs a reader")
    return None


@dataclass(frozen=True)
class _Detail:
    statement: Any
    readers: tuple[tuple[tuple[int, Callable[[Any], Any]], ...], ...]  # by child: (position, reader)
    parse: Callable[[Any], Any] | None  # the driver's value of an aggregate to Python (SQLite: JSON text)


def _detail(dialect: Dialect) -> _Detail:
    """The statement and its readers, built once per dialect (bound: the project's code alone)."""
    found: _Detail = _built(("project detail", dialect.name), lambda: _Detail(
        select(Project.id, Project.title, Project.description, Project.aliases, Programme.code, Programme.name,
               Industry.name, Project.host_country, Project.partner_country, Project.value_amount,
               Project.value_currency, Project.value_date, Project.value_claim_id, Project.planned_start,
               Project.planned_end, Project.actual_start, Project.actual_end, Project.iati_identifier,
               Project.status, Project.version, Project.national_id, *_ref_columns(_VALUE_SOURCE),
               *_ref_columns(_PROJECT_SOURCE),
               *(_aggregated(child, dialect.name) for child in _CHILDREN))
        .outerjoin(Programme, Programme.id == Project.programme_id)
        .outerjoin(Industry, Industry.id == Project.industry_id)
        .outerjoin(_VALUE_SOURCE, _VALUE_SOURCE.id == Project.value_source_id)
        .outerjoin(_PROJECT_SOURCE, _PROJECT_SOURCE.id == Project.source_id)
        .where(Project.code == bindparam("code")),
        tuple(tuple((i, r) for i, c in enumerate(child.columns) if (r := _reader(c, dialect)) is not None)
              for child in _CHILDREN),
        None if dialect.name == "postgresql" else json.loads))  # psycopg reads json itself
    return found


def _ref(sid: int | None, scode: str | None, title: str | None, publisher: str | None, published: str | None,
         url: str | None, kind: str | None) -> dict[str, Any] | None:
    """source_ref of a source read as _ref_columns (None: no source)."""
    if not sid:
        return None
    return {"id": scode or str(sid), "title": title, "publisher": publisher, "published": published, "url": url,
            "kind": kind}


def project_detail(ctx: Context, code: str) -> dict[str, Any]:
    """A project with its money, participants, history and claims, read in one statement (the
    API's most frequent read)."""
    conn = _core(ctx)
    detail = _detail(conn.dialect)
    row = conn.execute(detail.statement, {"code": code}).first()
    if row is None:
        get_project(ctx, code)  # its not-found message
    assert row is not None
    (pid, title, description, aliases, programme_code, programme_name, industry, host, partner, amount, currency,
     value_date, value_claim_id, planned_start, planned_end, actual_start, actual_end, iati_id, status,
     version, national_id) = row[:21]
    children = []
    for aggregate, readers in zip(row[35:], detail.readers, strict=True):
        items = (detail.parse(aggregate) if detail.parse else aggregate) if aggregate is not None else []
        if readers:
            for item in items:
                for i, reader in readers:
                    item[i] = reader(item[i])
        children.append(items)
    sectors, participants, locations, events, finance, documents, claims = children
    conversion = (rate_table(ctx).stored_to_usd(amount, currency, value_date)
                  if amount is not None and currency else None)
    rate = conversion[1] if conversion else None
    return {
        "code": code, "title": title, "description": description, "aliases": aliases,
        "programme": programme_code, "programme_name": programme_name, "industry": industry,
        "host_country": host, "partner_country": partner,
        "value": ({"amount": amount, "currency": currency, "value_date": value_date, "source": _ref(*row[21:28]),
                   "claim": value_claim_id}
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
        "national_id": national_id,
        "status": status,
        "history": [{"status": e_status, "effective": effective, "recorded_at": recorded_at,
                     "source": (scode or str(sid)) if sid is not None else None,
                     "source_title": stitle if sid is not None else None,
                     "claim": claim, "note": note, "reopen": reopen, "backdated": backdated}
                    for e_status, effective, recorded_at, sid, claim, note, reopen, backdated, scode, stitle in events],
        "finance": [{"kind": kind, "type": f_type, "date": transaction_date or period_start,
                     "amount": f_amount, "currency": f_currency, "description": f_description}
                    for kind, f_type, transaction_date, period_start, f_amount, f_currency, f_description in finance],
        "documents": [{"source": _ref(*ref), "category": category} for category, *ref in documents],
        "source": _ref(*row[28:35]),
        "claims": [{
            "id": c[0], "kind": c[1], "quote": c[2], "start": c[3], "end": c[4], "source": c[5], "programme": c[6],
            "project": code, "subject": c[7], "status": c[8], "period": c[9], "amount": c[10], "currency": c[11],
            "count": c[12], "unit": c[13], "value": c[14], "approximate": c[15], "lower_bound": c[16],
            "links": c[17], "method": c[18], "review": c[19], "reviewed_by": c[20], "reason": c[21],
            "fact": {"entity": c[22], "id": c[23]} if c[22] else None, "extracted": c[24], "version": c[25]}
            for c in claims],  # as claim_view shows them
        "version": version,
    }


# -- claims, sources, conflicts -------------------------------------------------------------------


def claim_view(c: Claim) -> dict[str, Any]:
    return {
        "id": c.id, "kind": c.kind, "quote": c.quote, "start": c.span_start, "end": c.span_end,
        "source": c.source_id, "programme": c.programme.code if c.programme else None,
        "project": c.project.code if c.project else None, "subject": c.subject, "status": c.status,
        "period": c.period, "amount": c.amount, "currency": c.currency, "count": c.count, "unit": c.unit,
        "value": c.value, "approximate": c.approximate, "lower_bound": c.lower_bound, "links": c.links,
        "method": c.method, "review": c.review, "reviewed_by": c.reviewed_by, "reason": c.reason,
        "fact": {"entity": c.fact_entity, "id": c.fact_id} if c.fact_entity else None,
        "extracted": c.extracted, "version": c.version,
    }


def claim_detail(ctx: Context, claim_id: int) -> dict[str, Any]:
    c = get_claim(ctx, claim_id)
    row = claim_view(c)
    text = c.source.text or ""
    row["context"] = {"before": text[max(0, c.span_start - 160):c.span_start], "quote": text[c.span_start:c.span_end],
                      "after": text[c.span_end:c.span_end + 160]}
    row["source_title"] = c.source.title
    row["linked"] = [claim_view(o) for o in linked(ctx, c)]
    return row


def conflict_views(ctx: Context, programme: str | None = None,
                   tolerance: Decimal = DEFAULT_TOLERANCE) -> list[dict[str, Any]]:
    return [
        {"a": claim_view(c.a) | {"source_title": c.a.source.title, "source_kind": c.a.source.kind},
         "b": claim_view(c.b) | {"source_title": c.b.source.title, "source_kind": c.b.source.kind},
         "difference": c.difference, "severity": c.severity,
         "resolution": ({"preferred": c.resolution.preferred_claim_id, "method": c.resolution.method,
                         "reason": c.resolution.reason, "by": c.resolution.actor} if c.resolution else None)}
        for c in find_conflicts(ctx, programme, tolerance)
    ]


def source_view(source: Source, claims: int | None = None) -> dict[str, Any]:
    return {"id": source.code or str(source.id), "number": source.id, "title": source.title,
            "publisher": source.publisher, "url": source.url, "published": source.published,
            "language": source.language, "kind": source.kind, "credit": source.credit, "note": source.note,
            "filename": source.filename, "has_text": bool(source.text), "claims": claims, "version": source.version}


def list_source_views(ctx: Context) -> list[dict[str, Any]]:
    counts: dict[int, int] = {sid: n for sid, n in ctx.session.execute(
        select(Claim.source_id, func.count(Claim.id)).group_by(Claim.source_id))}
    sources = ctx.session.scalars(select(Source).order_by(Source.known_from.desc().nulls_last(), Source.id))
    return [source_view(s, counts.get(s.id, 0)) for s in sources]


def source_detail(ctx: Context, code: str) -> dict[str, Any]:
    """A source with its text cut into segments: plain text and claim spans, for highlighting."""
    source = get_source(ctx, code)
    claims = list(ctx.session.scalars(select(Claim).where(Claim.source_id == source.id)
                                      .order_by(Claim.span_start, Claim.span_end.desc(), Claim.id)))
    text = source.text or ""
    segments: list[dict[str, Any]] = []
    at = 0
    for c in claims:  # overlapping spans: the first one wins the overlap; every claim stays listed
        start, end = max(c.span_start, at), c.span_end
        if end <= start or start > len(text):
            continue
        if start > at:
            segments.append({"text": text[at:start], "claim": None})
        segments.append({"text": text[start:end], "claim": c.id, "kind": c.kind, "review": c.review})
        at = end
    if at < len(text):
        segments.append({"text": text[at:], "claim": None})
    return source_view(source, len(claims)) | {"segments": segments, "claims_list": [claim_view(c) for c in claims]}


# -- observations and programmes ------------------------------------------------------------------


def observation_views(ctx: Context, indicator: str | None = None, reporter: str | None = None,
                      partner: str | None = None, hs_code: str | None = None, as_of: date | None = None,
                      page: int = 1, page_size: int = 100) -> tuple[list[dict[str, Any]], int]:
    if page < 1:
        raise bad_parameter("page", page, f"page {page} is not a page number; pages count from 1")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise bad_parameter("page_size", page_size, f"page_size {page_size} must be between 1 and {MAX_PAGE_SIZE}")
    params: dict[str, Any] = {"offset": (page - 1) * page_size, "limit": page_size}
    if indicator:
        params["indicator"] = indicator
    countries = (("reporter", reporter), ("partner", partner))
    for name, value in countries:
        if value:
            try:
                params[name] = resolve_country(value, name)
            except InvalidInput:
                raise bad_parameter(name, value, f"{name} '{value}' is not a country name or ISO code") from None
    if hs_code:
        if not hs_code.isdigit():
            raise bad_parameter("hs_code", hs_code, f"hs_code '{hs_code}' is not an HS code; write digits, e.g. 2709")
        params["hs_code"] = f"{hs_code}%"
    if as_of is not None:
        params["as_of"] = as_of
    shape = tuple(k in params for k in _OBSERVATION_FILTERS)
    conn = _core(ctx)
    total = conn.scalar(_observation_count(shape), params) or 0
    if indicator and not total:
        try:
            get_indicator(ctx, indicator)
        except NotFound as exc:
            raise bad_parameter("indicator", indicator, exc.message) from None
    # the page apart from the count: a count in its statement would make the database build every match
    rows = conn.execute(_observation_page(shape), params).all() if params["offset"] < total else []
    # rows unpacked as tuples (in _observation_page's column order): a Row's attributes by name
    # cost several times as much, 100 rows a page
    return [
        {"id": oid, "indicator": indicator, "reporter": reporter, "partner": partner, "hs_code": hs,
         "period": period, "value": value, "unit": unit, "value_basis": basis,
         "quantity": quantity, "quantity_unit": quantity_unit, "net_weight_kg": weight,
         "flags": [f for f in flags.split(",") if f] if flags else [], "note": note, "claim": claim,
         "source": ({"id": scode or str(sid), "title": stitle, "publisher": publisher,
                     "published": published, "url": url, "kind": kind} if sid is not None else None),
         "version": version}
        for (oid, indicator, reporter, partner, hs, period, value, unit, basis, quantity, quantity_unit, weight,
             flags, note, claim, sid, version, scode, stitle, publisher, published, url, kind) in rows
    ], total


_OBSERVATION_FILTERS = ("indicator", "reporter", "partner", "hs_code", "as_of")


def _observation_conditions(shape: tuple[bool, ...]) -> list[Any]:
    indicator, reporter, partner, hs_code, as_of = shape
    day: BindParameter[date] = bindparam("as_of")
    found: list[Any] = [known_by(day if as_of else None)]
    if indicator:
        found.append(Observation.indicator_id == select(Indicator.id)
                     .where(Indicator.code == bindparam("indicator")).scalar_subquery())
    if reporter:
        found.append(Observation.reporter == bindparam("reporter"))
    if partner:
        found.append(Observation.partner == bindparam("partner"))
    if hs_code:
        found.append(Observation.hs_code.like(bindparam("hs_code")))
    return found


def _observation_page(shape: tuple[bool, ...]) -> Any:
    """A page of observations with their sources, in period order."""
    return _built(("observations", shape), lambda: (
        select(Observation.id, Indicator.code.label("indicator"), Observation.reporter, Observation.partner,
               Observation.hs_code, Observation.period, Observation.value, Observation.unit, Observation.value_basis,
               Observation.quantity, Observation.quantity_unit, Observation.net_weight_kg, Observation.flags,
               Observation.note, Observation.claim_id, Observation.source_id, Observation.version,
               Source.code.label("scode"), Source.title.label("stitle"), Source.publisher, Source.published,
               Source.url, Source.kind)
        .join(Indicator, Indicator.id == Observation.indicator_id)
        .outerjoin(Source, Source.id == Observation.source_id)
        .where(*_observation_conditions(shape))
        .order_by(Observation.period_start, Observation.id)
        .offset(bindparam("offset")).limit(bindparam("limit"))))


def _observation_count(shape: tuple[bool, ...]) -> Any:
    return _built(("observation count", shape), lambda: select(func.count(Observation.id))
                  .where(*_observation_conditions(shape)))


def programme_summaries(ctx: Context) -> list[dict[str, Any]]:
    """Every programme with its parties, period and headline figures (projects by status and the
    package value in USD), for the home page: two grouped queries, not one overview each."""
    programmes = list(ctx.session.scalars(
        select(Programme).options(selectinload(Programme.parties)).order_by(Programme.code)))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for pid, status, n in ctx.session.execute(
            select(Project.programme_id, Project.status, func.count(Project.id))
            .group_by(Project.programme_id, Project.status)):
        if pid is not None:
            counts[pid][status or UNRECORDED] = int(n)
    rates = rate_table(ctx)
    usd: dict[int, Decimal] = defaultdict(Decimal)
    missing: dict[int, int] = defaultdict(int)
    # Summed here, not in SQL: SQLite would add the exact amounts as floats.
    for pid, amount, currency, value_date in ctx.session.execute(
            select(Project.programme_id, Project.value_amount, Project.value_currency, Project.value_date)
            .where(Project.value_amount.is_not(None), Project.programme_id.is_not(None))):
        converted = _usd(rates, amount, currency, value_date)
        if converted is None:
            missing[pid] += 1
        else:
            usd[pid] += converted
    return [
        {"code": p.code, "name": p.name,
         "parties": [{"code": x.country, "name": country_name(x.country)} for x in p.parties],
         "signed": p.signed, "period_start": p.period_start, "period_end": p.period_end,
         "projects": sum(counts[p.id].values()), "by_status": counts[p.id],
         "usd": usd[p.id], "usd_missing": missing[p.id], "version": p.version}
        for p in programmes
    ]
