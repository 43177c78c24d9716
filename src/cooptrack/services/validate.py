"""Field checks shared by the services; each raises InvalidInput with one finding."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from cooptrack import codes
from cooptrack.domain.money import check_amount
from cooptrack.domain.period import Period, parse_date
from cooptrack.services.context import refuse

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def slug(value: str, field: str) -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        refuse(
            "bad_id",
            f"{field} '{value}' is not a valid id; use lower-case letters, digits, '.', '_' or '-' "
            "(at most 64), e.g. fresh-wind",
            field,
            value,
        )
    return value


def text(value: str | None, field: str, required: bool = True, max_len: int = 500) -> str | None:
    if value is None or not str(value).strip():
        if required:
            refuse("missing", f"{field} is required", field)
        return None
    cleaned = str(value).strip()
    if len(cleaned) > max_len:
        refuse("too_long", f"{field} is {len(cleaned)} characters; at most {max_len}", field, cleaned[:40])
    return cleaned


def dac_code(value: str, field: str = "sector") -> str:
    code = str(value).strip()
    found = codes.sector(code)
    if found is None:
        refuse(
            "unknown_sector",
            f"{field} '{value}' is not a DAC 5-digit sector code; see `cooptrack codes sectors` "
            "(e.g. 21020 Road transport)",
            field,
            value,
        )
    return found.code


def hs_code(value: str, field: str = "hs_code") -> str:
    code = str(value).strip()
    if codes.commodity(code) is None:
        refuse(
            "unknown_hs_code",
            f"{field} '{value}' is not an HS 2022 code at 2, 4 or 6 digits; e.g. 2709 (crude petroleum)",
            field,
            value,
        )
    return code


def amount(value: str | int | Decimal, field: str) -> Decimal:
    return check_amount(value, field)


def period(value: str, field: str) -> Period:
    return Period.parse(value, field)


def day(value: date | str | None, field: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return parse_date(value, field)


def date_order(start: date | None, end: date | None, start_field: str, end_field: str) -> None:
    if start and end and end < start:
        refuse(
            "end_before_start",
            f"{end_field} {end.isoformat()} is before {start_field} {start.isoformat()}; "
            "swap them or fix the date",
            end_field,
            end.isoformat(),
        )
