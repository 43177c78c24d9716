"""Projects as spreadsheet rows: the template's columns, import (every row checked by
``check_project``, upserted by id, all or nothing), and export.

One row is one project. Columns left out of a file keep the registered values of the
projects it updates; an empty cell clears the value. ``status`` and ``status_date`` record a
status event when the status differs from the project's current one.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cooptrack.domain.period import Period
from cooptrack.domain.status import Status
from cooptrack.errors import AlreadyExists, InvalidInput, NotFound
from cooptrack.findings import Finding, Report
from cooptrack.formats.tabular import (
    Cell,
    Sheet,
    Value,
    day_text,
    match_header,
    parse_participants,
    parse_sectors,
    split_list,
    unescape_formula,
)
from cooptrack.services.context import Context
from cooptrack.services.programmes import get_programme
from cooptrack.services.projects import (
    LocationSpec,
    ParticipantSpec,
    ProjectSpec,
    StatusSpec,
    add_status_event,
    check_project,
    future_event_message,
    upsert_project,
)
from cooptrack.services.tabular_store import NewRows, Registered, create_many, load_registered, new_rows
from cooptrack.store.models import Industry, Participant, Programme, Project, Source
from cooptrack.store.types import plain


@dataclass(frozen=True)
class Column:
    name: str
    form: str
    example: str
    required: bool = False
    date: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("id", "the project's id: lower-case letters, digits, '.', '_' or '-'; the key rows are matched on",
           "bakad", required=True),
    Column("title", "the project's title", "Big Almaty Ring Road (BAKAD)", required=True),
    Column("programme", "a registered programme id", "fresh-wind"),
    Column("industry", "one of the programme's industries (empty: from the largest sector)", "Infrastructure"),
    Column("description", "free text", "66 km toll ring road around Almaty"),
    Column("aliases", "other names, separated by ';'", "BAKAD; Almaty ring road"),
    Column("host_country", "ISO 3166 alpha-3 code or a country name", "KAZ"),
    Column("partner_country", "ISO 3166 alpha-3 code or a country name", "KOR"),
    Column("value", "amount in the original currency; digits with a dot for decimals; thousands separated by "
           "',' or spaces are accepted (1,250,000 or 1 250 000), a lone comma (1,5) is refused", "1250000000"),
    Column("currency", "ISO 4217 code of the value", "USD"),
    Column("value_date", "the date the value is stated for (picks the exchange rate)", "2019-04-22", date=True),
    Column("sectors", "DAC 5-digit codes with percentages summing to 100, separated by ';'", "21020:60; 21030:40"),
    Column("participants", "organisations as 'Name (role, country)', separated by ';'; roles: funding, "
           "accountable, extending, implementing, investor, contractor",
           "Korea Expressway Corporation (contractor, KOR); Samruk-Kazyna (investor, KAZ)"),
    Column("planned_start", "date", "2018-05-01", date=True),
    Column("planned_end", "date", "2022-12-31", date=True),
    Column("actual_start", "date", "2018-06-15", date=True),
    Column("actual_end", "date", "", date=True),
    Column("iati_identifier", "IATI activity identifier, unique", "KR-GOV-010-2018-001"),
    Column("national_id", "the national registry's id", "KZ-PPP-0042"),
    Column("source", "id of a registered source backing these facts", "kazakh-invest-2019"),
    Column("status", "pipeline, agreed, in_execution, implemented, closed, suspended or cancelled; a status "
           "different from the current one is recorded as a new dated event", "in_execution"),
    Column("status_date", "when that status took effect: 2019, 2019-H1, 2019-Q3, 2019-07 or a date", "2019-04",
           date=True),
)
NAMES = [c.name for c in COLUMNS]
REQUIRED = [c.name for c in COLUMNS if c.required]
DATE_NAMES = tuple(c.name for c in COLUMNS if c.date)
DATE_COLUMNS = set(DATE_NAMES)
NOTES = (
    "Dates: write 2019-04-22. 22.04.2019 (day first) is accepted too; 04/22/2019 is refused because "
    "slashed dates mean different days in different countries.",
    "Blank rows are skipped. Each project id appears once per file.",
    "Import upserts by id: new ids are created, known ids updated. A column left out of the file keeps the "
    "registered values; an empty cell clears the value.",
    "Every row is checked before anything is written; one error anywhere means nothing is written.",
    "Cells starting with =, +, - or @ are written with a leading ' on export, and read back without it.",
)


def template_readme() -> list[list[str]]:
    lines = [["column", "required", "how to write it", "example"]]
    lines += [[c.name, "yes" if c.required else "", c.form, c.example] for c in COLUMNS]
    lines += [[], ["notes"]] + [[n] for n in NOTES]
    return lines


# --- export ----------------------------------------------------------------------------------


def _participants_text(participants: Sequence[Participant]) -> str | None:
    parts = []
    for p in sorted(participants, key=lambda x: x.id or 0):
        org = p.organisation
        parts.append(f"{org.name} ({p.role}, {org.country})" if org.country else f"{org.name} ({p.role})")
    return "; ".join(parts) or None


def project_cells(project: Project, source_codes: dict[int, str]) -> dict[str, Value]:
    """The project as one spreadsheet row (typed values: Decimal, date, text)."""
    return {
        "id": project.code,
        "title": project.title,
        "programme": project.programme.code if project.programme else None,
        "industry": project.industry.name if project.industry else None,
        "description": project.description,
        "aliases": "; ".join(project.aliases or []) or None,
        "host_country": project.host_country,
        "partner_country": project.partner_country,
        "value": plain(project.value_amount) if project.value_amount is not None else None,
        "currency": project.value_currency,
        "value_date": project.value_date,
        "sectors": "; ".join(f"{s.dac_code}:{format(plain(s.percent), 'f')}" for s in project.sectors) or None,
        "participants": _participants_text(project.participants),
        "planned_start": project.planned_start,
        "planned_end": project.planned_end,
        "actual_start": project.actual_start,
        "actual_end": project.actual_end,
        "iati_identifier": project.iati_identifier,
        "national_id": project.national_id,
        "source": source_codes.get(project.source_id) if project.source_id else None,
        "status": project.status,
        "status_date": project.status_effective,
    }


def check_fields(fields: Sequence[str] | None) -> list[str]:
    if not fields:
        return list(NAMES)
    chosen = [f.strip() for f in fields if f.strip()]
    unknown = [f for f in chosen if f not in NAMES]
    if unknown:
        msg = f"unknown field(s) {', '.join(unknown)}; the fields are: {', '.join(NAMES)}"
        raise InvalidInput(msg, [Finding("unknown_field", msg, field="--fields", value=", ".join(unknown))])
    return chosen


def _project_query() -> Any:
    return select(Project).order_by(Project.code).options(
        selectinload(Project.sectors), selectinload(Project.participants).selectinload(Participant.organisation),
        selectinload(Project.programme), selectinload(Project.industry))


def _source_codes(ctx: Context) -> dict[int, str]:
    return {i: c or str(i) for i, c in ctx.session.execute(select(Source.id, Source.code))}


def export_projects(ctx: Context, fields: Sequence[str], programme: str | None = None) -> Iterator[list[Value]]:
    """The rows of every project (of one programme), ordered by id, ``fields`` in order."""
    query = _project_query()
    if programme:
        query = query.where(Project.programme_id == get_programme(ctx, programme).id)
    codes = _source_codes(ctx)
    for project in ctx.session.scalars(query.execution_options(yield_per=1000)):
        cells = project_cells(project, codes)
        yield [cells[f] for f in fields]


# --- import ----------------------------------------------------------------------------------

# check_project names fields in words ("host country", "sectors[21020] percent"); the sheet
# names columns.
_FIELD_COLUMNS = {"project id": "id", "participants": "participants", "sectors": "sectors",
                  "effective date": "status_date"}


def _column(finding_field: str | None, message: str) -> str | None:
    if finding_field is None:
        for name in ("programme", "source"):
            if message.startswith(f"{name} '"):
                return name
        return None
    base = finding_field.split("[", 1)[0].strip()
    name = _FIELD_COLUMNS.get(base, base.replace(" ", "_"))
    return name if name in NAMES else finding_field


# Columns that are one stored field as it is.
_FIELD_OF = {"id": "code", "title": "title", "description": "description", "host_country": "host_country",
             "partner_country": "partner_country", "value": "value_amount", "currency": "value_currency",
             "value_date": "value_date", "planned_start": "planned_start", "planned_end": "planned_end",
             "actual_start": "actual_start", "actual_end": "actual_end", "iati_identifier": "iati_identifier",
             "national_id": "national_id"}
_Names = tuple[dict[int, str], dict[int, str], dict[int, str]]  # programme codes, industry names, source codes


def _registered_value(project: Registered, column: str, names: _Names) -> Value:
    f = project.fields
    if column in _FIELD_OF:
        value: Value = f[_FIELD_OF[column]]
        return value
    if column == "programme":
        return names[0].get(f["programme_id"]) if f["programme_id"] else None
    if column == "industry":
        return names[1].get(f["industry_id"]) if f["industry_id"] else None
    if column == "source":
        return names[2].get(f["source_id"]) if f["source_id"] else None
    if column == "aliases":
        return "; ".join(f["aliases"] or []) or None
    if column == "sectors":
        return "; ".join(f"{c}:{format(plain(p), 'f')}" for c, p in project.sectors) or None
    if column == "participants":
        return "; ".join(f"{n} ({r}, {c})" if c else f"{n} ({r})" for n, r, c in project.participants) or None
    if column == "status":
        return project.status
    assert column == "status_date", column
    return project.status_effective


def registered_cells(project: Registered, names: _Names, columns: Sequence[str] = NAMES) -> dict[str, Cell]:
    """A registered project's row as text (``columns`` of it): what ``project_cells`` gives,
    each value written as the cell that reads back as it (the text a column left out of a file
    keeps)."""
    cells: dict[str, Cell] = {}
    for column in columns:
        v = _registered_value(project, column, names)
        cells[column] = format(v, "f") if isinstance(v, Decimal) else str(v) if v is not None else None
    return cells


@dataclass(slots=True)
class _Row:
    number: int
    spec: ProjectSpec
    status: str | None = None
    status_date: str | None = None
    registered: Registered | None = None  # the registered project this row updates
    checked: Any = None  # check_project's result


@dataclass(frozen=True, slots=True)
class Upsert:
    """A row written through ``upsert_project`` (a registered project that changes; with
    ``bulk=False``, every row), then its status event when ``status_change``."""

    number: int
    spec: ProjectSpec
    status: str | None
    status_date: str | None
    status_change: bool


@dataclass
class ImportResult:
    report: Report
    summary: dict[str, int] = field(default_factory=dict)
    blank_rows: int = 0


class _Cells:
    """The template's cell syntaxes (dates, lists, sectors, participants, status), each distinct
    text of a column parsed once per import: the same text gives the same value and findings.
    ``present``: the columns a row can fill (the others are always empty)."""

    def __init__(self, present: Iterable[str] = NAMES) -> None:
        present = set(present)
        # Per column a row can fill: its parser, the value of an empty cell, whether a refused
        # text stays as written, and what each text gave.
        self.columns = [(name, func, default, kept, dict[str, tuple[Any, tuple[Finding, ...]]]())
                        for name, func, default, kept in _PARSED if name in present]
        # A row's texts before its cells are read: the columns no row fills already parsed.
        self.blank: dict[str, Any] = dict.fromkeys(NAMES)
        self.blank.update({name: default for name, _, default, _ in _PARSED if name not in present})
        self.periods: dict[str, Period] = {}  # status dates, parsed again to write them


def _parsed(func: Any, text: str, name: str, default: Any) -> tuple[Any, tuple[Finding, ...]]:
    try:
        return func(text, name), ()
    except InvalidInput as exc:
        return default, tuple(exc.findings)


def _participants(text: str, name: str) -> tuple[ParticipantSpec, ...]:
    return tuple(ParticipantSpec(n, r, c) for n, r, c in parse_participants(text, name))


def _status(text: str, name: str) -> str:
    return Status.parse(text, name).value


def _status_date(text: str, name: str) -> str:
    return Period.parse(text, name).code


# The columns with a syntax of their own, in the order their findings are reported: the parser,
# the value an empty cell gives, and whether a text the parser refuses stays as written (a
# status or status period: check_project never sees it, the finding says what is wrong) or
# gives that empty value (a date the day parser refuses: the status date too, which is then
# read as a period only if it was a date).
_PARSED: tuple[tuple[str, Any, Any, bool], ...] = (
    *((name, day_text, None, False) for name in DATE_NAMES),
    ("participants", _participants, (), False),
    ("sectors", parse_sectors, {}, False),
    ("status", _status, None, True),
    ("status_date", _status_date, None, True),
)


def _text(cell: Cell) -> str | None:
    """A cell's text as a row is read: formula escape undone, stripped, None when empty."""
    if not cell:
        return None
    if cell[0] == "'":
        cell = unescape_formula(cell)
    return cell.strip() or None


