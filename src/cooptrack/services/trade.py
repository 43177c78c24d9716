"""UN Comtrade imports: every row of a Comtrade file becomes a trade observation citing the file
as its source; and mirror statistics, what two countries each reported about the same flow.

Rules of the import (the README's "UN Comtrade" section says the same for users):

- A file is one source, recognised by the SHA-256 of its bytes: importing it again changes
  nothing ("unchanged").
- All or nothing: any error refuses the whole file and nothing is written, unless
  ``skip_invalid`` leaves the rows with errors out (each still reported, as a warning).
- Reporter and partner are UN Comtrade (M49) numbers, mapped to ISO 3166 alpha-3 through
  ``cooptrack.codes.m49``. Partner 0 (World) is stored as no partner, the reporter's total. An
  area with no ISO code ("Other Asia, nes", "Bunkers", "Free zones"...) is not a country the
  register can hold: its rows are left out, each with a warning (the World rows still include
  them). A number the table does not know is an error.
- Flows M, X, RM, RX (legacy 1-4) become imports, exports, re-imports, re-exports. Domestic
  exports (DX) and foreign imports (FM) count as exports or imports only where the file has no
  X or M row for the same figure; processing-trade flows (MIP, MOP, XIP, XOP) are left out
  with a warning; any other flow is an error.
- ``TOTAL`` is the all-commodities figure (no HS code). HS codes are checked against HS 2022;
  a code of an older HS edition (H0-H5, such as the legacy HS 2007 files) that HS 2022 no
  longer has is kept as reported, with a note on each observation and one warning per code.
  An unknown code in an HS 2022 (H6) file is an error.
- Only the totals over second partner, mode of transport and customs procedure are stored;
  breakdowns by them are left out with a warning. Two rows for the same figure are an error.
- The value is primaryValue in US dollars (``value_basis`` primary), with the CIF and FOB
  values when given; quantities keep their unit (a unit table in ``formats.comtrade``). An
  estimated quantity or net weight flags the observation "estimated", and its note says which.

Speed (``bench/trade/``): the checks (``services.trade_checks``) read the file in chunks of rows,
field by field with ``map``, ``zip`` and dict lookups that run in C, every check once per distinct
code. Rows are written with executemany in chunks, in the form the column types bind. A large
file (``PIPELINE_BYTES``) is read and checked by a second process while this one writes the rows
it sends (``services.trade_pipeline``): the import then takes about as long as the slower of the
two, not their sum. Both ways give the same findings, counts and rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, insert, literal_column, select

from cooptrack.domain.countries import resolve_country
from cooptrack.domain.indicators import FLOWS
from cooptrack.domain.period import Period
from cooptrack.errors import InvalidInput
from cooptrack.findings import Report
from cooptrack.formats import comtrade
from cooptrack.services import audit, trade_pipeline
from cooptrack.services.context import Checks, Context
from cooptrack.services.observations import get_indicator
from cooptrack.services.trade_checks import COLUMNS, KEPT, Checker, Issue, Outcome
from cooptrack.store.models import Observation, Source

__all__ = ["COLUMNS", "KEPT", "MAX_FINDINGS", "Issue", "TradeImport", "import_trade_file", "mirror"]

MAX_FINDINGS = 100
SQLITE_CACHE_KIB = 131_072  # page cache while importing: the series index takes random inserts
Progress = Callable[[int], AbstractContextManager[Callable[[int], Any]]]


@dataclass
class TradeImport:
    file: str
    format: str | None = None
    encoding: str | None = None
    source_id: int | None = None
    rows: int = 0
    report: Report = field(default_factory=Report)
    summary: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False


def import_trade_file(ctx: Context, path: Path, *, dry_run: bool = False, skip_invalid: bool = False,
                      max_findings: int = MAX_FINDINGS, progress: Progress | None = None,
                      pipeline_bytes: int | None = None) -> TradeImport:
    """Import one Comtrade file (Comtrade+ CSV or JSON, legacy bulk CSV) as observations, all or
    nothing; the result holds the findings report and the counts.

    A file of ``pipeline_bytes`` or more (None: ``trade_pipeline.PIPELINE_BYTES``, or the
    ``COOPTRACK_TRADE_PIPELINE_BYTES`` environment variable; negative: never) is read and checked
    by a second process while this one writes; a dry run is always checked here."""
    reader = None
    if not dry_run and trade_pipeline.wanted(path, pipeline_bytes):
        try:
            reader = trade_pipeline.Reader.start()  # starts up while this process hashes the file
        except OSError:  # no second process to be had here: this one reads the file
            reader = None
    try:
        return _import(ctx, path, dry_run, skip_invalid, max_findings, progress, reader)
    finally:
        if reader is not None:
            reader.close()


def _import(ctx: Context, path: Path, dry_run: bool, skip_invalid: bool, max_findings: int,
            progress: Progress | None, reader: trade_pipeline.Reader | None) -> TradeImport:
    result = TradeImport(file=path.name, dry_run=dry_run)
    try:
        opened = comtrade.open_trade_file(path)
    except InvalidInput as exc:
        result.report = Report(findings=list(exc.findings), limit=max_findings)
        result.summary = _summary(dry_run, 0, 0, 0, 0)
        return result
    result.format, result.encoding = opened.layout.label, opened.encoding

    existing = ctx.session.scalar(select(Source).where(Source.sha256 == opened.sha256))
    if existing is not None:
        stored = ctx.session.scalar(select(func.count()).select_from(Observation)
                                    .where(Observation.source_id == existing.id)) or 0
        if stored:
            opened.chunks.close()
            result.source_id = existing.id
            result.summary = _summary(dry_run, 0, stored, 0, 0)
            return result

    indicators = {code: get_indicator(ctx, code).id for code in FLOWS}
    savepoint = None if dry_run else ctx.session.begin_nested()
    try:
        source = None if dry_run else existing or _add_source(ctx, opened)
        writer = None if source is None else _Writer(ctx, source.id)
        with progress(opened.estimated_rows) if progress else nullcontext(lambda n: None) as advance, \
                writer.page_cache() if writer is not None else nullcontext():
            if reader is not None and writer is not None:
                outcome = reader.run(path, opened, skip_invalid, indicators, writer.sqlite, writer.write, advance,
                                     writer.bind_rows)
            else:
                outcome = _check_here(ctx, opened, skip_invalid, indicators, writer, advance)
    except BaseException:
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()  # whatever failed (the database, the reading process), nothing is written
        raise
    result.rows, result.report = outcome.rows, outcome.report(max_findings)
    valid = result.report.valid
    if savepoint is not None:
        (savepoint.commit if valid else savepoint.rollback)()
    created = outcome.created if valid else 0
    result.summary = _summary(dry_run, created, 0, outcome.skipped, outcome.refused)
    if source is not None and valid:
        result.source_id = source.id
        names = {v: k for k, v in indicators.items()}
        by_indicator = Counter({names[k]: n for k, n in outcome.by_indicator.items()})
        audit.record(ctx, "import", "source", source.id, None, audit.snapshot(
            source, format=opened.layout.name, encoding=opened.encoding, rows=outcome.rows, created=created,
            skipped=outcome.skipped, by_indicator=dict(sorted(by_indicator.items())),
            warnings=outcome.warning_count))
    return result


def _check_here(ctx: Context, opened: comtrade.TradeFile, skip_invalid: bool, indicators: dict[str, int],
                writer: _Writer | None, advance: Callable[[int], Any]) -> Outcome:
    """Read, check and write in this process."""
    dialect = ctx.session.connection().dialect
    bind_amount, bind_date = _binders(dialect)
    checker = Checker(opened, skip_invalid, indicators, sqlite=dialect.name == "sqlite",
                      bind_amount=bind_amount or _same, bind_date=bind_date or _same)
    return checker.run(writer.write if writer is not None else None, advance)


def _same(value: Any) -> Any:
    return value


def _binders(dialect: Any) -> tuple[Callable[[Any], Any] | None, Callable[[Any], Any] | None]:
    """The bind processors of the value (Amount) and date columns on this dialect (None: as is)."""
    table = Observation.__table__
    return (table.c.value.type.dialect_impl(dialect).bind_processor(dialect),
            table.c.period_start.type.dialect_impl(dialect).bind_processor(dialect))


AMOUNT_COLUMNS = tuple(COLUMNS.index(c) for c in ("value", "cif_value", "fob_value", "quantity", "net_weight_kg"))
DATE_COLUMNS = tuple(COLUMNS.index(c) for c in ("period_start", "period_end"))


class _Writer:
    """The rows of one source, written with executemany in the form the column types bind."""

    def __init__(self, ctx: Context, source_id: int) -> None:
        self.conn = ctx.session.connection()
        dialect = self.conn.dialect
        self.sql = _insert_sql(self.conn, source_id, ctx)
        self.positional = dialect.positional
        self.sqlite = dialect.name == "sqlite"
        self.bind_amount, self.bind_date = _binders(dialect)
        self.dates: dict[Any, Any] = {}

    def write(self, batch: list[tuple[Any, ...]]) -> None:
        if self.positional:
            self.conn.exec_driver_sql(self.sql, batch)
        else:
            self.conn.exec_driver_sql(self.sql, [dict(zip(COLUMNS, row, strict=True)) for row in batch])

    def bind_rows(self, columns: list[tuple[Any, ...]], decimals: bool) -> list[tuple[Any, ...]]:
        """The rows of ``columns`` made by a checker that left dates as dates and valid amounts
        that are not already Amount's text as Decimals (``decimals``: some are), in the form the
        columns bind."""
        if self.bind_date is not None:
            dates, bind = self.dates, self.bind_date
            for i in DATE_COLUMNS:
                try:
                    columns[i] = tuple(map(dates.__getitem__, columns[i]))
                except KeyError:  # a period not seen before: bind each of its days once
                    dates.update((d, bind(d)) for d in set(columns[i]).difference(dates))
                    columns[i] = tuple(map(dates.__getitem__, columns[i]))
        if decimals and self.bind_amount is not None:
            bind = self.bind_amount
            for i in AMOUNT_COLUMNS:
                columns[i] = tuple(bind(v) if type(v) is Decimal else v for v in columns[i])
        return list(zip(*columns, strict=True))

    @contextmanager
    def page_cache(self) -> Iterator[None]:
        """A larger SQLite page cache while the rows go in; as it was afterwards."""
        cache_size = self.conn.exec_driver_sql("PRAGMA cache_size").scalar() if self.sqlite else None
        if cache_size is not None:
            self.conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        try:
            yield
        finally:
            if cache_size is not None:
                self.conn.exec_driver_sql(f"PRAGMA cache_size={int(cache_size)}")


def _summary(dry_run: bool, created: int, unchanged: int, skipped: int, refused: int) -> dict[str, int]:
    return {"to create" if dry_run else "created": created, "unchanged": unchanged, "skipped": skipped,
            "refused": refused}


def _add_source(ctx: Context, opened: comtrade.TradeFile) -> Source:
    source = Source(title=Path(opened.name).stem.replace("_", " "), kind="dataset", filename=opened.name,
                    sha256=opened.sha256, text=None, publisher="UN Comtrade",
                    media_type="application/json" if opened.layout is comtrade.COMTRADEPLUS_JSON else "text/csv",
                    note=f"{opened.layout.label}, {opened.encoding}, {opened.size:,} bytes")
    ctx.session.add(source)
    ctx.session.flush()
    return source


def _insert_sql(conn: Any, source_id: int, ctx: Context) -> str:
    """The INSERT for the rows: the per-row columns as parameters in COLUMNS order, the values
    every row shares rendered once as literals through the columns' own types."""
    table = Observation.__table__
    shared = {"unit": "USD", "value_basis": "primary", "source_id": source_id, "version": 1,
              "created_at": ctx.now, "updated_at": ctx.now}
    values: dict[str, Any] = {name: bindparam(name) for name in COLUMNS}
    for name, value in shared.items():
        column = table.c[name]
        sql = bindparam(None, value, type_=column.type).compile(dialect=conn.dialect,
                                                                 compile_kwargs={"literal_binds": True})
        values[name] = literal_column(sql.string, type_=column.type)
    compiled = insert(Observation).values(values).compile(dialect=conn.dialect)
    if compiled.positiontup is not None and list(compiled.positiontup) != list(COLUMNS):
        raise AssertionError(f"unexpected parameter order {compiled.positiontup}")
    return compiled.string


