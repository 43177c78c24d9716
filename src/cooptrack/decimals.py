"""The size of the amounts cooptrack keeps, and exact arithmetic on decimals of any length.

Every amount (a project's value, a finance record, a trade value, a target) has at most
:data:`INTEGER_DIGITS` digits before the decimal point and 6 after: 28 in all, the precision of
Python's default decimal context, so that rounding one to cents, converting it to US dollars and
formatting it stay exact. (PostgreSQL's NUMERIC(38, 6) column would hold more; SQLite keeps text.)
Values read back or written out are normalised in :data:`WIDE`, which never rounds them, whatever
an older database or a text holds. A module of its own, without imports: the reading processes
of the importers load it.
"""

from __future__ import annotations

from decimal import Context, Decimal

INTEGER_DIGITS = 22
LIMIT = Decimal(10) ** INTEGER_DIGITS
WIDE = Context(prec=80)
_ONE = Decimal(1)


def too_large(value: Decimal) -> bool:
    """Whether a finite amount has more than INTEGER_DIGITS digits before the decimal point."""
    return abs(value) >= LIMIT


def too_large_message(what: str) -> str:
    return f"{what} is too large: cooptrack keeps at most {INTEGER_DIGITS} digits before the decimal point"


def plain_text(value: Decimal) -> str:
    """Plain digits, exactly, trailing zeros dropped: 1E+2 -> "100", 1.50 -> "1.5", -0 -> "0"."""
    text = format(value.normalize(WIDE), "f")
    return "0" if text == "-0" else text


def plain(value: Decimal) -> Decimal:
    """Trailing zeros dropped without an exponent: NUMERIC 100.000000 -> 100, not 1E+2; exact
    however many digits (the default context would round past 28)."""
    value = value.normalize(WIDE)
    return value.quantize(_ONE, context=WIDE) if value.as_tuple().exponent > 0 else value  # type: ignore[operator]
