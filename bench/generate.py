"""Generate a large synthetic cooptrack register for the benchmark.

The register is written with SQLAlchemy Core bulk inserts (executemany over lists of dicts, in
chunks, inside transactions) into a freshly migrated database: by default the SQLite file
``bench/register.db``. Everything derives from ``--seed``: the same options always give the same
register, timestamps and ids included.

    .venv/bin/python bench/generate.py   # 50 programmes, 100,000 projects, 1,000,000 observations
    .venv/bin/python bench/generate.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench

What it looks like: two-party programmes between Central Asian countries and their partners;
industries made of real DAC 5-digit sectors; projects valued in a realistic currency mix with
status histories that follow the lifecycle in ``cooptrack.domain.status`` (the project's cached
status is its latest event, as the service keeps it); yearly exchange rates; trade, investment
and enterprise observations (trade also by HS 2022 code) over years, halves, quarters and
months; a few targets per programme; and the statistical yearbooks and commission protocols
that some events and observations cite (so "as of" queries have publication dates to respect).

Speed: rows are made by plain Python and written through SQLAlchemy Core executemany; columns
that hold one value for every row (``version``, ``created_at``, ``updated_at``, a project's
empty ``aliases``, a status event's ``actor``...) are set once in the INSERT statement instead of
per row. Each programme's projects and each observation series come from a random generator
seeded from ``--seed`` and the programme.
"""

from __future__ import annotations

import argparse
import calendar
import functools
import json
import math
import random
import sys
import time
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Insert,
    MetaData,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.types import String

from cooptrack import codes
from cooptrack.domain.countries import country_name as _country_name
from cooptrack.domain.status import TERMINAL, Status, transition_allowed
from cooptrack.store.db import Store
from cooptrack.store.migrate import upgrade
from cooptrack.store.models import Base

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_URL = f"sqlite:///{BENCH_DIR / 'register.db'}"
DEFAULT_SEED = 20240601
DEFAULT_PROGRAMMES = 50
DEFAULT_PROJECTS = 100_000
DEFAULT_OBSERVATIONS = 1_000_000
CHUNK = 20_000  # rows per executemany call
COMMIT_EVERY = 200_000  # rows per transaction (about)
CODE_PREFIX = "bench-"  # every generated programme code starts with this (see _wipe)
ACTOR = "bench-generator"

# Fixed, so that a seed gives the very same register, timestamps included.
GENERATED_AT = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
HISTORY_START = date(2012, 1, 1)  # earliest project status event
HISTORY_END = date(2025, 6, 30)  # latest project status event
OBS_YEARS = range(2010, 2025)  # observation years: 2010 to 2024
RATE_YEARS = range(2008, 2026)  # a rate for every non-USD currency each year

# fmt: off
# Programme parties: Central Asia and its neighbours ("focus") with their usual partners.
FOCUS = ("KAZ", "UZB", "KGZ", "TJK", "TKM", "AZE", "MNG")
PARTNERS = ("KOR", "CHN", "JPN", "RUS", "TUR", "DEU", "IND", "ARE", "USA", "FRA", "ITA", "GBR",
            "SAU", "PAK", "IRN")

# Project value currencies: share of projects, and the per-USD rate in 2008 and in 2025
# (interpolated geometrically between, with a little noise; the dirham is pegged).
CURRENCY_MIX: dict[str, float] = {
    "USD": 0.46, "KZT": 0.14, "KRW": 0.11, "EUR": 0.08, "CNY": 0.07, "UZS": 0.05,
    "RUB": 0.03, "JPY": 0.025, "TRY": 0.015, "AED": 0.01, "GBP": 0.01,
}
RATE_RANGE: dict[str, tuple[float, float]] = {
    "KZT": (120.3, 470.0), "KRW": (1102.0, 1364.0), "EUR": (0.68, 0.92), "CNY": (6.95, 7.19),
    "UZS": (1340.0, 12650.0), "RUB": (24.9, 91.5), "JPY": (103.4, 151.0), "TRY": (1.30, 33.5),
    "AED": (3.6725, 3.6725), "GBP": (0.54, 0.79),
}
WHOLE_UNITS = frozenset({"KZT", "KRW", "UZS", "JPY"})  # amounts without minor units

# Economic DAC 3-digit categories whose 5-digit sectors make up programme industries.
INDUSTRY_CATEGORIES = ("210", "220", "231", "232", "233", "236", "240", "250", "311", "312",
                       "313", "321", "322", "323", "331", "332", "140", "121", "114", "410")