def _spec(cells: dict[str, Cell], locations: list[LocationSpec], findings: list[Finding], parse: _Cells) -> _Row:
    text: dict[str, Any] = parse.blank.copy()
    for name, cell in cells.items():  # the text of each cell: formula escape undone, stripped, None when empty
        if cell:
            if cell[0] == "'":
                cell = unescape_formula(cell)
            text[name] = cell.strip() or None
    for name, func, default, kept, memo in parse.columns:
        given = text[name]
        if given is None:
            text[name] = default
            continue
        hit = memo.get(given)
        if hit is None:
            hit = memo[given] = _parsed(func, given, name, given if kept else default)
        if hit[1]:
            findings.extend(hit[1])
        text[name] = hit[0]
    value = text["value"]
    aliases = text["aliases"]
    spec = ProjectSpec(
        code=text["id"] or "", title=text["title"] or "", programme=text["programme"], industry=text["industry"],
        description=text["description"], aliases=split_list(aliases) if aliases else [],
        host_country=text["host_country"], partner_country=text["partner_country"],
        value=value.replace("\u00a0", " ").replace("\u202f", " ") if value else None,
        currency=text["currency"], value_date=text["value_date"], sectors=dict(text["sectors"]),
        participants=list(text["participants"]), locations=locations, planned_start=text["planned_start"],
        planned_end=text["planned_end"], actual_start=text["actual_start"], actual_end=text["actual_end"],
        iati_identifier=text["iati_identifier"], national_id=text["national_id"], source=text["source"])
    row = _Row(0, spec, text["status"], text["status_date"])
    if row.status and not row.status_date:
        findings.append(Finding("missing_status_date", "a status needs its status_date (when it took effect), "
                                "e.g. 2019-04", field="status_date"))
    if row.status_date and not row.status:
        findings.append(Finding("missing_status", "status_date is filled but status is empty", field="status"))
    return row