# --- mirror statistics --------------------------------------------------------------------

# What the partner reports for the reporter's flow: its exports are the partner's imports from
# it, and so on. Re-exports and re-imports are paired the same way, although goods re-exported
# by one country are often recorded as plain imports by the other.
MIRROR_FLOWS = (("exports", "imports"), ("imports", "exports"), ("re_exports", "re_imports"),
                ("re_imports", "re_exports"))
PERCENT = Decimal("0.01")


@dataclass
class Figure:
    """One side of a mirror comparison: the observation a country reported."""

    country: str
    indicator: str
    value: Decimal
    cif_value: Decimal | None
    fob_value: Decimal | None
    unit: str
    flags: list[str]
    observation_id: int
    source_id: int | None
    source: str | None
    others: int  # further observations of the same figure (other sources), not shown


@dataclass
class MirrorFlow:
    flow: str
    mirror_flow: str
    reporter: Figure | None
    partner: Figure | None
    basis: str | None  # the values compared: fob, cif or primary
    reporter_value: Decimal | None
    partner_value: Decimal | None
    gap: Decimal | None  # partner's value minus reporter's
    gap_percent: Decimal | None  # gap relative to the reporter's value


@dataclass
class Mirror:
    reporter: str
    partner: str
    period: str
    hs_code: str | None
    flows: list[MirrorFlow]
    gap_relative_to: str = "reporter"


