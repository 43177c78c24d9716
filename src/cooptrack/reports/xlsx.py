"""The Excel report: sheets overview, projects, observations, targets, timeline and sources.
Exact figures stay numbers (Decimal cells), dates stay dates, and any text a spreadsheet would
run as a formula is escaped (the same rule as the tabular export)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cooptrack.formats.tabular import escape_formula
from cooptrack.reports.data import ReportData
from cooptrack.reports.html import reported_for
from cooptrack.reports.labels import Labels

SHEETS = ("overview", "projects", "observations", "targets", "timeline", "sources")
EXACT_DIGITS = 15  # a spreadsheet number holds 15 significant digits; longer figures stay text, exactly
BOLD = Font(bold=True)


def number(value: Any) -> Decimal | None:
    """A figure from the dashboard (exact decimal text) back to a Decimal."""
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def day(value: Any) -> date | str | None:
    """An ISO day becomes a date cell; a period (2019, 2019-H1) stays as written."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _cell(sheet: WriteOnlyWorksheet, value: Any, bold: bool = False) -> WriteOnlyCell:
    if isinstance(value, Decimal):
        digits = value.normalize().as_tuple().digits
        if len(digits) > EXACT_DIGITS:
            value = format(value, "f")  # a float would round it: kept exact as text
    if isinstance(value, bool):
        value = "yes" if value else "no"
    if isinstance(value, str):
        value = escape_formula(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, Decimal | int) and not isinstance(value, bool):
        cell.number_format = "#,##0.############"
    if bold:
        cell.font = BOLD
    return cell


class _Sheet:
    def __init__(self, book: Workbook, title: str, widths: Sequence[int]) -> None:
        self.sheet: WriteOnlyWorksheet = book.create_sheet(title)
        for i, width in enumerate(widths):
            self.sheet.column_dimensions[get_column_letter(i + 1)].width = width

    def row(self, *values: Any, bold: bool = False) -> None:
        self.sheet.append([_cell(self.sheet, v, bold) for v in values])

    def table(self, header: Sequence[str], rows: Iterable[Sequence[Any]], no_data: str) -> None:
        self.row(*header, bold=True)
        empty = True
        for r in rows:
            self.row(*r)
            empty = False
        if empty:
            self.row(no_data)


def write_xlsx(data: ReportData, lang: str, path: Path) -> None:
    t = Labels(lang)
    book = Workbook(write_only=True)
    _overview(_Sheet(book, "overview", (34, 22, 24, 22, 24, 30)), data, t)
    _projects(_Sheet(book, "projects", (24, 40, 28, 16, 12, 16, 8, 14, 12, 16, 10, 12, 12, 20)), data, t)
    _observations(_Sheet(book, "observations", (18, 10, 10, 10, 12, 18, 12, 24, 30, 40)), data, t)
    _targets(_Sheet(book, "targets", (24, 10, 10, 10, 12, 18, 16, 12, 12, 16, 12, 12, 12, 14, 50, 30)), data, t)
    _timeline(_Sheet(book, "timeline", (12, 12, 24, 40, 16, 8, 30)), data, t)
    _sources(_Sheet(book, "sources", (6, 24, 50, 24, 12, 10, 10, 8, 60)), data, t)
    book.save(path)


def _source(data: ReportData, ref: dict[str, Any] | None) -> str | None:
    n = data.cite(ref)
    return f"[{n}] {ref['id']}" if n and ref else None