# Status histories: a random walk over the allowed transitions (restating a status, which
# another source confirms, is allowed too), 1 to 4 events long. Every path is enumerated once
# with its probability, then sampled. Final statuses come out as about 30% in execution, 25%
# agreed, 18% pipeline, 11% implemented, 5-6% each closed and cancelled, 5% suspended.
S = Status
START_WEIGHTS = {S.PIPELINE: 0.55, S.AGREED: 0.30, S.IN_EXECUTION: 0.15}
NEXT_WEIGHTS: dict[Status, dict[Status, float]] = {
    S.PIPELINE: {S.AGREED: 0.72, S.IN_EXECUTION: 0.08, S.SUSPENDED: 0.07, S.CANCELLED: 0.05,
                 S.PIPELINE: 0.08},
    S.AGREED: {S.IN_EXECUTION: 0.75, S.IMPLEMENTED: 0.03, S.SUSPENDED: 0.07, S.CANCELLED: 0.04,
               S.AGREED: 0.11},
    S.IN_EXECUTION: {S.IMPLEMENTED: 0.50, S.SUSPENDED: 0.10, S.CANCELLED: 0.03,
                     S.IN_EXECUTION: 0.37},
    S.IMPLEMENTED: {S.CLOSED: 0.85, S.IMPLEMENTED: 0.15},
    S.SUSPENDED: {S.IN_EXECUTION: 0.40, S.AGREED: 0.20, S.PIPELINE: 0.12, S.CANCELLED: 0.28},
}
LENGTH_WEIGHTS = {1: 0.30, 2: 0.30, 3: 0.24, 4: 0.16}

# The tables written, in insertion (foreign key) order.
TABLE_ORDER = ("sources", "exchange_rates", "programmes", "programme_parties",
               "programme_industries", "programme_industry_sectors", "programme_commodities",
               "projects", "project_sectors", "status_events", "observations", "targets")
# fmt: on

Row = dict[str, Any]

# Columns that hold the same value in every generated row: set once in the INSERT statement.
CONSTANTS: dict[str, dict[str, Any]] = {
    "projects": {"aliases": []},
    "status_events": {"reopen": False, "backdated": False, "actor": ACTOR},
}


# ---------------------------------------------------------------------------------------------
# Small helpers


@functools.cache
def country_name(code: str) -> str:
    return _country_name(code)


def _round_sig(x: float, digits: int = 3) -> int:
    """x rounded to ``digits`` significant figures, as an int (for amounts of 1,000 or more)."""
    exponent = max(int(math.floor(math.log10(x))) - digits + 1, 0)
    return int(round(x / 10**exponent)) * 10**exponent


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal whole shares."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _pick(rng: random.Random, items: list[Any], cum: list[float]) -> Any:
    return items[bisect_right(cum, rng.random() * cum[-1])]


@dataclass(frozen=True, slots=True)
class Per:
    """A reporting period (the generator's light version of cooptrack's Period)."""

    code: str
    start: date
    end: date
    year: int
    fraction: float  # share of a year


def periods(years: range) -> dict[str, list[Per]]:
    out: dict[str, list[Per]] = {"year": [], "half": [], "quarter": [], "month": []}
    for y in years:
        out["year"].append(Per(f"{y}", date(y, 1, 1), date(y, 12, 31), y, 1.0))
        for h in (1, 2):
            out["half"].append(
                Per(f"{y}-H{h}", date(y, 6 * h - 5, 1), _month_end(y, 6 * h), y, 0.5)
            )
        for q in (1, 2, 3, 4):
            out["quarter"].append(
                Per(f"{y}-Q{q}", date(y, 3 * q - 2, 1), _month_end(y, 3 * q), y, 0.25)
            )
        for m in range(1, 13):
            out["month"].append(Per(f"{y}-{m:02d}", date(y, m, 1), _month_end(y, m), y, 1 / 12))
    return out


def status_paths() -> tuple[list[tuple[str, ...]], list[float]]:
    """Every status history the walk can produce (as status values), with cumulative
    probabilities. Each step is checked against ``cooptrack.domain.status``."""
    probs: dict[tuple[Status, ...], float] = {}

    def walk(path: tuple[Status, ...], p: float, length: int) -> None:
        last = path[-1]
        if len(path) == length or last in TERMINAL:
            probs[path] = probs.get(path, 0.0) + p
            return
        for nxt, w in NEXT_WEIGHTS[last].items():
            if not transition_allowed(last, nxt):
                raise AssertionError(f"generator walk {last} -> {nxt} is not an allowed transition")
            walk((*path, nxt), p * w, length)

    for length, lw in LENGTH_WEIGHTS.items():
        for first, sw in START_WEIGHTS.items():
            walk((first,), lw * sw, length)
    paths = sorted(probs, key=lambda k: [s.value for s in k])
    return [tuple(s.value for s in p) for p in paths], list(accumulate(probs[k] for k in paths))


def final_status_mix() -> dict[str, float]:
    """Expected share of projects by final (cached) status."""
    paths, cum = status_paths()
    mix: dict[str, float] = {}
    previous = 0.0
    for path, c in zip(paths, cum, strict=True):
        mix[path[-1]] = mix.get(path[-1], 0.0) + c - previous
        previous = c
    return mix


# ---------------------------------------------------------------------------------------------
# Row makers: everything they need is in a Reference and their arguments; each seeds its own
# random generator from the seed and the programme, so one programme's rows do not depend on
# how many rows the others got.


@dataclass
class ProgrammeInfo:
    index: int  # 1-based
    id: int
    code: str
    parties: tuple[str, str]
    start: date
    industries: list[tuple[int, str, list[str]]]  # (id, name, dac codes)
    hs_codes: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (rep, par) -> HS