def mirror(ctx: Context, reporter: str, partner: str, period: str, hs_code: str | None = None) -> Mirror:
    """What REPORTER reported for each flow with PARTNER and what PARTNER reported for the mirror
    flow, in the same period and commodity (None: all commodities), with the gap in percent of
    the reporter's figure. Values are compared on the same basis where both sides have it: FOB
    with FOB, else CIF with CIF, else the primary values."""
    checks = Checks()
    a = checks.run(resolve_country, reporter, "reporter")
    b = checks.run(resolve_country, partner, "partner")
    when = checks.run(Period.parse, period, "--period")
    hs = hs_code.strip() if hs_code else None
    if hs is not None and not (hs.isascii() and hs.isdigit() and len(hs) in (2, 4, 6)):
        checks.fail("bad_hs_code", f"--hs '{hs_code}' is not an HS code of 2, 4 or 6 digits, e.g. 8542", "hs", hs_code)
    if a and b and a == b:
        checks.fail("same_country", f"reporter and partner are both {a}; mirror figures need two countries",
                    "partner", partner)
    checks.done()
    assert a and b and when
    ids = {code: get_indicator(ctx, code).id for code in FLOWS}
    names = {v: k for k, v in ids.items()}
    query = (select(Observation, Source.title).outerjoin(Source, Source.id == Observation.source_id)
             .where(Observation.indicator_id.in_(ids.values()), Observation.period == when.code,
                    ((Observation.reporter == a) & (Observation.partner == b))
                    | ((Observation.reporter == b) & (Observation.partner == a)),
                    Observation.hs_code.is_(None) if hs is None else Observation.hs_code == hs)
             .order_by(Observation.id.desc()))
    found: dict[tuple[str, str], list[tuple[Observation, str | None]]] = {}
    for observation, title in ctx.session.execute(query).tuples():
        found.setdefault((observation.reporter, names[observation.indicator_id]), []).append((observation, title))
    flows = []
    for flow, mirror_flow in MIRROR_FLOWS:
        mine, theirs = _figure(found.get((a, flow))), _figure(found.get((b, mirror_flow)))
        if mine is None and theirs is None:
            continue
        flows.append(_compare(flow, mirror_flow, mine, theirs))
    return Mirror(a, b, when.code, hs, flows)