def _iati_owners(ctx: Context, identifiers: list[str]) -> dict[str, str]:
    p = Project.__table__.c
    owners: dict[str, str] = {}
    for i in range(0, len(identifiers), 500):
        chunk = identifiers[i:i + 500]
        owners.update(ctx.session.execute(select(p.iati_identifier, p.code)
                                          .where(p.iati_identifier.in_(chunk))).tuples().all())
    return owners


def _keep_order(project: Registered, spec: ProjectSpec) -> None:
    """The registered participants in their registered order when the row lists the same ones:
    a cell's order is not a change."""
    current = [(name, role) for name, role, _ in project.participants]
    if sorted(current) == sorted((p.name, p.role) for p in spec.participants):
        spec.participants.sort(key=lambda p: current.index((p.name, p.role)))


def _names(ctx: Context) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    programmes = dict(ctx.session.execute(select(Programme.id, Programme.code)).tuples().all())
    industries = dict(ctx.session.execute(select(Industry.id, Industry.name)).tuples().all())
    return programmes, industries, _source_codes(ctx)


@dataclass
class Known:
    """What checking a file's rows needs from the database, read before any row is checked:
    the registered projects the file names, the names of their programmes, industries and
    sources, and the project holding each IATI identifier the rows can carry. (Programmes and
    sources named by id are looked up by ``check_project`` itself.)"""

    registered: dict[str, Registered]
    names: _Names
    owners: dict[str, str]  # IATI identifier -> code of the project registered with it


