"""Reporting periods: ``2019``, ``2019-H1``, ``2019-Q3``, ``2019-07``, ``2019-07-15``."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from cooptrack.domain._fail import invalid

Precision = Literal["year", "half", "quarter", "month", "day"]

_PATTERN = re.compile(
    r"^(?P<year>\d{4})(?:-(?:H(?P<half>[12])|Q(?P<quarter>[1-4])|(?P<month>\d{2})(?:-(?P<day>\d{2}))?))?$"
)
FORMS = "write 2019, 2019-H1, 2019-Q3, 2019-07 or 2019-07-15"
_RANK: dict[str, int] = {"year": 0, "half": 1, "quarter": 2, "month": 3, "day": 4}


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar period. Ordered by start date, longer periods first on a tie."""

    code: str
    precision: Precision
    start: date
    end: date

    @classmethod
    def parse(cls, text: str, field: str = "period") -> Period:
        raw = text.strip() if isinstance(text, str) else str(text)
        m = _PATTERN.match(raw.upper())
        if not m:
            invalid("bad_period", f"{field} '{raw}' is not a period; {FORMS}", field, raw)
        year = int(m["year"])
        try:
            if m["half"]:
                h = int(m["half"])
                return cls(raw.upper(), "half", date(year, 6 * h - 5, 1), _month_end(year, 6 * h))
            if m["quarter"]:
                q = int(m["quarter"])
                return cls(raw.upper(), "quarter", date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
            if m["day"]:
                d = date(year, int(m["month"]), int(m["day"]))
                return cls(d.isoformat(), "day", d, d)
            if m["month"]:
                month = int(m["month"])
                return cls(f"{year:04d}-{month:02d}", "month", date(year, month, 1), _month_end(year, month))
        except ValueError:
            invalid("bad_period", f"{field} '{raw}' is not a real calendar date; {FORMS}", field, raw)
        return cls(f"{year:04d}", "year", date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def of_date(cls, day: date) -> Period:
        return cls(day.isoformat(), "day", day, day)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, other: Period | date) -> bool:
        if isinstance(other, Period):
            return self.start <= other.start and other.end <= self.end
        return self.start <= other <= self.end

    def __contains__(self, other: Period | date) -> bool:
        return self.contains(other)

    def fraction_elapsed(self, day: date) -> float:
        """Share of this period elapsed at the end of ``day`` (0..1)."""
        if day < self.start:
            return 0.0
        if day >= self.end:
            return 1.0
        return ((day - self.start).days + 1) / self.days

    def _key(self) -> tuple[date, int]:
        return (self.start, _RANK[self.precision])

    def __lt__(self, other: Period) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Period) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Period) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Period) -> bool:
        return self._key() >= other._key()

    def next_day_after(self) -> date:
        return self.end + timedelta(days=1)

    @classmethod
    def span(cls, first: Period, last: Period) -> Period:
        """The stretch from ``first``'s start to ``last``'s end, e.g. ``2019-H1+2019-07``."""
        if first.code == last.code:
            return first
        return cls(f"{first.code}+{last.code}", last.precision, first.start, last.end)

    def __str__(self) -> str:
        return self.code


def parse_date(text: str, field: str = "date") -> date:
    """An ISO date (YYYY-MM-DD) with a message naming the field when it is not one."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        invalid("bad_date", f"{field} '{text}' is not a date; write YYYY-MM-DD", field, text)