def _figure(candidates: list[tuple[Observation, str | None]] | None) -> Figure | None:
    if not candidates:
        return None
    o, title = candidates[0]  # the latest stored
    return Figure(o.reporter, "", o.value, o.cif_value, o.fob_value, o.unit, [f for f in o.flags.split(",") if f],
                  o.id, o.source_id, title, len(candidates) - 1)


def _compare(flow: str, mirror_flow: str, mine: Figure | None, theirs: Figure | None) -> MirrorFlow:
    if mine is not None:
        mine.indicator = flow
    if theirs is not None:
        theirs.indicator = mirror_flow
    result = MirrorFlow(flow, mirror_flow, mine, theirs, None, None, None, None, None)
    if mine is None or theirs is None or mine.unit != theirs.unit:
        return result
    if mine.fob_value is not None and theirs.fob_value is not None:
        basis, x, y = "fob", mine.fob_value, theirs.fob_value
    elif mine.cif_value is not None and theirs.cif_value is not None:
        basis, x, y = "cif", mine.cif_value, theirs.cif_value
    else:
        basis, x, y = "primary", mine.value, theirs.value
    result.basis, result.reporter_value, result.partner_value, result.gap = basis, x, y, y - x
    if x:
        result.gap_percent = ((y - x) * 100 / x).quantize(PERCENT)
    return result
