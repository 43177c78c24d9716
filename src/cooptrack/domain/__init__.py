"""Pure values and rules: no I/O, no database."""

from cooptrack.domain.countries import resolve_country
from cooptrack.domain.money import Conversion, Money, RateTable, parse_amount
from cooptrack.domain.period import Period
from cooptrack.domain.status import Status, check_transition

__all__ = [
    "Conversion",
    "Money",
    "Period",
    "RateTable",
    "Status",
    "check_transition",
    "parse_amount",
    "resolve_country",
]