@dataclass
class Reference:
    seed: int
    indicators: dict[str, int]
    rates: dict[tuple[str, int], float]
    stat_sources: dict[tuple[str, int], int]  # (country, year) -> yearbook source id
    report_sources: dict[int, dict[int, int]]  # programme id -> year -> protocol source id
    all_sectors: list[str]
    sector_names: dict[str, str]
    all_hs: list[str]
    paths: list[tuple[str, ...]] = field(default_factory=list)
    path_cum: list[float] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)
    currency_cum: list[float] = field(default_factory=list)
    periods: dict[str, list[Per]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.paths, self.path_cum = status_paths()
        self.currencies = list(CURRENCY_MIX)
        self.currency_cum = list(accumulate(CURRENCY_MIX.values()))
        self.periods = periods(OBS_YEARS)

    def rng(self, *key: int) -> random.Random:
        seed = self.seed
        for k in key:
            seed = seed * 1_000_003 + k
        return random.Random(seed)


def project_rows(
    ref: Reference, info: ProgrammeInfo, count: int, first_id: int
) -> tuple[list[Row], list[Row], list[Row]]:
    """``count`` projects of a programme, with their sectors and status events. Sectors and
    events get their ids from the database (nothing refers to them)."""
    rng = ref.rng(info.index, 0)
    a, b = info.parties
    reports = ref.report_sources[info.id]
    span_start = max(info.start, HISTORY_START)
    programme_codes = [d for _, _, dac in info.industries for d in dac]
    projects: list[Row] = []
    sectors_out: list[Row] = []
    events_out: list[Row] = []
    for n in range(1, count + 1):
        pid = first_id + n - 1
        path = _pick(rng, ref.paths, ref.path_cum)
        # Event dates: gaps of two months to two years, the whole history inside the window.
        gaps = [int(rng.uniform(60, 720)) for _ in path[1:]]
        latest_first = HISTORY_END - timedelta(days=sum(gaps))
        if latest_first <= span_start:
            scale = max((HISTORY_END - span_start).days - 1, 0) / max(sum(gaps), 1)
            gaps = [max(int(g * scale), 1) for g in gaps]
            latest_first = HISTORY_END - timedelta(days=sum(gaps))
        first = span_start + timedelta(
            days=rng.randint(0, max((latest_first - span_start).days, 0))
        )
        day = first
        events: list[Row] = []
        previous_start: date | None = None
        actual_start = actual_end = None
        for i, status in enumerate(path):
            if i:
                day = day + timedelta(days=gaps[i - 1])
            # Mostly a day; sometimes only the month or the year is known.
            roll = rng.random()
            if roll < 0.07:
                effective, start = f"{day.year}", date(day.year, 1, 1)
            elif roll < 0.25:
                effective, start = f"{day.year}-{day.month:02d}", date(day.year, day.month, 1)
            else:
                effective, start = day.isoformat(), day
            if previous_start is not None and start <= previous_start:
                day = max(day, previous_start + timedelta(days=1))
                effective, start = day.isoformat(), day
            previous_start = start
            if status == "in_execution" and actual_start is None:
                actual_start = start
            if status == "implemented" and actual_end is None:
                actual_end = start
            events.append(
                {
                    "project_id": pid,
                    "status": status,
                    "effective": effective,
                    "effective_start": start,
                    "recorded_at": datetime(start.year, start.month, start.day, 10, 0, tzinfo=UTC)
                    + timedelta(days=rng.randint(0, 40), minutes=rng.randint(0, 480)),
                    "source_id": reports.get(start.year) if rng.random() < 0.25 else None,
                }
            )
        if actual_start and actual_end and actual_end < actual_start:
            actual_end = None
        last = events[-1]

        industry = (
            info.industries[rng.randrange(len(info.industries))] if rng.random() < 0.93 else None
        )
        main = rng.choice(industry[2]) if industry is not None else rng.choice(ref.all_sectors)
        sectors = [main]
        if rng.random() < 0.45:
            other = (
                rng.choice(programme_codes) if rng.random() < 0.7 else rng.choice(ref.all_sectors)
            )
            if other != main:
                sectors.append(other)
        if len(sectors) == 1:
            shares = [Decimal(100)]
        else:
            major = rng.choice((50, 60, 60, 70, 70, 75, 80, 90))
            shares = [Decimal(major), Decimal(100 - major)]
        for code, share in zip(sectors, shares, strict=True):
            sectors_out.append({"project_id": pid, "dac_code": code, "percent": share})

        amount = currency = value_date = None
        if rng.random() < 0.95:  # a few projects have no stated value
            currency = _pick(rng, ref.currencies, ref.currency_cum)
            usd = min(max(rng.lognormvariate(math.log(8e6), 1.5), 50_000.0), 4e10)
            value_date = first if rng.random() < 0.98 else None
            local = (
                usd
                if currency == "USD"
                else usd * ref.rates[(currency, (value_date or HISTORY_END).year)]
            )
            if currency not in WHOLE_UNITS and rng.random() < 0.1:
                amount = Decimal(f"{local:.2f}")
            else:
                amount = Decimal(_round_sig(local, rng.choice((2, 3, 3, 4))))
        host, partner = (a, b) if rng.random() < 0.6 else (b, a)
        planned_start = first + timedelta(days=rng.randint(30, 540))
        projects.append(
            {
                "id": pid,
                "code": f"p{info.index:03d}-{n:05d}",  # a valid project id: lower case
                "programme_id": info.id,
                "industry_id": industry[0] if industry else None,
                "title": f"{ref.sector_names.get(main, main)} project {n} in {country_name(host)}",
                "host_country": host,
                "partner_country": partner,
                "value_amount": amount,
                "value_currency": currency,
                "value_date": value_date,
                "planned_start": planned_start,
                "planned_end": planned_start + timedelta(days=rng.randint(365, 6 * 365)),
                "actual_start": actual_start,
                "actual_end": actual_end,
                "source_id": events[0]["source_id"],
                # The cached status is the latest event's, as add_status_event keeps it.
                "status": last["status"],
                "status_effective": last["effective"],
                "status_start": last["effective_start"],
            }
        )
        events_out.extend(events)
    return projects, sectors_out, events_out


def observation_rows(ref: Reference, info: ProgrammeInfo, direction: int, quota: int) -> list[Row]:
    """``quota`` observations of one party about the other (direction 0: first party reports):
    the headline series first, then exports and imports by HS code."""
    rng = ref.rng(info.index, 1 + direction)
    reporter, partner = info.parties if direction == 0 else info.parties[::-1]
    ind = ref.indicators
    pers = ref.periods
    turnover0 = rng.lognormvariate(math.log(1.2e9), 1.0)  # USD per year in 2010
    growth = rng.uniform(0.98, 1.12)
    export_share = rng.uniform(0.25, 0.75)
    level = {y: turnover0 * growth ** (y - OBS_YEARS[0]) * rng.uniform(0.9, 1.1) for y in OBS_YEARS}
    last_year = OBS_YEARS[-1]
    stat = ref.stat_sources

    def row(
        indicator: str,
        per: Per,
        value: Decimal,
        unit: str,
        hs: str | None = None,
        basis: str | None = None,
        weight: Decimal | None = None,
    ) -> Row:
        flags = (
            "preliminary" if per.year == last_year else ("estimated" if rng.random() < 0.03 else "")
        )
        # Yearly figures often cite the reporter's yearbook; the rest are known once the
        # period has ended.
        source = stat[(reporter, per.year)] if per.fraction == 1.0 and rng.random() < 0.6 else None
        return {
            "indicator_id": ind[indicator],
            "reporter": reporter,
            "partner": partner,
            "hs_code": hs,
            "period": per.code,
            "period_start": per.start,
            "period_end": per.end,
            "value": value,
            "unit": unit,
            "value_basis": basis,
            "net_weight_kg": weight,
            "flags": flags,
            "source_id": source,
        }

    def headline() -> Iterator[Row]:
        for kind in ("year", "half", "quarter", "month"):
            for per in pers[kind]:
                total = level[per.year] * per.fraction * rng.uniform(0.85, 1.15)
                exports = Decimal(f"{total * export_share:.2f}")
                imports = Decimal(f"{total * (1 - export_share):.2f}")
                yield row("exports", per, exports, "USD", basis="fob")
                yield row("imports", per, imports, "USD", basis="cif")
                yield row("trade_turnover", per, exports + imports, "USD")
        stock = 0.0
        enterprises = rng.randint(20, 400)
        for k, y_per in enumerate(pers["year"]):
            inflow_year = level[y_per.year] * rng.uniform(0.01, 0.08)
            yield row("fdi_inflow", y_per, Decimal(f"{inflow_year:.0f}"), "USD")
            for q in pers["quarter"][4 * k : 4 * k + 4]:
                yield row(
                    "fdi_inflow", q, Decimal(f"{inflow_year * rng.uniform(0.1, 0.4):.0f}"), "USD"
                )
            for h in pers["half"][2 * k : 2 * k + 2]:
                stock += inflow_year / 2
                enterprises += rng.randint(-5, 40)
                yield row("fdi_stock", h, Decimal(f"{stock:.0f}"), "USD")
                yield row("enterprises", h, Decimal(max(enterprises, 0)), "enterprise")
            yield row("fdi_stock", y_per, Decimal(f"{stock:.0f}"), "USD")
            yield row("enterprises", y_per, Decimal(max(enterprises, 0)), "enterprise")

    def by_commodity() -> Iterator[Row]:
        # The programme's main traded goods first, then (for very large quotas) the rest of
        # the nomenclature in a fixed random order: no (code, period) twice.
        featured = info.hs_codes[(reporter, partner)]
        others = sorted(set(ref.all_hs) - set(featured))
        rng.shuffle(others)
        for rank, hs in enumerate(featured + others):
            share = rng.lognormvariate(math.log(0.01 if rank < len(featured) else 0.0005), 1.0)
            price_per_kg = rng.lognormvariate(math.log(3.0), 1.2)
            for flow, basis, flow_share in (
                ("exports", "fob", export_share),
                ("imports", "cif", 1 - export_share),
            ):
                for kind in ("year", "quarter"):
                    for per in pers[kind]:
                        v = level[per.year] * flow_share * share * per.fraction
                        v *= rng.uniform(0.7, 1.3)
                        weight = Decimal(f"{v / price_per_kg:.0f}") if len(hs) == 6 else None
                        yield row(flow, per, Decimal(f"{v:.2f}"), "USD", hs, basis, weight)

    out: list[Row] = []
    if quota <= 0:
        return out
    for source in (headline(), by_commodity()):
        for r in source:
            out.append(r)
            if len(out) >= quota:
                return out
    raise ValueError(
        f"at most {len(out):,} observations per reporter and partner; use more programmes"
    )


# ---------------------------------------------------------------------------------------------
# The writer: buffered executemany in chunks


class Writer:
    """Buffers rows per table and writes them with executemany in chunks of CHUNK, all tables
    together in foreign key order.

    Editable tables get ``version = 1`` and ``created_at = updated_at = GENERATED_AT`` set
    explicitly in the INSERT statement, and so do the CONSTANTS: the same values for every row,
    rendered once as SQL literals through the columns' own types (UTCDateTime renders exactly
    what it would bind), so they are not converted again for each of a million rows. Columns
    that are NULL in every generated row and have no default (notes, descriptions...) are left
    out.
    """

    def __init__(self, conn: Connection, tables: dict[str, Table]) -> None:
        self.conn = conn
        self.statements = {name: self.statement(table) for name, table in tables.items()}
        self.buffers: dict[str, list[Row]] = {name: [] for name in TABLE_ORDER}
        self.counts: dict[str, int] = dict.fromkeys(TABLE_ORDER, 0)
        self.uncommitted = 0

    def statement(self, table: Table) -> Insert:
        constants = dict(CONSTANTS.get(table.name, {}))
        if "version" in table.c:
            constants.update(version=1, created_at=GENERATED_AT, updated_at=GENERATED_AT)
        if not constants:
            return insert(table)
        return insert(table).values(
            {
                name: _sql_literal(table.c[name], value, self.conn.dialect)
                for name, value in constants.items()
            }
        )

    def add(self, table: str, row: Row) -> None:
        buf = self.buffers[table]
        buf.append(row)
        if len(buf) >= CHUNK:
            self.flush()

    def extend(self, table: str, rows: Iterable[Row]) -> None:
        buf = self.buffers[table]
        for row in rows:
            buf.append(row)
            if len(buf) >= CHUNK:
                self.flush()
                buf = self.buffers[table]  # flush() starts new lists

    def flush(self) -> None:
        for name in TABLE_ORDER:  # parents first, so foreign keys always resolve
            rows = self.buffers[name]
            if rows:
                self.conn.execute(self.statements[name], rows)
                self.counts[name] += len(rows)
                self.uncommitted += len(rows)
                self.buffers[name] = []

    def commit(self, force: bool = True) -> bool:
        """Flush and commit when forced or when enough rows wait; True if committed."""
        pending = self.uncommitted + sum(len(b) for b in self.buffers.values())
        if not force and pending < COMMIT_EVERY:
            return False
        self.flush()
        self.conn.commit()
        self.uncommitted = 0
        return True


# ---------------------------------------------------------------------------------------------
# The register


@dataclass
class Options:
    url: str = DEFAULT_URL
    seed: int = DEFAULT_SEED
    programmes: int = DEFAULT_PROGRAMMES
    projects: int = DEFAULT_PROJECTS
    observations: int = DEFAULT_OBSERVATIONS
    quiet: bool = False


@dataclass
class Result:
    url: str
    dialect: str
    counts: dict[str, int]
    seconds: float  # wall time of the whole run: fresh schema, rows, final statistics

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class Generator:
    def __init__(self, opts: Options) -> None:
        if opts.programmes < 1 or opts.projects < 0 or opts.observations < 0:
            raise ValueError(
                "--programmes must be at least 1, --projects and --observations 0 or more"
            )
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.ids: dict[str, int] = dict.fromkeys(TABLE_ORDER, 0)
        sectors = [s for s in codes.sectors().values() if not s.withdrawn]
        self.sectors_by_category: dict[str, list[str]] = {}
        for s in sectors:
            self.sectors_by_category.setdefault(s.category, []).append(s.code)
        self.sector_names = {s.code: s.name for s in sectors}
        self.all_sectors = sorted(s.code for s in sectors)
        hs = codes.commodities()
        self.hs_by_level = {
            lvl: sorted(c for c, v in hs.items() if v.level == lvl) for lvl in (2, 4, 6)
        }
        self.rates: dict[tuple[str, int], float] = {}
        self.stat_sources: dict[tuple[str, int], int] = {}
        self.report_sources: dict[int, dict[int, int]] = {}

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def pairs(self) -> list[tuple[str, str]]:
        """Distinct party pairs: a focus country with a partner or a neighbour first."""
        first = [(f, p) for f in FOCUS for p in PARTNERS]
        first += [(a, b) for i, a in enumerate(FOCUS) for b in FOCUS[i + 1 :]]
        rest = [(a, b) for i, a in enumerate(PARTNERS) for b in PARTNERS[i + 1 :]]
        if self.opts.programmes > len(first) + len(rest):
            raise ValueError(
                f"at most {len(first) + len(rest)} programmes (distinct country pairs)"
            )
        self.rng.shuffle(first)
        self.rng.shuffle(rest)
        return (first + rest)[: self.opts.programmes]

    # -- programme-level rows ------------------------------------------------------------------

    def write_sources(
        self, w: Writer, countries: list[str], programmes: list[tuple[int, str]]
    ) -> None:
        for cc in countries:
            for y in OBS_YEARS:
                sid = self.next_id("sources")
                self.stat_sources[(cc, y)] = sid
                w.add(
                    "sources",
                    {
                        "id": sid,
                        "code": f"{CODE_PREFIX}stat-{cc.lower()}-{y}",
                        "title": f"Statistical yearbook of {country_name(cc)} {y}",
                        "publisher": f"National statistics office of {country_name(cc)}",
                        "url": f"https://stat.example.org/{cc.lower()}/yearbook/{y}",
                        "published": f"{y + 1}-06",
                        "known_from": date(y + 1, 6, 30),
                        "language": "en",
                        "kind": "dataset",
                    },
                )
        for pid, pcode in programmes:
            by_year: dict[int, int] = {}
            for y in range(HISTORY_START.year, HISTORY_END.year):
                sid = self.next_id("sources")
                by_year[y] = sid
                w.add(
                    "sources",
                    {
                        "id": sid,
                        "code": f"{pcode}-protocol-{y}",
                        "title": f"Protocol of the joint commission on {pcode}, {y}",
                        "publisher": "Intergovernmental commission secretariat",
                        "url": f"https://commission.example.org/{pcode}/{y}",
                        "published": f"{y + 1}-03",
                        "known_from": date(y + 1, 3, 31),
                        "language": "en",
                        "kind": "official",
                    },
                )
            self.report_sources[pid] = by_year

    def write_rates(self, w: Writer) -> None:
        first, last = RATE_YEARS[0], RATE_YEARS[-1]
        for cur in CURRENCY_MIX:
            if cur == "USD":
                continue
            lo, hi = RATE_RANGE[cur]
            for y in RATE_YEARS:
                rate = lo * (hi / lo) ** ((y - first) / (last - first))
                if lo != hi:
                    rate *= 1 + self.rng.uniform(-0.04, 0.04)
                self.rates[(cur, y)] = rate
                w.add(
                    "exchange_rates",
                    {
                        "id": self.next_id("exchange_rates"),
                        "currency": cur,
                        "period": f"{y}",
                        "per_usd": Decimal(f"{rate:.4f}"),
                        "source": "Synthetic annual average (cooptrack benchmark generator)",
                    },
                )

    def write_programme(self, w: Writer, index: int, pair: tuple[str, str]) -> ProgrammeInfo:
        rng = self.rng
        a, b = pair
        pid = self.next_id("programmes")
        signed_year = rng.randint(2010, 2016)
        code = f"{CODE_PREFIX}{index:03d}-{a.lower()}-{b.lower()}"
        w.add(
            "programmes",
            {
                "id": pid,
                "code": code,
                "name": f"{country_name(a)}–{country_name(b)} economic cooperation programme",
                "aliases": [f"{a}-{b} roadmap {signed_year + 1}-{signed_year + 15}"],
                "description": f"Synthetic benchmark programme {index} between {a} and {b}.",
                "signed": f"{signed_year}-{rng.randint(1, 12):02d}",
                "signed_occasion": f"State visit of the president of {country_name(a)} "
                f"to {country_name(b)}",
                "period_start": f"{signed_year + 1}",
                "period_end": f"{signed_year + 15}",
            },
        )
        for pos, cc in enumerate(pair):
            w.add(
                "programme_parties",
                {
                    "id": self.next_id("programme_parties"),
                    "programme_id": pid,
                    "country": cc,
                    "position": pos,
                },
            )
        industries: list[tuple[int, str, list[str]]] = []
        for pos, cat in enumerate(rng.sample(INDUSTRY_CATEGORIES, rng.randint(5, 10))):
            iid = self.next_id("programme_industries")
            pool = self.sectors_by_category[cat]
            dac = sorted(rng.sample(pool, min(len(pool), rng.randint(1, 4))))
            category = codes.sector_category(cat)
            name = category.name if category else cat
            industries.append((iid, name, dac))
            w.add(
                "programme_industries",
                {"id": iid, "programme_id": pid, "name": name, "position": pos},
            )
            for d in dac:
                w.add(
                    "programme_industry_sectors",
                    {
                        "id": self.next_id("programme_industry_sectors"),
                        "industry_id": iid,
                        "dac_code": d,
                    },
                )
        info = ProgrammeInfo(index, pid, code, pair, date(signed_year + 1, 1, 1), industries)
        # HS codes traded in each direction: chapters, headings and subheadings.
        for rep, par in ((a, b), (b, a)):
            traded = (
                rng.sample(self.hs_by_level[2], 20)
                + rng.sample(self.hs_by_level[4], 40)
                + rng.sample(self.hs_by_level[6], 60)
            )
            rng.shuffle(traded)
            info.hs_codes[(rep, par)] = traded
        for flow, (rep, par) in (("exports", (a, b)), ("imports", (a, b)), ("exports", (b, a))):
            for hs in info.hs_codes[(rep, par)][: rng.randint(1, 3)]:
                w.add(
                    "programme_commodities",
                    {
                        "id": self.next_id("programme_commodities"),
                        "programme_id": pid,
                        "reporter": rep,
                        "partner": par,
                        "flow": flow,
                        "hs_code": hs,
                    },
                )
        return info

    def write_targets(self, w: Writer, info: ProgrammeInfo, indicators: dict[str, int]) -> None:
        rng = self.rng
        a, b = info.parties
        last = OBS_YEARS[-1]

        def target(
            indicator: str,
            reporter: str,
            partner: str,
            year: int,
            unit: str,
            *,
            value: Decimal | None = None,
            multiple: Decimal | None = None,
            baseline: str | None = None,
            hs: str | None = None,
        ) -> None:
            w.add(
                "targets",
                {
                    "id": self.next_id("targets"),
                    "programme_id": info.id,
                    "indicator_id": indicators[indicator],
                    "reporter": reporter,
                    "partner": partner,
                    "hs_code": hs,
                    "period": str(year),
                    "deadline": date(year, 12, 31),
                    "kind": "absolute" if value is not None else "multiple",
                    "target_value": value,
                    "multiple": multiple,
                    "baseline_period": baseline,
                    "unit": unit,
                    "approximate": rng.random() < 0.3,
                    "source_id": self.report_sources[info.id].get(info.start.year),
                },
            )

        target(
            "trade_turnover",
            a,
            b,
            rng.choice((last, last + 1, last + 3)),
            "USD",
            multiple=Decimal(rng.choice(("1.5", "2", "2.5", "3"))),
            baseline=str(info.start.year - 1),
        )
        target(
            "trade_turnover",
            b,
            a,
            last,
            "USD",
            value=Decimal(_round_sig(rng.lognormvariate(math.log(3e9), 1.0), 2)),
        )
        target(
            "fdi_stock",
            a,
            b,
            last + 1,
            "USD",
            value=Decimal(_round_sig(rng.lognormvariate(math.log(2e9), 1.0), 2)),
        )
        if rng.random() < 0.7:
            target(
                "enterprises",
                a,
                b,
                last,
                "enterprise",
                value=Decimal(rng.choice((500, 800, 1000, 1500))),
            )
        if rng.random() < 0.6:
            target(
                "exports",
                a,
                b,
                last,
                "USD",
                multiple=Decimal(2),
                baseline="2015",
                hs=info.hs_codes[(a, b)][0],
            )

    # -- the whole register ---------------------------------------------------------------------

    def run(self) -> Result:
        opts = self.opts
        t0 = time.perf_counter()
        store = Store(opts.url)
        try:
            _wipe(store)
            upgrade(store)
            tables = {name: Base.metadata.tables[name] for name in TABLE_ORDER}
            with store.engine.connect() as conn:
                if store.dialect == "sqlite":
                    # A bigger page cache for the load; the Store's own pragmas (WAL,
                    # synchronous=NORMAL, foreign keys on) stay as they are.
                    _driver(conn).execute("PRAGMA cache_size=-262144")
                conn = conn.execution_options(cooptrack_write=True)  # BEGIN IMMEDIATE on SQLite
                indicators = {
                    code: int(i)
                    for code, i in conn.execute(text("SELECT code, id FROM indicators")).tuples()
                }
                conn.commit()
                w = Writer(conn, tables)

                pairs = self.pairs()
                codes_ = [
                    (i + 1, f"{CODE_PREFIX}{i + 1:03d}-{a.lower()}-{b.lower()}")
                    for i, (a, b) in enumerate(pairs)
                ]
                self.write_sources(w, sorted({c for p in pairs for c in p}), codes_)
                self.write_rates(w)
                infos = [self.write_programme(w, i + 1, pair) for i, pair in enumerate(pairs)]
                w.commit()

                ref = Reference(
                    opts.seed,
                    indicators,
                    self.rates,
                    self.stat_sources,
                    self.report_sources,
                    self.all_sectors,
                    self.sector_names,
                    sorted(codes.commodities()),
                )
                first_id = 1
                for info, count in zip(infos, _spread(opts.projects, len(infos)), strict=True):
                    projects, sectors, events = project_rows(ref, info, count, first_id)
                    first_id += count
                    w.extend("projects", projects)
                    w.extend("project_sectors", sectors)
                    w.extend("status_events", events)
                    if w.commit(force=False):
                        self._log(w, t0)
                quotas = iter(_spread(opts.observations, 2 * len(infos)))
                for info in infos:
                    for direction in (0, 1):
                        w.extend(
                            "observations", observation_rows(ref, info, direction, next(quotas))
                        )
                        if w.commit(force=False):
                            self._log(w, t0)
                for info in infos:
                    self.write_targets(w, info, indicators)
                w.commit()
                _finish(conn, store.dialect)
            result = Result(store.url, store.dialect, dict(w.counts), time.perf_counter() - t0)
            self._log(w, t0)
            return result
        finally:
            store.dispose()

    def _log(self, w: Writer, t0: float) -> None:
        if self.opts.quiet:
            return
        rows = sum(w.counts.values())
        elapsed = time.perf_counter() - t0
        print(
            f"  {elapsed:7.1f} s  {rows:>10,} rows  "
            f"({rows / elapsed if elapsed else 0:,.0f} rows/s)",
            file=sys.stderr,
            flush=True,
        )


def _sql_literal(column: Any, value: Any, dialect: Any) -> Any:
    """``value`` as an SQL literal of ``column``'s type, for an INSERT's VALUES clause."""
    type_ = column.type
    if isinstance(type_, JSON):  # no literal renderer: bind it as JSON text
        type_, value = String(), json.dumps(value)
    sql = bindparam(None, value, type_=type_).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True}
    )
    return literal_column(sql.string, type_=column.type)


