"""Periods: explicit ("2019", "April 2019", "15 July 2019", "the first half of 2019",
"2019 until 2022", "by 2028") and relative to the publication date ("last year", "the first
half of this year", "by the end of the year"; "в прошлом году", "до конца года").

Codes are cooptrack period codes; a range is two codes joined by a slash (``2019/2022``).
A deadline ("by 2028", "by the end of the year") is the period it ends in with
``deadline=True``. "since 2005" is the range from 2005 to the year of publication. Relative
phrases without a publication date keep ``period=None``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from contextlib import suppress
from dataclasses import dataclass
from datetime import date

from cooptrack.extract.model import Claim
from cooptrack.extract.numbers import Number
from cooptrack.extract.scan import Hit

_YEAR_TAIL = re.compile(r"(?:[\s\u00a0]*(?:годами|годах|годов|годы|года|году|год|гг\.|гг|г\.|г(?!\w))|-м|-го|'s|’s)?")
_JOIN_YEAR = re.compile(r"[\s\u00a0]*,?[\s\u00a0]*(?:of[\s\u00a0]+|in[\s\u00a0]+)?")
_DAY_BEFORE = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[\s\u00a0]+$")
_DAY_AFTER = re.compile(r"[\s\u00a0]+(\d{1,2})(?:st|nd|rd|th)?(?!\d)(?:[\s\u00a0]*,)?")
_MONTH_DASH = re.compile(r"[\s\u00a0]*[-–—][\s\u00a0]*")
_DOTTED_DATE = re.compile(r"\d(?<![\d.]\d)\d?\.\d{1,2}\.(?:19|20)\d\d(?!\d)")
_RANGE = re.compile(r"[\s\u00a0]*(?:[-–—/]|to|until|till|through|and|по|до)[\s\u00a0]*(?:(?P<yy>\d{2})(?!\d))?")
_DEADLINE = frozenset({"by", "until", "till", "before", "later than", "к", "до", "не позднее", "by the", "until the"})
_SINCE = frozenset({"since", "с", "со"})
_CAPITAL_ONLY = frozenset({"may", "march"})


@dataclass(slots=True)
class Found:
    claim: Claim
    modifier: bool


def _code(kind: str, arg: str, year: int) -> str:
    if kind == "half":
        return f"{year}-H{arg}"
    if kind == "quarter":
        return f"{year}-Q{arg}"
    if kind == "month":
        return f"{year}-{int(arg):02d}"
    if kind == "months":
        n = int(arg)
        if n == 3:
            return f"{year}-Q1"
        if n == 6:
            return f"{year}-H1"
        if n >= 12:
            return f"{year}"
        return f"{year}-01/{year}-{n:02d}"
    return f"{year}"


def _before(low: str, pos: int) -> str:
    """The word (or two, for "not later than", "by the") right before ``pos``."""
    words = low[max(0, pos - 24) : pos].split()
    if len(words) >= 2 and f"{words[-2]} {words[-1]}" in _DEADLINE:
        return f"{words[-2]} {words[-1]}"
    return words[-1] if words else ""


class Periods:
    def __init__(self, text: str, low: str, numbers: list[Number], hits: list[Hit], published: date | None) -> None:
        self.text, self.low, self.published = text, low, published
        self.numbers = numbers
        self.hits = [h for h in hits if h.category == "period"]
        self.found: list[Found] = []
        self._by_start = {n.start: n for n in numbers}
        self._starts = [n.start for n in numbers]

    def _year_at(self, pos: int) -> Number | None:
        n = self._by_start.get(pos)
        if n is not None and not n.used and n.year_like:
            return n
        return None

    def _add(
        self, start: int, end: int, code: str | None, rule: str, deadline: bool = False, modifier: bool = False
    ) -> None:
        claim = Claim.new("period", start, end, self.text[start:end], rule, period=code, deadline=deadline)
        self.found.append(Found(claim, modifier))

    def run(self) -> list[Found]:
        for m in _DOTTED_DATE.finditer(self.text):
            d, mo, y = (int(x) for x in m.group().split("."))
            if 1 <= mo <= 12 and 1 <= d <= 31:
                self._use_span(m.start(), m.end())
                self._add(m.start(), m.end(), f"{y}-{mo:02d}-{d:02d}", "period.date")
        hits = self.hits
        k = 0
        while k < len(hits):
            k = self._phrase(k)
        for n in self.numbers:
            if not n.used and n.year_like:
                self._year(n)
        self.found.sort(key=lambda f: f.claim.start)
        return self.found

    def _use_span(self, start: int, end: int) -> None:
        numbers = self.numbers
        k = bisect_left(self._starts, start)
        while k < len(numbers) and numbers[k].start < end:
            numbers[k].used = True
            k += 1

    def _phrase(self, k: int) -> int:
        h = self.hits[k]
        kind, arg, off, flags = h.value.split("|")
        start, end = h.start, h.end
        deadline = "d" in flags
        modifier = "m" in flags
        low = self.low
        year: int | None = None
        day: int | None = None
        rule = "period.relative"
        nxt = k + 1
        if kind == "month" and nxt < len(self.hits):
            # a range of months: "January-June 2019", "январе-июне"
            h2 = self.hits[nxt]
            k2, a2, o2, _ = h2.value.split("|")
            if k2 == "month" and _MONTH_DASH.fullmatch(low, end, h2.start) and arg == "1":
                kind, arg, off, end = "months", a2, o2, h2.end
                nxt += 1
        if kind == "month" and start > 1 and low[start - 2].isdigit():
            before = _DAY_BEFORE.search(low, max(0, start - 6), start)
            if before is not None and not low[before.start() - 1 : before.start()].isdigit():
                day = int(before.group(1))
                start = before.start()
        if off == "?":
            pos = end
            if kind == "month" and day is None:
                after = _DAY_AFTER.match(low, end)
                if after is not None and self._year_at(_JOIN_YEAR.match(low, after.end()).end()) is not None:  # type: ignore[union-attr]
                    day = int(after.group(1))
                    pos = after.end()
            join = _JOIN_YEAR.match(low, pos)
            y = self._year_at(join.end()) if join else None
            if y is not None:
                year = int(y.value)
                y.used = True
                end = _YEAR_TAIL.match(low, y.end).end()  # type: ignore[union-attr]
                rule = "period.explicit"
            elif (
                nxt < len(self.hits)
                and self.hits[nxt].value.startswith("year||")
                and join is not None
                and join.end() == self.hits[nxt].start
            ):
                off = self.hits[nxt].value.split("|")[2]
                end = self.hits[nxt].end
                nxt += 1
            else:
                if kind == "end" and arg == "":
                    return nxt  # "the end of" something else
                off = "0"
        if h.key in _CAPITAL_ONLY and (self.text[h.start] != h.key[0].upper() or (year is None and day is None)):
            return nxt
        if kind == "month" and day is not None and year is None:
            year_base = self.published.year if self.published else None
            year = year_base
            rule = "period.relative"
        if year is None:
            if self.published is None:
                self._use_span(start, end)
                self._add(start, end, None, "period.unresolved", deadline, modifier)
                return nxt
            year = self.published.year + int(off)
        if kind == "end" and not deadline:
            deadline = _before(low, start) in _DEADLINE
        code = _code(kind, arg, year)
        if day is not None and kind == "month":
            with suppress(ValueError):  # "31 June": keep the month
                code = date(year, int(arg), day).isoformat()
        self._use_span(start, end)
        self._add(start, end, code, rule, deadline, modifier)
        return nxt

    def _year(self, n: Number) -> None:
        low = self.low
        y1 = int(n.value)
        start, end = n.start, n.end
        n.used = True
        m = _RANGE.match(low, end)
        if m is not None:
            y2n = self._year_at(m.end())
            y2: int | None = None
            if y2n is not None and int(y2n.value) > y1:
                y2, y2n.used, end = int(y2n.value), True, y2n.end
            elif m.group("yy") is not None and m.group(0).strip()[:1] in "-–—/":
                cand = y1 // 100 * 100 + int(m.group("yy"))
                if cand > y1:
                    y2, end = cand, m.end()
                    self._use_span(m.start(), end)
            if y2 is not None:
                tail = _YEAR_TAIL.match(low, end)
                end = tail.end() if tail else end
                self._add(start, end, f"{y1}/{y2}", "period.range")
                return
        tail = _YEAR_TAIL.match(low, end)
        end = tail.end() if tail else end
        before = _before(low, start)
        if before in _DEADLINE:
            self._add(start, end, f"{y1}", "period.deadline", True)
        elif before in _SINCE:
            last = self.published.year if self.published else None
            code = f"{y1}/{last}" if last and last > y1 else f"{y1}"
            self._add(start, end, code, "period.since")
        else:
            modifier = low[end - 2 : end] in ("'s", "’s")
            self._add(start, end, f"{y1}", "period.year", modifier=modifier)
