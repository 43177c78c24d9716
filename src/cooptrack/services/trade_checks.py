"""The rules of a UN Comtrade import, applied to a file's rows: which rows become observations
(and in what form they bind to the columns), which are left out with a warning, which are errors.
No database here: the service (``services.trade``) gives the indicator ids and the column types'
binding, and writes what comes out, in its own process or while a second process reads the file
(``services.trade_pipeline``); both give the same findings and rows, as both run this code.

Speed (``bench/trade/``): the file is read in chunks of rows and checked field by field with
``map``, ``zip`` and dict lookups that run in C; every check runs once per distinct code, not once
per row (cached). Rows come out in the form the column types bind: figures that already are
``Amount``'s text on SQLite go straight through, others through the binding given (``Amount``'s
own bind processor), dates through the Date type's once per period.
"""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import compress, product, repeat
from itertools import count as counting
from operator import eq, is_, itemgetter, not_
from typing import Any

from cooptrack import codes
from cooptrack.decimals import too_large, too_large_message
from cooptrack.domain.period import Period
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding, Report, Severity
from cooptrack.formats import comtrade

KEPT = 10_000  # findings kept in memory at most; the rest are only counted
COLUMNS = ("indicator_id", "reporter", "partner", "hs_code", "period", "period_start", "period_end", "value",
           "cif_value", "fob_value", "quantity", "quantity_unit", "net_weight_kg", "flags", "note")
Write = Callable[[list[tuple[Any, ...]]], Any]
BAD = object()  # an amount that is not one; the slow path says why
# Amount's text on SQLite, with at most 22 digits before the point (decimals.INTEGER_DIGITS)
_PLAIN_TEXT = r"(?=[0-9.]{1,27}%s)(?:0|[1-9][0-9]{0,21})(?:\.[0-9]*[1-9])?"
_PLAIN = re.compile(_PLAIN_TEXT % "$")
_PLAIN_LINES = re.compile(r"(?:(?:" + _PLAIN_TEXT % r"\n" + r")?\n)*")  # a column: each empty or plain, then \n
_NEVER = re.compile(r"(?!)")


TOTALS = set(product(*comtrade.TOTALS.values()))
# The fields each cached check reads, and the key of its cache.
KEYS = {"who": ("reporter", "partner", "flow"), "what": ("freq", "period", "year", "month", "classification", "cmd"),
        "how": ("unit_code", "unit", "qty_estimated", "weight_estimated", "estimation"),
        "totals": ("partner2", "transport", "customs")}
