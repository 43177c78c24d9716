"""The project list (search_projects) on both databases, against an oracle computed in Python:
filters by programme, status, sector (5-digit, or 3-digit category as a prefix), country (host
or partner) and text, every sort, every page. On PostgreSQL a list filtered by a sector or a
country without a programme is read with other statements (the sector's project ids as
``= ANY(array(...))``, the code sort as ``code || ''``, a sector-only count from project_sectors
alone); they must list exactly what the plain statements list."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import selectinload

from cooptrack.services.browse import ProjectQuery, search_projects
from cooptrack.services.programmes import IndustrySpec, ProgrammeSpec, register_programme
from cooptrack.services.projects import ProjectSpec, StatusSpec, add_status_event, register_project
from cooptrack.services.rates import RateSpec, add_rate
from cooptrack.store import Store
from cooptrack.store.models import Project

PAGE = 7
CENT = Decimal("0.01")
# US dollars per unit, by currency and year (a value dated in another year, or in JPY, or
# without a date in a currency other than USD, has no USD value).
RATES = {("KZT", 2019): Decimal("382.75"), ("KZT", 2020): Decimal("412.95"), ("KRW", 2019): Decimal("1165.36")}

PROGRAMMES = [
    ProgrammeSpec(code="kk", name="Kazakhstan-Korea", parties=["KAZ", "KOR"],
                  industries=[IndustrySpec("Transport", ["21020", "21030", "21040"]),
                              IndustrySpec("Energy", ["23210", "23220"])]),
    ProgrammeSpec(code="uk", name="Uzbekistan-Korea", parties=["UZB", "KOR"],
                  industries=[IndustrySpec("Energy", ["23210", "23220", "23230", "23231"]),
                              IndustrySpec("Agriculture", ["31120"])]),
    ProgrammeSpec(code="tc", name="Tajikistan-China", parties=["TJK", "CHN"],
                  industries=[IndustrySpec("Industry", ["32130"]), IndustrySpec("Agriculture", ["31120", "31130"])]),
]
# Each programme's projects: how many, their codes' prefix (the last programme's codes sort last,
# and its sector 32130 is held by no other project), the sector sets they draw from.
PLAN = {
    "kk": (70, "ka", [{}, {"21020": "100"}, {"21030": "100"}, {"21020": "60", "21030": "40"},
                      {"23210": "100"}, {"23210": "50", "23220": "50"},
                      {"21020": "40", "21030": "30", "21040": "30"}, {"21040": "50", "23220": "50"}]),
    "uk": (70, "mu", [{}, {"23210": "100"}, {"23230": "100"}, {"23210": "50", "23230": "50"},
                      {"23220": "30", "23230": "30", "23231": "40"}, {"31120": "100"}]),
    "tc": (60, "zt", [{"32130": "100"}, {"32130": "100"}, {"32130": "50", "31120": "50"},
                      {"31120": "50", "31130": "50"}, {}]),
    None: (8, "fr", [{}, {"14020": "100"}, {"21020": "100"}]),
}
COUNTRIES = ["KAZ", "KOR", "UZB", "TJK", "CHN", None]
# Titles that tie (ordered by code then): one capitalised word each, sorted alike by any collation.
TITLES = ["Bridge", "Canal", "Dam", "Dams", "Depot", "Grid", "Mill", "Road"]
# Status histories: each a list of (status, effective), in order; a few start on the same day
# written differently ("2020" and "2020-01" both start 2020-01-01).
HISTORIES: list[list[tuple[str, str]]] = [
    [], [], [("pipeline", "2019")], [("pipeline", "2019-01")], [("pipeline", "2019"), ("agreed", "2019-06")],
    [("agreed", "2020")], [("agreed", "2019-06"), ("in_execution", "2020-01")], [("in_execution", "2020-03")],
    [("in_execution", "2020"), ("implemented", "2021")], [("in_execution", "2019-06-15"), ("suspended", "2020-03")],
    [("cancelled", "2021")], [("pipeline", "2019-06"), ("closed", "2021-06")],
]
# Values: (amount, currency, value date); several land on exactly USD 1,000,000.
VALUES: list[tuple[str, str, str | None] | None] = [
    None, None, ("1000000", "USD", None), ("1000000", "USD", "2020-02-01"), ("382750000", "KZT", "2019-05-01"),
    ("412950000", "KZT", "2020-07-01"), ("1165360000", "KRW", "2019-09-30"), ("2500000", "USD", "2019-01-01"),
    ("750000000", "KZT", "2019-11-11"), ("90000000", "KZT", "2020-12-31"), ("5000000000", "KRW", "2019-03-03"),
    ("100000000", "KZT", "2021-01-01"), ("5000000", "JPY", "2019-04-04"), ("800000000", "KRW", None),
    ("300000.5", "USD", "2021-05-05"),
]


@dataclass(frozen=True)
class Known:
    """A project as the oracle knows it, read back through the ORM."""

    code: str
    title: str
    programme: str | None
    sectors: tuple[str, ...]
    host: str | None
    partner: str | None
    status: str | None
    status_start: date | None
    usd: Decimal | None


def letters(n: int, width: int = 3) -> str:
    out = ""
    for _ in range(width):
        n, r = divmod(n, 26)
        out = chr(ord("a") + r) + out
    return out


def build_register(write: Callable[..., Any]) -> dict[str, tuple[str | None, list[tuple[str, str]]]]:
    """The register: programmes, rates and the projects of PLAN, drawn from a fixed seed. Returns
    each project's intended programme and status history (checked against what is read back)."""
    rng = random.Random(20240611)
    intended: dict[str, tuple[str | None, list[tuple[str, str]]]] = {}
    with write() as ctx:
        for spec in PROGRAMMES:
            register_programme(ctx, spec)
        for (currency, year), per_usd in RATES.items():
            add_rate(ctx, RateSpec(currency, str(year), per_usd, "test rates"))
        for programme, (count, prefix, sector_sets) in PLAN.items():
            suffixes = rng.sample(range(26 ** 3), count)  # codes not in the order of registration
            for i, suffix in enumerate(suffixes):
                code = prefix + letters(suffix)
                host, partner = rng.choice(COUNTRIES), rng.choice(COUNTRIES)
                if i % 9 == 0:
                    host, partner = None, None
                if host is not None and host == partner:
                    partner = None
                value = rng.choice(VALUES)
                history = rng.choice(HISTORIES)
                register_project(ctx, ProjectSpec(
                    code=code, title=rng.choice(TITLES), programme=programme, host_country=host,
                    partner_country=partner, value=value[0] if value else None,
                    currency=value[1] if value else None, value_date=value[2] if value else None,
                    sectors=dict(rng.choice(sector_sets))))
                for status, effective in history:
                    add_status_event(ctx, StatusSpec(code, status, effective))
                intended[code] = (programme, history)
    return intended