def _driver(conn: Connection) -> Any:
    """The DB-API connection under ``conn`` (SQLite's runs in autocommit mode)."""
    return conn.connection.driver_connection


def _wipe(store: Store) -> None:
    """Make the database empty, refusing anything that is not a benchmark register."""
    url = make_url(store.url)
    if store.dialect == "sqlite":
        path = url.database
        if not path or path == ":memory:":
            return
        _refuse_unless_bench(store)
        store.engine.dispose()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    if url.database in ("test", "postgres", "template0", "template1"):
        raise SystemExit(
            f"refusing to generate into database '{url.database}'; use a dedicated one"
        )
    _refuse_unless_bench(store)
    meta = MetaData()
    with store.engine.begin() as conn:
        meta.reflect(conn)
        meta.drop_all(conn)
        # the audit log's guard (migration 0005) lives outside the tables
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS cooptrack_audit_append_only() CASCADE")


def _refuse_unless_bench(store: Store) -> None:
    with store.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        if not names:
            return
        if "programmes" in names:
            found = conn.execute(text("SELECT code FROM programmes")).scalars().all()
            if all(str(c).startswith(CODE_PREFIX) for c in found):
                return
        raise SystemExit(
            f"refusing to overwrite {make_url(store.url).render_as_string(hide_password=True)}: "
            "it holds tables that are not a benchmark register; point --url at a new "
            "file or an empty database"
        )