def column_texts(raw: Sequence[tuple[int, list[Cell]]], mapped: Sequence[str | None], name: str) -> set[str]:
    """The distinct texts of column ``name`` in ``raw`` (as a row's cells are read by ``_spec``)."""
    if name not in mapped:
        return set()
    at = mapped.index(name)
    return {text for _, cells in raw if len(cells) > at and (text := _text(cells[at]))}


def load_known(ctx: Context, mapped: Sequence[str | None], raw: Sequence[tuple[int, list[Cell]]]) -> Known:
    code_at = mapped.index("id")
    registered = load_registered(
        ctx, sorted({c for _, cells in raw if len(cells) > code_at and (c := cells[code_at])}))
    identifiers = column_texts(raw, mapped, "iati_identifier")
    identifiers.update(i for project in registered.values() if (i := project.fields["iati_identifier"]))
    return Known(registered, _names(ctx) if registered else ({}, {}, {}), _iati_owners(ctx, sorted(identifiers)))


def import_projects(ctx: Context, sheet: Sheet, dry_run: bool = False, max_findings: int = 100,
                    bulk: bool = True, pipeline_bytes: int | None = None) -> ImportResult:
    """Check every row and (not in a ``dry_run``) write them, all or nothing: one refused row
    anywhere means nothing is written. The rows are written into the transaction as they are
    checked, until a row is refused; the rest are still checked for every finding, then the
    writes are rolled back. The counts say what was (or, in a dry run, would be) created,
    updated, unchanged. ``bulk=False`` creates new projects one by one through
    ``upsert_project`` (slower; the reference the bulk path is tested against).

    A CSV sheet of ``pipeline_bytes`` or more (None: the COOPTRACK_TABULAR_PIPELINE_BYTES
    environment variable, else ``tabular_pipeline.PIPELINE_BYTES``; negative: never) naming few
    registered projects is read and checked by a second process while this one writes
    (services/tabular_pipeline.py): the same findings, counts and writes."""
    with _collector_paused():
        return _import(ctx, sheet, dry_run, max_findings, bulk, pipeline_bytes)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """An import builds a few million small objects (cells, specs, rows to insert) that all
    live until it ends; Python's cycle collector would walk them again and again and find
    nothing to free (about a quarter of the import's time, measured). Paused meanwhile;
    reference counting still frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(ctx: Context, sheet: Sheet, dry_run: bool, max_findings: int, bulk: bool,
            pipeline_bytes: int | None) -> ImportResult:
    from cooptrack.services import tabular_pipeline

    report = Report(limit=max_findings)
    result = ImportResult(report, {"created": 0, "updated": 0, "unchanged": 0, "refused": 0})
    mapped, header_findings = match_header(sheet.header, NAMES, REQUIRED, sheet.name)
    report.extend(sheet.findings)
    report.extend(header_findings)
    if header_findings:
        return result
    piped = bulk and tabular_pipeline.wanted(sheet, pipeline_bytes)
    # Started first when the file likely names few registered projects (the register is small
    # beside it): it starts up while this process reads the rows and what the checks need.
    reader = tabular_pipeline.start(sheet) if piped and tabular_pipeline.likely(ctx, sheet) else None
    try:
        raw = list(sheet.rows)
        result.blank_rows = sheet.blank_rows
        report.extend(sheet.findings[len(report.findings):])  # formulas found while reading the rows
        facts = load_known(ctx, mapped, raw)
        writer = _Writer(ctx, result, sheet.name, dry_run)
        if piped and reader is None and tabular_pipeline.worth(facts, raw):
            reader = tabular_pipeline.start(sheet)
        if reader is not None and tabular_pipeline.worth(facts, raw):
            reader.run(ctx, facts, mapped, raw, report, result.summary, writer)
        else:
            checker = _Checker(ctx, sheet.name, mapped, report, result.summary, facts, bulk, writer.memo, CHUNK_ROWS)
            for kind, payload in checker.run(raw):
                writer.write(kind, payload)
        writer.finish()
    finally:
        if reader is not None:
            reader.close()
    return result


CHUNK_ROWS = 5000  # new projects inserted together


class _Checker:
    """A file's rows checked in order, every finding into ``report``, and meanwhile what may be
    written: ``run`` yields ("upserts", [Upsert, ...]) and ("creates", NewRows) for as long
    as no row has been refused, so that the writes can go into the import's transaction while
    the rest is checked. They come in the order checking every row first would write them: the
    registered projects that change, in the file's order (once the last row naming a registered
    project is checked), then the new projects, ``chunk_rows`` at a time.

    It needs no database but for the programmes and sources ``check_project`` looks up through
    ``ctx`` (remembered in ``memo``): the process reading a file runs it too, with those lookups
    made beforehand (services/tabular_pipeline.py)."""

    def __init__(self, ctx: Context, source: str, mapped: Sequence[str | None], report: Report,
                 counts: dict[str, int], facts: Known, bulk: bool, memo: dict[Any, Any], chunk_rows: int) -> None:
        self.ctx, self.source, self.report, self.counts = ctx, source, report, counts
        self.facts, self.bulk, self.memo, self.chunk_rows = facts, bulk, memo, chunk_rows
        index = [(i, name) for i, name in enumerate(mapped) if name]
        self.names = [name for _, name in index]
        self.pick = itemgetter(*(i for i, _ in index))  # two at least: id and title are required
        self.pad: list[Cell] = [None] * len(mapped)
        self.kept = [name for name in NAMES if name not in mapped]  # registered values stay
        self.width = len(mapped)
        self.code_at = mapped.index("id")
        self.parse = _Cells([*self.names, *(self.kept if facts.registered else ())])
        self.first_seen: dict[str, int] = {}
        self.iati_seen: dict[str, tuple[int, str]] = {}

    def run(self, raw: Iterable[tuple[int, list[Cell]]]) -> Iterator[tuple[str, Any]]:
        """``raw``: the numbered rows, read as they are checked (when the file names no
        registered project; else read first, to find the last row naming one)."""
        report, counts, registered = self.report, self.counts, self.facts.registered
        code_at = self.code_at
        last = -1
        if registered:
            raw = list(raw)
            last = max((i for i, (_, cells) in enumerate(raw) if len(cells) > code_at and cells[code_at] in registered),
                       default=-1)
        upserts: list[Upsert] = []
        fresh: list[_Row] = []
        writing = self.bulk  # without bulk, every row is written one by one once all are checked
        taken = False  # a row's IATI identifier is registered with another project (reported at the end)
        for i, (number, cells) in enumerate(raw):
            if report.truncated:
                break
            row, findings = self._check(number, cells)
            iati = row.spec.iati_identifier
            taken = taken or bool(iati and self.facts.owners.get(iati, row.spec.code) != row.spec.code)
            if findings:
                counts["refused"] += 1
                report.extend([replace(f, row=number, source=self.source, field=_column(f.field, f.message))
                               for f in findings])
                continue
            project = row.registered
            status_change = bool(row.status and row.status != (project.status if project else None))
            if project is None and self.bulk:
                fresh.append(row)
            elif project is not None and not status_change and project.unchanged(row.checked):
                counts["unchanged"] += 1
            else:
                upserts.append(Upsert(number, row.spec, row.status, row.status_date, status_change))
            if writing and i >= last and (upserts or len(fresh) >= self.chunk_rows) and not taken and report.valid:
                if upserts:
                    yield "upserts", upserts
                    upserts = []
                yield from self._batches(fresh, False)
        for iati, (number, code) in self.iati_seen.items():
            if self.facts.owners.get(iati, code) != code:
                counts["refused"] += 1
                msg = (f"iati_identifier '{iati}' belongs to project '{self.facts.owners[iati]}'; an identifier "
                       "names one project")
                report.add(Finding("iati_identifier_taken", msg, "iati_identifier", iati, number, self.source))
        if report.valid:
            if upserts:
                yield "upserts", upserts
            yield from self._batches(fresh, True)

    def _batches(self, fresh: list[_Row], last: bool) -> Iterator[tuple[str, NewRows]]:
        """("creates", NewRows) of the new projects checked, taken from ``fresh``: as many full
        batches as there are (``last``: and the rest)."""
        size = self.chunk_rows
        while len(fresh) >= size or (last and fresh):
            yield "creates", self._batch(fresh[:size])
            del fresh[:size]

    def _check(self, number: int, cells: list[Cell]) -> tuple[_Row, list[Finding]]:
        findings: list[Finding] = []
        width = self.width
        if len(cells) > width and any(c is not None for c in cells[width:]):
            findings.append(Finding("cells_beyond_header", f"the row has {len(cells)} cells but the header only "
                                    f"{width}: a value without a column (an unquoted ',' or ';' inside a "
                                    "value?); quote the value or remove the extra cells"))
        given = dict(zip(self.names, self.pick(cells + self.pad if len(cells) < width else cells), strict=True))
        project = self.facts.registered.get(given["id"] or "")
        merged = given
        if project is not None:
            merged = registered_cells(project, self.facts.names, self.kept)
            merged.update(given)
        row = _spec(merged, list(project.locations) if project else [], findings, self.parse)
        row.number, row.registered = number, project
        if project is not None:
            _keep_order(project, row.spec)
        code = row.spec.code
        if code and code in self.first_seen:
            findings.append(Finding("duplicate_id", f"id '{code}' is also on row {self.first_seen[code]}; each "
                                    "project once per file", field="id", value=code))
        self.first_seen.setdefault(code, number)
        try:
            row.checked = check_project(self.ctx, row.spec, self.memo)
        except InvalidInput as exc:
            findings.extend(exc.findings)
        future = self._future_status(row, project)
        if future is not None:
            findings.append(future)
        iati = row.spec.iati_identifier
        if iati and iati in self.iati_seen and self.iati_seen[iati][1] != code:
            findings.append(Finding("duplicate_iati_identifier", f"iati_identifier '{iati}' is also on row "
                                    f"{self.iati_seen[iati][0]}; each activity has one project", "iati_identifier",
                                    iati))
        elif iati:
            self.iati_seen[iati] = (number, code)
        return row, findings

    def _future_status(self, row: _Row, project: Registered | None) -> Finding | None:
        """The status event a row records (a new project's first, or a changed status) refused
        when dated in the future, as ``add_status_event`` refuses it: the bulk path, which
        creates new projects without it, and the one-by-one path report the same finding."""
        if not (row.status and row.status_date) or (project is not None and row.status == project.status):
            return None
        period = self.parse.periods.get(row.status_date)
        if period is None:
            try:
                period = self.parse.periods[row.status_date] = Period.parse(row.status_date)
            except InvalidInput:  # reported as the cell's own finding
                return None
        if period.start <= self.ctx.now.date():
            return None
        return Finding("future_event", future_event_message(period.code), "status_date", period.code)

    def _batch(self, rows: list[_Row]) -> NewRows:
        return new_rows([_first_status(r, self.parse.periods) for r in rows])


class _Writer:
    """Writes what the checks let through into a savepoint of the import's transaction; at the
    end commits it, or rolls it back if any row was refused (by the checks or by a write) or in
    a dry run."""

    def __init__(self, ctx: Context, result: ImportResult, source: str, dry_run: bool) -> None:
        self.ctx, self.result, self.source, self.dry_run = ctx, result, source, dry_run
        self.memo: dict[Any, Any] = {}  # for check_project in upsert_project
        self.refusals: list[Finding] = []  # by the writes: reported when every row passed the checks
        self.refused = 0
        self.bindings: dict[str, dict[str, Any]] = {}  # create_many's memo
        self.savepoint = ctx.session.begin_nested()

    def write(self, kind: str, payload: Any) -> None:
        if kind == "upserts":
            for upsert in payload:
                self.upsert(upsert)
        else:
            assert kind == "creates", kind
            if not self.refusals:  # as checked: once a write is refused, nothing more is created
                self.result.summary["created"] += create_many(self.ctx, payload, self.bindings)

    def upsert(self, row: Upsert) -> None:
        counts = self.result.summary
        try:
            _, outcome = upsert_project(self.ctx, row.spec, match_iati=False, memo=self.memo)
            if row.status_change:
                assert row.status and row.status_date
                add_status_event(self.ctx, StatusSpec(row.spec.code, row.status, row.status_date))
                outcome = "updated" if outcome == "unchanged" else outcome
            counts[outcome] += 1
        except InvalidInput as exc:
            self.refused += 1
            self.refusals.extend([replace(f, row=row.number, source=self.source, field=_column(f.field, f.message))
                                  for f in exc.findings])
        except (AlreadyExists, NotFound) as exc:
            self.refused += 1
            self.refusals.append(Finding(exc.code, exc.message, row=row.number, source=self.source))

    def finish(self) -> None:
        report, counts = self.result.report, self.result.summary
        if report.valid:  # the writes' own refusals, when the checks refused nothing
            counts["refused"] += self.refused
            report.extend(self.refusals)
        if self.dry_run or not report.valid:
            self.savepoint.rollback()
            if not report.valid:
                counts.update(created=0, updated=0, unchanged=0)
        else:
            self.savepoint.commit()


def _first_status(row: _Row, periods: dict[str, Period]) -> tuple[Any, str | None, str | None, Period | None]:
    """A new project's checked spec with its first status event: status, effective code, period
    (``periods``: each status date's, parsed once)."""
    if not (row.status and row.status_date):
        return row.checked, None, None, None
    period = periods.get(row.status_date)
    if period is None:
        period = periods[row.status_date] = Period.parse(row.status_date)
    return row.checked, row.status, period.code, period