def oracle_usd(amount: Decimal | None, currency: str | None, value_date: date | None) -> Decimal | None:
    if amount is None or currency is None:
        return None
    if currency == "USD":
        return amount
    per_usd = RATES.get((currency, value_date.year)) if value_date else None
    return (amount / per_usd).quantize(CENT, rounding=ROUND_HALF_EVEN) if per_usd else None


def read_known(read: Callable[..., Any]) -> list[Known]:
    with read() as ctx:
        projects = ctx.session.scalars(select(Project).options(
            selectinload(Project.sectors), selectinload(Project.programme))).all()
        return [Known(p.code, p.title, p.programme.code if p.programme else None,
                      tuple(sorted(s.dac_code for s in p.sectors)), p.host_country, p.partner_country,
                      p.status, p.status_start, oracle_usd(p.value_amount, p.value_currency, p.value_date))
                for p in projects]


def matches(p: Known, q: ProjectQuery) -> bool:
    if q.programme and p.programme != q.programme:
        return False
    if q.status:
        given = {part.strip() for s in q.status for part in s.split(",")}  # "a,b" names two
        if not (p.status in given - {"unrecorded"} or ("unrecorded" in given and p.status is None)):
            return False
    if q.sector:
        if len(q.sector) == 5 and q.sector not in p.sectors:
            return False
        if len(q.sector) == 3 and not any(s.startswith(q.sector) for s in p.sectors):
            return False
    if q.country and q.country not in (p.host, p.partner):
        return False
    if q.text and not any(q.text.lower() in field.lower() for field in (p.code, p.title)):
        return False
    if q.value_min is not None and (p.usd is None or p.usd < Decimal(q.value_min)):
        return False
    return not (q.value_max is not None and (p.usd is None or p.usd > Decimal(q.value_max)))