def _finish(conn: Connection, dialect: str) -> None:
    if dialect == "postgresql":
        # Explicit ids do not advance the serial sequences: move them past the last id.
        for name in TABLE_ORDER:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
                )
            )
        conn.commit()
        # Fresh planner statistics, as autovacuum would gather soon after a bulk load.
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    else:
        # Fold the write-ahead log into the database file (outside any transaction). No ANALYZE:
        # cooptrack never runs it, so real SQLite registers have no planner statistics either.
        _driver(conn).execute("PRAGMA wal_checkpoint(TRUNCATE)")


def count_rows(store: Store) -> dict[str, int]:
    """Rows in each generated table (an empty dict if the database holds no register)."""
    with store.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        if "programmes" not in names:
            return {}
        return {
            t: int(
                conn.execute(select(func.count()).select_from(Base.metadata.tables[t])).scalar_one()
            )
            for t in TABLE_ORDER
            if t in names
        }


def expected_counts(opts: Options) -> dict[str, int]:
    """The row counts that the options fix exactly (the others vary with the seed)."""
    return {
        "programmes": opts.programmes,
        "programme_parties": 2 * opts.programmes,
        "projects": opts.projects,
        "observations": opts.observations,
    }


def generate(opts: Options) -> Result:
    return Generator(opts).run()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)"
    )
    parser.add_argument(
        "--programmes",
        type=int,
        default=DEFAULT_PROGRAMMES,
        help="programmes, two parties each (default: %(default)s)",
    )
    parser.add_argument(
        "--projects",
        type=int,
        default=DEFAULT_PROJECTS,
        help="projects, spread evenly over the programmes (default: %(default)s)",
    )
    parser.add_argument(
        "--observations",
        type=int,
        default=DEFAULT_OBSERVATIONS,
        help="indicator observations (default: %(default)s)",
    )


def summary(result: Result) -> str:
    lines = [f"generated into {make_url(result.url).render_as_string(hide_password=True)}"]
    lines += [f"  {name:<28} {result.counts.get(name, 0):>10,}" for name in TABLE_ORDER]
    lines.append(f"  {'total':<28} {result.rows:>10,}")
    lines.append(
        f"{result.rows:,} rows in {result.seconds:.1f} s: {result.rows_per_second:,.0f} rows/s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a large synthetic cooptrack register.")
    parser.add_argument("--url", default=DEFAULT_URL, help="database URL (default: %(default)s)")
    add_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    opts = Options(
        url=args.url,
        seed=args.seed,
        programmes=args.programmes,
        projects=args.projects,
        observations=args.observations,
        quiet=args.quiet,
    )
    print(summary(generate(opts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