def _overview(s: _Sheet, data: ReportData, t: Labels) -> None:
    d = data.dashboard
    p = d["programme"]
    s.row(p["name"], bold=True)
    s.row(t("code"), p["code"])
    s.row(t("parties"), ", ".join(f"{x['name']} ({x['code']})" for x in p["parties"]))
    s.row(t("signed"), p["signed"], p["signed_occasion"])
    s.row(t("period"), p["period_start"], p["period_end"])
    s.row(t("as_of"), data.as_of if data.as_of else t("as_of_now"))
    s.row(t("generated"), data.generated.replace(tzinfo=None), t("utc"))
    s.row(t("source"), _source(data, p.get("source")))
    s.row()

    s.row(t("headline"), bold=True)
    rows: list[tuple[Any, ...]] = []
    for r in d["headline"]["rows"]:
        group = reported_for(d, r["key"]) or {}
        amount = (r["reported"] or {}).get("amount")
        count = (r["reported"] or {}).get("count")
        figure = amount or (group.get("count") if count is not None else None)
        rows.append((t(f"row_{r['key']}"), r["count"], number(r["usd"]), number(count),
                     number(amount["value"]) if amount else None, amount["unit"] if amount else None,
                     _source(data, figure.get("source")) if figure else None))
    s.table((t("row"), t("register_projects"), t("register_usd"), t("reported_projects"), t("reported_value"),
             t("currency"), t("source")), rows, t("no_data"))
    s.row()

    s.row(t("reported_figures"), bold=True)
    rows = []
    for r in d["reported"]:
        c, a = r.get("count"), r.get("amount")
        rows.append((t.subject(r["subject"]) + (f", {t.status(r['status'])}" if r["status"] else ""),
                     number(c["value"]) if c else None, number(a["value"]) if a else None, a["unit"] if a else None,
                     r["registered"]["count"], _source(data, (c or a or {}).get("source"))))
    s.table((t("subject"), t("count"), t("value"), t("currency"), t("register"), t("source")), rows, t("no_data"))
    s.row()

    s.row(t("by_status"), bold=True)
    s.table((t("status"), t("projects"), t("value_usd"), t("without_rate")),
            [(t.status(b["key"]), b["count"], number(b["usd"]), b["usd_missing"]) for b in d["by_status"]],
            t("no_data"))
    s.row()
    s.row(t("by_industry"), bold=True)
    s.table((t("industry"), t("projects"), t("value_usd"), t("without_rate")),
            [(t.industry(b["key"]), b["count"], number(b["usd"]), b["usd_missing"]) for b in d["by_industry"]],
            t("no_data"))
    s.row()
    s.row(t("trade"), bold=True)
    s.table((t("flow"), t("reporter"), t("partner"), t("unit"), t("section"), t("period"), t("value")),
            [(t(b["flow"]), b["reporter"], b["partner"], b["unit"], f"{sec['section']} {sec['name']}", period,
              number(v))
             for b in d["trade_sections"] for sec in b["sections"] for period, v in zip(b["periods"], sec["values"],
                                                                                       strict=True)
             if v is not None],
            t("no_data"))
    s.row()
    s.row(t("rates_used"), bold=True)
    s.table((t("currency"), t("period"), t("per_usd"), t("source")),
            [(r["currency"], r["period"], number(r["per_usd"]), r["source"]) for r in d["rates_used"]], t("no_data"))


def _projects(s: _Sheet, data: ReportData, t: Labels) -> None:
    header = (t("code"), t("title"), t("industry"), t("status"), t("status_since"), t("value"), t("currency"),
              t("value_date"), t("value_usd"), t("rate"), t("period"), t("host_country"), t("partner_country"),
              t("sectors"))
    rows = []
    for p in data.projects:
        v, rate = p["value"], p["rate"]
        rows.append((p["code"], p["title"], p["industry"], t.status(p["status"]), p["status_since"],
                     number(v["amount"]) if v else None, v["currency"] if v else None,
                     day(v["value_date"]) if v else None, number(p["usd"]),
                     number(rate["per_usd"]) if rate and rate["source"] != "identity" else None,
                     rate["period"] if rate and rate["source"] != "identity" else None,
                     p["host_country"], p["partner_country"], ", ".join(p["sectors"])))
    s.table(header, rows, t("no_data"))


def _observations(s: _Sheet, data: ReportData, t: Labels) -> None:
    header = (t("indicator"), t("reporter"), t("partner"), t("hs_code"), t("period"), t("value"), t("unit"),
              t("flags"), t("source"), t("note"))
    s.table(header, [(o["indicator"], o["reporter"], o["partner"], o["hs_code"], o["period"], number(o["value"]),
                      o["unit"], t.flags(o["flags"]), _source(data, o["source"]), o["note"])
                     for o in data.observations], t("no_data"))


def _targets(s: _Sheet, data: ReportData, t: Labels) -> None:
    header = (t("indicator"), t("reporter"), t("partner"), t("hs_code"), t("period"), t("deadline"), t("baseline"),
              f"{t('baseline')}: {t('period')}", t("target"), t("unit"), t("latest"), f"{t('latest')}: {t('period')}",
              f"{t('achieved')}, %", f"{t('expected')}, %", t("on_track"), t("source"))
    rows = []
    for g in data.dashboard["targets"]:
        b, latest = g["baseline"], g["latest"]
        rows.append((g["name"], g["reporter"], g["partner"], g["hs_code"], g["period"], day(g["deadline"]),
                     number(b["value"]) if b else None, b["period"] if b else None, number(g["target_value"]),
                     g["unit"], number(latest["value"]) if latest else None, latest["period"] if latest else None,
                     number(g["percent_achieved"]), number(g["expected_percent"]), t.state(g["state"]),
                     _source(data, g["source"])))
    s.table(header, rows, t("no_data"))


def _timeline(s: _Sheet, data: ReportData, t: Labels) -> None:
    header = (t("date"), t("period"), t("project"), t("title"), t("status"), t("reopened"), t("source"))
    s.table(header, [(day(e["start"]), e["effective"], e["project"], e["title"], t.status(e["status"]),
                      t("yes") if e["reopen"] else None, _source(data, e["source"]))
                     for e in data.dashboard["timeline"]], t("no_data"))


def _sources(s: _Sheet, data: ReportData, t: Labels) -> None:
    header = ("#", t("code"), t("title"), t("publisher"), t("published"), t("kind"), t("language"), t("claims"),
              t("address"))
    s.table(header, [(x["n"], x["id"], x["title"], x["publisher"], x["published"], x["kind"], x["language"],
                      x["claims"], x["url"]) for x in data.sources], t("no_data"))