def oracle(known: list[Known], q: ProjectQuery, dialect: str) -> list[str]:
    """The codes of every match, in the list's order: by the sort's value then the code, in the
    direction asked, the projects without that value (no USD value, no status, no status date,
    no programme) last either way, by code, on both databases alike."""
    found = [p for p in known if matches(p, q)]
    if q.sort in ("code", "title"):
        key: Callable[[Known], Any] = (lambda p: p.code) if q.sort == "code" else (lambda p: (p.title, p.code))
        return [p.code for p in sorted(found, key=key, reverse=q.descending)]
    value: Callable[[Known], Any] = {"value": lambda p: p.usd, "status": lambda p: p.status,
                                     "status_date": lambda p: p.status_start,
                                     "programme": lambda p: p.programme}[q.sort]
    valued = sorted((p for p in found if value(p) is not None), key=lambda p: (value(p), p.code), reverse=q.descending)
    blank = sorted((p for p in found if value(p) is None), key=lambda p: p.code, reverse=q.descending)
    return [p.code for p in valued + blank]


FILTERS: list[dict[str, Any]] = [
    {},
    # a sector alone (the last programme's own sector; one spread over two programmes; one absent)
    {"sector": "32130"}, {"sector": "23210"}, {"sector": "21040"}, {"sector": "31130"}, {"sector": "14020"},
    {"sector": "43010"},
    # a category alone (projects holding two or three sectors of it)
    {"sector": "210"}, {"sector": "232"}, {"sector": "311"}, {"sector": "111"},
    # a country alone, host or partner
    {"country": "KOR"}, {"country": "KAZ"}, {"country": "CHN"}, {"country": "Uzbekistan"},
    # country and status
    {"country": "KOR", "status": ["in_execution"]}, {"country": "KAZ", "status": ["unrecorded"]},
    {"country": "TJK", "status": ["pipeline,agreed", "unrecorded"]},
    # sector (or category) and status
    {"sector": "23210", "status": ["in_execution", "implemented"]}, {"sector": "232", "status": ["unrecorded"]},
    {"sector": "32130", "status": ["agreed", "cancelled", "unrecorded"]},
    # sector and country
    {"sector": "21020", "country": "KOR"}, {"sector": "232", "country": "UZB"}, {"sector": "32130", "country": "CHN"},
    # with a text too
    {"country": "KOR", "text": "dam"}, {"sector": "232", "text": "Grid"},
    # a programme with a sector or a country (the statements of before, on both databases)
    {"programme": "kk", "sector": "21020"}, {"programme": "kk", "sector": "210"},
    {"programme": "tc", "sector": "32130"},
    {"programme": "uk", "country": "KOR"}, {"programme": "uk", "sector": "232", "status": ["unrecorded"]},
    {"programme": "tc"},
]
# USD bounds (the matches read whole and filtered in Python)
BOUNDED: list[dict[str, Any]] = [
    {"value_min": "1000000"}, {"sector": "232", "value_min": "1000000"}, {"country": "KOR", "value_max": "1000000"},
    {"programme": "kk", "value_min": "500000", "value_max": "2500000"},
]
SORTS = [("code", False), ("code", True), ("title", False), ("title", True), ("status_date", False),
         ("status_date", True), ("value", False), ("value", True), ("status", False), ("programme", True)]
COUNTRY_CODES = {"Uzbekistan": "UZB"}


def checked_register(write: Callable[..., Any], read: Callable[..., Any], prepare: Any) -> list[Known]:
    """The register of build_register (built once per backend, copied for each test), read back,
    after checking that it holds what was meant and that the tricky cases occur."""
    intended = prepare("project list register", lambda: build_register(write))
    known = read_known(read)
    assert len(known) == sum(n for n, _, _ in PLAN.values()) == len(intended)
    for p in known:  # the register holds what was meant: statuses from the latest event
        programme, history = intended[p.code]
        assert p.programme == programme
        assert p.status == (history[-1][0] if history else None)
    assert any(sum(s.startswith("232") for s in p.sectors) >= 2 for p in known)
    assert any(sum(s.startswith("210") for s in p.sectors) == 3 for p in known)
    assert {p.programme for p in known if "32130" in p.sectors} == {"tc"}
    assert any(not p.sectors for p in known)
    assert any(p.host == "KOR" for p in known) and any(p.partner == "KOR" for p in known)
    assert any(p.host is None and p.partner is None for p in known)
    assert any(p.status is None for p in known) and len({p.status for p in known}) >= 7
    assert sum(p.usd == Decimal(1000000) for p in known) >= 4 and any(p.usd is None for p in known)
    assert len({p.title for p in known}) < len(known) / 10
    assert len({p.status_start for p in known}) < len(known) / 10
    return known