_FALSE = repeat("false")


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem found once for a distinct value and reported for every row that has it."""

    code: str
    message: str
    field: str
    value: str
    severity: Severity = "error"  # a warning leaves the row out, the file still imports


@dataclass
class Outcome:
    """What a pass over a file found: the counts, the findings kept, and the figures it kept."""

    rows: int
    skipped: int
    refused: int
    error_count: int
    warning_count: int
    findings: dict[str, list[Finding]]
    created: int  # figures kept: the observations written when there is no error
    by_indicator: dict[int, int]  # figures kept by indicator id (counted only when there is no error)

    def report(self, limit: int) -> Report:
        report = Report(limit=limit)
        report.extend(self.findings["error"])  # errors first, so a limit never hides them
        report.extend(self.findings["warning"])
        report.truncated = report.truncated or self.error_count + self.warning_count > len(report.findings)
        return report

class Checker:
    """One pass over a file's rows: every check once per distinct key (cached), rows handed to
    ``write`` in chunks; after the first error nothing more is handed on (nothing is written)
    but the rest is still checked, so the report is complete.

    ``indicators``: the indicator ids by flow code. ``bind_amount`` turns a valid amount (a
    Decimal) into what the value columns bind; ``bind_date`` a period's first or last day into
    what the date columns bind; ``sqlite``: Amount's text on SQLite passes as it is."""

    def __init__(self, opened: comtrade.TradeFile, skip_invalid: bool, indicators: dict[str, int], *, sqlite: bool,
                 bind_amount: Callable[[Decimal], Any], bind_date: Callable[[Any], Any]) -> None:
        self.file, self.skip_invalid = opened, skip_invalid
        legacy = opened.layout is comtrade.LEGACY_CSV
        self.columns = comtrade.LEGACY_COLUMNS if legacy else comtrade.COMTRADEPLUS_COLUMNS
        self.indicators = indicators
        self.names = {v: k for k, v in self.indicators.items()}
        self.bind_amount, self.bind_date, self.sqlite = bind_amount, bind_date, sqlite
        self.rows = self.skipped = self.refused = self.error_count = self.warning_count = 0
        self.findings: dict[str, list[Finding]] = {"error": [], "warning": []}
        self.seen: dict[tuple[Any, ...], int] = {}  # figure -> its line: duplicates are errors
        self.old_hs: dict[str, list[int]] = {}  # code not in HS 2022 -> [first line, rows]
        self.deferred: list[tuple[int, tuple[Any, ...], tuple[Any, ...], str, str | None]] = []  # DX, FM rows
        self.deferred_lines: set[int] = set()
        self.who_of: dict[tuple[str, ...], Any] = {}
        self.what_of: dict[tuple[str, ...], Any] = {}
        self.how_of: dict[tuple[str, ...], Any] = {}
        self.notes: dict[tuple[Any, ...], Any] = {}
        self.failing: set[int] = set()  # caches holding a list of issues for some key
        self.present = [f for f, p in opened.positions.items() if p is not None]
        self.picker = itemgetter(*(opened.positions[f] for f in self.present))
        self.write: Write | None = None

    # --- findings -------------------------------------------------------------------------

    def finding(self, line: int, issue: Issue) -> None:
        severity, message = issue.severity, issue.message
        if severity == "error" and self.skip_invalid:
            severity, message = "warning", f"{message} (row left out: --skip-invalid)"
        if severity == "error":
            self.error_count += 1
        else:
            self.warning_count += 1
        kept = self.findings[severity]
        if len(kept) < KEPT:
            kept.append(Finding(issue.code, message, field=issue.field or None, value=issue.value or None, row=line,
                                source=self.file.name, severity=severity))

    def outcome(self) -> Outcome:
        by_indicator = dict(Counter(map(itemgetter(0), self.seen))) if not self.error_count else {}
        return Outcome(self.rows, self.skipped, self.refused, self.error_count, self.warning_count, self.findings,
                       len(self.seen), by_indicator)

    def issue(self, code: str, key: str, value: str, message: str, severity: Severity = "error") -> Issue:
        return Issue(code, message, self.columns.get(key, key), value, severity)

    # --- the pass ---------------------------------------------------------------------------

    def run(self, write: Write | None, advance: Callable[[int], Any]) -> Outcome:
        """Check every row; hand the rows to keep to ``write`` (None: a dry run) a chunk at a time."""
        self.write = write
        # Chunks of rows are many small containers that all live until their chunk is written,
        # and the figures seen stay for the whole file: the cycle collector would walk them over
        # and over (measured: three times slower). Nothing here makes reference cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._read(advance)
        finally:
            if collecting:
                gc.enable()
        return self.outcome()

    def _read(self, advance: Callable[[int], Any]) -> None:
        for chunk in self.file.chunks:
            self.rows += len(chunk.lines) + len(chunk.findings)
            for finding in chunk.findings:
                self.finding(finding.row or 0, Issue(finding.code, finding.message, finding.field or "",
                                                     finding.value or ""))
                self.refused += 1
            if chunk.lines:
                self.flush(self.chunk(chunk))
            advance(len(chunk.lines))
        rows = []
        for line, key, row, flow, hs_note in self.deferred:  # DX and FM rows, now that all X and M rows are known
            first = self.seen.get(key)
            if first is not None and first in self.deferred_lines:
                self.duplicate(line, first, key)
            elif first is not None:
                self.finding(line, self.issue("part_flow", "flow", flow, f"flow {flow} is a part of the flow on "
                                              f"line {first}, which the file also has; the row is left out",
                                              "warning"))
                self.skipped += 1
            else:
                self.seen[key] = line
                self.deferred_lines.add(line)
                if hs_note is not None:
                    self.old_hs.setdefault(key[3], [line, 0])[1] += 1
                rows.append(row)
        self.flush(rows)
        for code, (line, count) in sorted(self.old_hs.items()):
            self.finding(line, self.issue("hs_not_2022", "cmd", code, f"commodity code {code} is not in HS 2022; "
                                          f"kept as reported on {count:,} row{'s' if count != 1 else ''}, each with "
                                          "a note", "warning"))
        if self.rows == 0:
            self.finding(1, Issue("no_rows", f"{self.file.name} has no data rows; nothing to import", "", "",
                                  "warning"))

    def chunk(self, chunk: comtrade.Chunk) -> list[tuple[Any, ...]]:
        """The rows to insert from a chunk, its problems reported. Field by field rather than row
        by row: each step is a map, zip or dict lookup running in C, and every check runs once
        per distinct key (cached), so Python code runs per row only for rows with problems."""
        rows, lines, n = chunk.rows, chunk.lines, len(chunk.lines)
        # One pass over the rows picks the fields, a transpose in C makes them columns.
        column: dict[str, Sequence[str]] = dict.fromkeys(comtrade.FIELDS, ("",) * n)
        column.update(zip(self.present, zip(*map(self.picker, rows), strict=True), strict=True))
        bad: set[int] = set()

        def keys(name: str) -> list[tuple[str, ...]]:
            return list(zip(*(column[f] for f in KEYS[name]), strict=True))

        who = self.lookup(self.who_of, keys("who"), self.who, bad)
        what = self.lookup(self.what_of, keys("what"), self.what, bad)
        how = self.lookup(self.how_of, keys("how"), self.how, bad)
        unit_of = [h[0] if type(h) is tuple else None for h in how]
        values = self.amounts(column["primary"], bad, required=True)
        # Comtrade repeats the primary value as the CIF value of imports and the FOB value of exports.
        cif = values if column["cif"] == column["primary"] else self.amounts(column["cif"], bad)
        fob = values if column["fob"] == column["primary"] else self.amounts(column["fob"], bad)
        weight = self.amounts(column["net_weight"], bad)
        qty = self.amounts([q if u is not None else "" for q, u in zip(column["qty"], unit_of, strict=True)], bad)
        reported = column["reported"]
        if not all(set(column[f]).issubset(totals) for f, totals in comtrade.TOTALS.items()):
            totals = keys("totals")
            bad.update(i for i, t in enumerate(totals) if t not in TOTALS)
        if bad:
            for i in sorted(bad):
                self.problems(lines[i], rows[i], who[i], what[i], how[i], unit_of[i])
            keep = [i not in bad for i in range(n)]
            lines, who, what, how, values, cif, fob, weight, qty, reported = (
                list(compress(c, keep)) for c in (lines, who, what, how, values, cif, fob, weight, qty, reported))
            if not lines:
                return []
        reporters, partners, indicators, parts = zip(*who, strict=True)
        periods, starts, ends, hs_codes, hs_notes = zip(*what, strict=True)
        units, qty_estimated, weight_estimated = zip(*how, strict=True)
        qty_flags = [e and q is not None for e, q in zip(qty_estimated, qty, strict=True)]
        weight_flags = [e and w is not None for e, w in zip(weight_estimated, weight, strict=True)]
        notes = self.lookup(self.notes, list(zip(hs_notes, qty_flags, weight_flags, map(eq, reported, _FALSE),
                                                 parts, strict=False)), _note, bad)
        out = list(zip(indicators, reporters, partners, hs_codes, periods, starts, ends, values, cif, fob, qty,
                       [u if q is not None else None for u, q in zip(units, qty, strict=True)], weight,
                       ["estimated" if a or b else "" for a, b in zip(qty_flags, weight_flags, strict=True)], notes,
                       strict=True))
        figures = list(zip(indicators, reporters, partners, hs_codes, periods, strict=True))
        if any(parts) or any(hs_notes):
            return self.sort_out(out, figures, lines, parts, hs_notes)
        seen = self.seen
        if not seen.keys().isdisjoint(figures):
            return self.sort_out(out, figures, lines, parts, hs_notes)
        before = len(seen)
        seen.update(zip(figures, lines, strict=True))
        if len(seen) - before != len(figures):  # the same figure twice in this chunk: redo it row by row
            for figure in figures:
                seen.pop(figure, None)
            return self.sort_out(out, figures, lines, parts, hs_notes)
        return out

    def sort_out(self, rows: list[tuple[Any, ...]], keys: list[tuple[Any, ...]], lines: list[int],
                 parts: tuple[str, ...], hs_notes: tuple[str | None, ...]) -> list[tuple[Any, ...]]:
        """The slow path, row by row: duplicates, rows of part flows (deferred) and old HS codes."""
        seen, out = self.seen, []
        for row, key, line, part, hs_note in zip(rows, keys, lines, parts, hs_notes, strict=True):
            if part:
                self.deferred.append((line, key, row, part.rsplit("(", 1)[-1].rstrip(")"), hs_note))
                continue
            first = seen.get(key)
            if first is not None:
                self.duplicate(line, first, key)
                continue
            seen[key] = line
            if hs_note is not None:
                self.old_hs.setdefault(key[3], [line, 0])[1] += 1
            out.append(row)
        return out

    def lookup(self, cache: dict[Any, Any], keys: list[Any], compute: Callable[..., Any], bad: set[int]) -> list[Any]:
        """Each key's result, computed once per distinct key; rows whose result is a list of
        issues go into ``bad``."""
        try:
            results = list(map(cache.__getitem__, keys))
        except KeyError:  # keys not seen before: check them, once each
            for key in set(keys).difference(cache):
                cache[key] = compute(*key)
                if type(cache[key]) is list:
                    self.failing.add(id(cache))
            results = list(map(cache.__getitem__, keys))
        if id(cache) in self.failing:
            bad.update(compress(counting(), map(is_, map(type, results), repeat(list))))
        return results

    def amounts(self, texts: Sequence[str], bad: set[int], required: bool = False) -> list[Any]:
        """A column of amounts in the form Amount binds; None for empty cells. On SQLite most of
        Comtrade's figures already are Amount's text and go straight through: one match over the
        column joined by newlines (no cell may hold one) checks them all; else cell by cell."""
        if not required and not any(texts):
            return [None] * len(texts)
        if self.sqlite and (all(texts) or not required):  # the whole column with one match, most often
            joined = "\n".join(texts) + "\n"
            if joined.count("\n") == len(texts) and _PLAIN_LINES.fullmatch(joined):
                return [t or None for t in texts]
        out: list[Any] = list(texts)
        plain = _PLAIN.fullmatch if self.sqlite else _NEVER.fullmatch
        for i in compress(range(len(out)), map(not_, map(plain, texts))):
            text = out[i]
            value = self.amount(text) if text else None
            if value is BAD or (value is None and required):
                bad.add(i)
            out[i] = value
        return out

    def flush(self, batch: list[tuple[Any, ...]]) -> None:
        if batch and self.write is not None and not self.error_count:
            self.write(batch)

    def problems(self, line: int, row: Sequence[str], who: Any, what: Any, how: Any, unit: Any) -> None:
        """Report the problems of a row left out: errors, or warnings that it is not held."""
        record_of = self.file.record(row)
        found: list[Issue] = []
        for checked in (who, what, how):
            if type(checked) is list:
                found.extend(checked)
        partner2, transport, customs = (record_of[k] for k in ("partner2", "transport", "customs"))
        totals = comtrade.TOTALS
        parts = [f"{self.columns[k]} {v}" for k, v in (("partner2", partner2), ("transport", transport),
                                                        ("customs", customs)) if v not in totals[k]]
        if parts:
            found.append(self.issue("breakdown", "partner2" if partner2 not in totals["partner2"] else "transport",
                                    ", ".join(parts), f"the row is a breakdown ({', '.join(parts)}); cooptrack keeps "
                                    "only the totals (second partner 0, transport 0, customs C00)", "warning"))
        qty, weight, cif, fob, primary = (record_of[k] for k in ("qty", "net_weight", "cif", "fob", "primary"))
        if not primary:
            found.append(self.issue("missing_value", "primary", "", f"{self.columns['primary']} is empty; every row "
                                    "needs its trade value in US dollars"))
        plain = _PLAIN.fullmatch  # Amount's text on SQLite, a valid amount anywhere
        for key, text in (("primary", primary), ("cif", cif), ("fob", fob), ("net_weight", weight),
                          ("qty", qty if unit is not None else "")):
            if text and not plain(text) and self.amount(text) is BAD:
                found.append(self.amount_issue(key, text))
        assert found, f"line {line}: a row was sent to the problems path with no problem"
        for issue in found:
            self.finding(line, issue)
        if any(i.severity == "error" for i in found):
            self.refused += 1
        else:
            self.skipped += 1

    def duplicate(self, line: int, first: int, key: tuple[Any, ...]) -> None:
        indicator, reporter, partner, hs_code, period = key
        what = f"{self.names[indicator]} of {reporter} {'with ' + partner if partner else 'in total'}, " \
               f"{hs_code or 'all commodities'}, {period}"
        self.finding(line, self.issue("duplicate_row", "flow", "", f"the same figure ({what}) is on line {first} "
                                      "already; remove one of the two rows"))
        self.refused += 1

    # --- values -------------------------------------------------------------------------------

    def amount(self, text: str) -> Any:
        try:
            value = Decimal(text)
        except InvalidOperation:
            return BAD
        if not value.is_finite() or value < 0 or too_large(value):
            return BAD
        return self.bind_amount(value)

    def amount_issue(self, key: str, text: str) -> Issue:
        column = self.columns.get(key, key)
        try:
            value: Decimal | None = Decimal(text)
        except InvalidOperation:
            value = None
        negative = value is not None and value.is_finite() and value < 0
        if value is not None and value.is_finite() and too_large(value):
            return self.issue("too_large", key, text, too_large_message(f"{column} {text}"))
        if negative:
            return self.issue("negative_value", key, text, f"{column} {text} is negative; trade values, weights and "
                              "quantities are zero or more")
        return self.issue("bad_number", key, text, f"{column} '{text}' is not a number; write digits with a dot for "
                          "decimals, such as 1234.5")

    # --- checks, each once per distinct key -------------------------------------------------

    def who(self, reporter_code: str, partner_code: str, flow: str) -> Any:
        found = []
        reporter = self.country(reporter_code, "reporter")
        partner = None if partner_code.strip() == "0" else self.country(partner_code, "partner")  # 0: World
        kind = self.flow(flow)
        found = [x for x in (reporter, partner, kind) if type(x) is Issue]
        if not found and reporter == partner:
            found.append(self.issue("same_country", "partner", partner_code, f"partner {partner_code} is the reporter "
                                    "itself (goods returned home); the row is left out", "warning"))
        return found or (reporter, partner, *kind)

    def country(self, code: str, key: str) -> Any:
        entry = codes.m49(code)
        if entry is None:
            return self.issue("unknown_country_code", key, code, f"{self.columns[key]} {code or '(empty)'} is not a "
                              "UN Comtrade country or area code; check the file (codes such as 398 Kazakhstan, "
                              "410 Rep. of Korea, 0 World)")
        if entry.alpha3 is None:
            return self.issue(f"{key}_area", key, code, f"{key} {code} ({entry.name}) is an area, not a country "
                              "with an ISO 3166 code; the row is left out", "warning")
        return entry.alpha3

    def flow(self, code: str) -> Any:
        layout = self.file.layout
        if code in layout.flows:
            return (self.indicators[layout.flows[code]], "")
        if layout is not comtrade.LEGACY_CSV and code in comtrade.PART_FLOWS:
            indicator, label = comtrade.PART_FLOWS[code]
            return (self.indicators[indicator], f"{label} ({code})")
        if layout is not comtrade.LEGACY_CSV and code in comtrade.PROCESSING_FLOWS:
            return self.issue("processing_flow", "flow", code, f"flow {code} ({comtrade.PROCESSING_FLOWS[code]}) "
                              "is processing trade, which cooptrack does not hold; the row is left out", "warning")
        return self.issue("unknown_flow", "flow", code, f"{self.columns['flow']} '{code}' is not a trade flow "
                          f"cooptrack knows; use one of {', '.join(layout.flows)}")

    def what(self, freq: str, period: str, year: str, month: str, classification: str, cmd: str) -> Any:
        found = []
        try:
            parsed = Period.parse(comtrade.period_code(freq, period, year, month))
            when: tuple[Any, ...] = (parsed.code, self.bind_date(parsed.start), self.bind_date(parsed.end))
        except (ValueError, InvalidInput) as exc:
            message = exc.message if isinstance(exc, InvalidInput) else str(exc)
            found.append(self.issue("bad_period", "period" if period else "year", period or year, message))
        commodity = self.commodity(classification.strip().upper() or "HS", cmd.strip())
        if type(commodity) is Issue:
            found.append(commodity)
        return found or (*when, *commodity)

    def commodity(self, classification: str, code: str) -> Any:
        edition = comtrade.HS_EDITIONS.get(classification)
        if edition is None:
            return self.issue("unknown_classification", "classification", classification, f"classification "
                              f"'{classification}' is not the Harmonized System (H0-H6); cooptrack stores HS "
                              "codes only, download the data in HS")
        if code.upper() == "TOTAL":
            return (None, None)
        if not (code.isascii() and code.isdigit() and len(code) in (2, 4, 6)):
            return self.issue("bad_hs_code", "cmd", code, f"commodity code '{code}' is not TOTAL or an HS code of "
                              "2, 4 or 6 digits")
        if codes.commodity(code) is not None:
            return (code, None)
        if classification == "H6":
            return self.issue("unknown_hs_code", "cmd", code, f"commodity code {code} is not in HS 2022; check "
                              "the code (see `cooptrack codes hs`)")
        return (code, f"{edition} code {code}, not in HS 2022")

    def how(self, code: str, abbr: str, qty_estimated: str, weight_estimated: str, estimation: str) -> Any:
        found = []
        unit = self.unit(code.strip(), abbr.strip())
        if type(unit) is Issue:
            found.append(unit)
        estimated = (qty_estimated.strip().lower() == "true", weight_estimated.strip().lower() == "true")
        if estimation.strip():
            if estimation.strip() in comtrade.ESTIMATION_CODES:
                estimated = comtrade.ESTIMATION_CODES[estimation.strip()]
            else:
                found.append(self.issue("unknown_estimation_code", "estimation", estimation, f"estimation code "
                                        f"'{estimation}' is not 0, 2, 4 or 6"))
        return found or (unit, *estimated)

    def unit(self, code: str, abbr: str) -> Any:
        if abbr in comtrade.NO_UNIT and abbr:
            return None
        if abbr:
            if len(abbr) > 16:
                return self.issue("bad_unit", "unit", abbr, f"quantity unit '{abbr}' is longer than 16 characters")
            return abbr
        if not code:
            return None
        if code not in comtrade.QUANTITY_UNITS:
            return self.issue("unknown_unit", "unit_code", code, f"quantity unit code {code} is not a UN Comtrade "
                              f"unit; known: {', '.join(comtrade.QUANTITY_UNITS)}")
        return comtrade.QUANTITY_UNITS[code]


def _note(hs_note: str | None, qty: bool, weight: bool, derived: bool, part: str) -> str | None:
    parts = [p for p in (hs_note, part) if p]
    estimated = [w for w, on in (("quantity", qty), ("net weight", weight)) if on]
    if estimated:
        parts.append(f"{' and '.join(estimated)} estimated")
    if derived:
        parts.append("derived by UN Comtrade (isReported false)")
    return "; ".join(parts) or None