def compare(read: Callable[..., Any], known: list[Known], dialect: str, filters_list: list[dict[str, Any]]
            ) -> tuple[int, list[str]]:
    """Every page (and one past the end) of every filter in ``filters_list`` under every sort of
    SORTS, against the oracle: the number of pages compared and each mismatch described."""
    checked, mismatches = 0, []
    by_code = {p.code: p for p in known}
    with read() as ctx:
        for filters in filters_list:
            country = filters.get("country")
            oracle_filters = {**filters, "country": COUNTRY_CODES.get(country, country)} if country else filters
            for sort, descending in SORTS:
                expected = oracle(known, ProjectQuery(**oracle_filters, sort=sort, descending=descending), dialect)
                pages = max(1, -(-len(expected) // PAGE))
                for page in range(1, pages + 2):  # every page, and one past the end
                    result = search_projects(ctx, ProjectQuery(**filters, sort=sort, descending=descending,
                                                               page=page, page_size=PAGE))
                    codes = [item["code"] for item in result.items]
                    want = expected[(page - 1) * PAGE: page * PAGE]
                    if (result.total, codes) != (len(expected), want):
                        mismatches.append(f"{dialect} {filters} sort={sort} descending={descending} page={page}: "
                                          f"expected total {len(expected)} {want}, got {result.total} {codes}")
                    checked += 1
            # the rows themselves, once per filter
            whole = search_projects(ctx, ProjectQuery(**filters, page_size=500))
            got = [(i["code"], tuple(i["sectors"]), i["host_country"], i["partner_country"],
                    None if i["status"] == "unrecorded" else i["status"], i["usd"]) for i in whole.items]
            want_rows = [(c, by_code[c].sectors, by_code[c].host, by_code[c].partner, by_code[c].status,
                          by_code[c].usd) for c in oracle(known, ProjectQuery(**oracle_filters), dialect)]
            if got != want_rows:
                mismatches.append(f"{dialect} {filters} rows: expected {want_rows}, got {got}")
    return checked, mismatches


def test_search_projects_lists_what_the_oracle_lists(write, read, store, prepare):
    known = checked_register(write, read, prepare)
    checked, mismatches = compare(read, known, store.dialect, FILTERS)
    assert checked > 1000
    assert not mismatches, f"{len(mismatches)} mismatches, the first: " + "\n".join(mismatches[:5])


def test_usd_bounds_keep_the_sort_asked_for(write, read, store, prepare):
    """A list bounded by a USD value is read whole and filtered in Python: still in the order
    asked for."""
    known = checked_register(write, read, prepare)
    checked, mismatches = compare(read, known, store.dialect, BOUNDED)
    assert checked > 100
    assert not mismatches, f"{len(mismatches)} mismatches, the first: " + "\n".join(mismatches[:5])


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL sent while the block runs."""
    sent: list[str] = []

    def note(conn: Any, cursor: Any, sql: str, *rest: Any) -> None:
        sent.append(sql)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def list_statements(store: Store, read: Callable[..., Any], query: ProjectQuery) -> tuple[str, str]:
    """The count and the page statements of one list."""
    with read() as ctx, statements(store) as sent:
        result = search_projects(ctx, query)
    assert result.items
    counts = [s for s in sent if re.search(r"SELECT count\(", s) and "exchange_rates" not in s]
    pages = [s for s in sent if re.search(r"\bLIMIT\b", s) and ("string_agg" in s or "group_concat" in s)]
    assert len(counts) == 1 and len(pages) == 1, sent
    return counts[0], pages[0]


def order_by(sql: str) -> str:
    return sql.rsplit("ORDER BY", 1)[1].split("LIMIT")[0].strip()


def small_register(write: Callable[..., Any]) -> None:
    with write() as ctx:
        register_programme(ctx, PROGRAMMES[0])
        for code, sectors, host, partner in [
                ("both", {"23210": "50", "23220": "50"}, "KAZ", "KOR"),
                ("three", {"23210": "30", "23220": "30", "21020": "40"}, "KOR", None),
                ("one", {"23220": "100"}, None, "KOR"),
                ("other", {"21020": "100"}, "KAZ", None),
                ("none", {}, None, None)]:
            register_project(ctx, ProjectSpec(code=code, title=code.title(), programme="kk", host_country=host,
                                              partner_country=partner, sectors=sectors))


def test_each_database_lists_with_its_own_statements(write, read, store):
    small_register(write)
    if store.dialect == "postgresql":
        postgresql_statements(read, store)
    else:
        sqlite_statements(read, store)


def postgresql_statements(read: Callable[..., Any], store: Store) -> None:
    """Without a programme: a sector's projects as = ANY(array(...)), counted from project_sectors
    alone when the sector is the only filter; the code sort as code || ''. With one: as before."""
    for sector, counted in (("23220", "count(project_sectors.project_id)"),
                            ("232", "count(DISTINCT project_sectors.project_id)")):
        count, page = list_statements(store, read, ProjectQuery(sector=sector))
        assert not re.search(r"\bprojects\b", count), count  # the sector's index alone
        assert counted in count and "project_sectors" in count, count
        assert "ANY" in page and "array(" in page and "EXISTS" not in page, page
        assert order_by(page) == "projects.code || '' ASC", page
    # a sector with a status: counted from projects, matched the same way
    count, page = list_statements(store, read, ProjectQuery(sector="232", status=["unrecorded"], descending=True))
    assert re.search(r"\bprojects\b", count) and "ANY" in count and "array(" in count, count
    assert order_by(page) == "projects.code || '' DESC", page
    # a country sorted by code, or by title (the code its tie-break)
    count, page = list_statements(store, read, ProjectQuery(country="KOR"))
    assert order_by(page) == "projects.code || '' ASC", page
    count, page = list_statements(store, read, ProjectQuery(country="KOR", sort="title", descending=True))
    assert order_by(page) == "projects.title DESC, projects.code || '' DESC", page
    # a programme's list keeps the code index's order and EXISTS for its sector
    count, page = list_statements(store, read, ProjectQuery(programme="kk"))
    assert order_by(page) == "projects.code ASC", page
    count, page = list_statements(store, read, ProjectQuery(programme="kk", sector="232"))
    assert order_by(page) == "projects.code ASC" and "||" not in page, page
    assert "EXISTS" in page and "EXISTS" in count and "ANY" not in page, (count, page)
    # the value sort reads the matches with the same condition
    with read() as ctx, statements(store) as sent:
        search_projects(ctx, ProjectQuery(sector="23210", sort="value"))
    assert any("ANY" in s and "array(" in s and "project_sectors" in s for s in sent), sent


def sqlite_statements(read: Callable[..., Any], store: Store) -> None:
    """SQLite keeps EXISTS for a sector and the plain code order (a sector alone is counted from
    project_sectors, as on PostgreSQL)."""
    for query in (ProjectQuery(sector="23220"), ProjectQuery(sector="232"), ProjectQuery(country="KOR"),
                  ProjectQuery(sector="232", status=["unrecorded"])):
        count, page = list_statements(store, read, query)
        if query.sector:
            assert "EXISTS" in page, page
        if query.status or query.country:  # counted from projects (a sector alone: from project_sectors)
            assert re.search(r"\bprojects\b", count) and "ANY" not in count, count
        if query.sector and query.status:
            assert "EXISTS" in count, count
        assert "ANY" not in page and "array(" not in page and "||" not in page, page
        assert order_by(page) == "projects.code ASC", page


def test_a_category_counts_each_project_once(write, read):
    """A project holding two or three sectors of a category is counted and listed once."""
    small_register(write)
    with read() as ctx:
        for query, codes in ((ProjectQuery(sector="232"), ["both", "one", "three"]),
                             (ProjectQuery(sector="232", descending=True), ["three", "one", "both"]),
                             (ProjectQuery(sector="232", sort="value"), ["both", "one", "three"]),
                             (ProjectQuery(sector="232", sort="title"), ["both", "one", "three"]),
                             (ProjectQuery(sector="232", page_size=2), ["both", "one"]),
                             (ProjectQuery(sector="232", page_size=2, page=2), ["three"]),
                             (ProjectQuery(sector="232", page_size=2, page=3), []),
                             (ProjectQuery(sector="23210"), ["both", "three"]),
                             (ProjectQuery(sector="210"), ["other", "three"]),
                             (ProjectQuery(sector="232", country="KOR"), ["both", "one", "three"]),
                             (ProjectQuery(sector="232", status=["unrecorded"]), ["both", "one", "three"])):
            result = search_projects(ctx, query)
            assert [i["code"] for i in result.items] == codes, query
            assert result.total == len({"232": ["both", "one", "three"], "23210": ["both", "three"],
                                        "210": ["other", "three"]}[query.sector or ""]), query
