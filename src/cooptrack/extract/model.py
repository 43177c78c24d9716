"""The result of an extraction: claims found in one text, JSON-ready."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cooptrack.decimals import WIDE

KINDS = ("money", "count", "percent", "multiple", "period", "status", "party", "sector", "commodity", "project")
STATUSES = ("pipeline", "agreed", "in_execution", "implemented", "closed", "suspended", "cancelled")
UNITS = (
    "project",
    "agreement",
    "document",
    "mou",
    "contract",
    "enterprise",
    "company",
    "industry",
    "joint_venture",
    "job",
    "other",
)

# Fields every claim of a kind shows, even when false or null (the rest is left out when unset).
_ALWAYS: dict[str, tuple[str, ...]] = {
    "money": ("amount", "currency", "approximate"),
    "count": ("count", "unit", "lower_bound"),
    "percent": ("value",),
    "multiple": ("value",),
}


def decimal_text(value: Decimal) -> str:
    """A Decimal as plain digits: Decimal("2.5E+9") -> "2500000000", Decimal("1.50") -> "1.5"."""
    return format(value.normalize(WIDE), "f")  # exact past the default context's 28 digits


@dataclass
class Claim:
    """One figure or fact found in the text, with its character span.

    ``period`` is a cooptrack period code (``2019``, ``2019-H1``, ``2019-Q3``, ``2019-07``,
    ``2019-07-15``) or a range of two codes joined by a slash (``2019/2022``). ``deadline`` is
    true when the text sets the period as a limit ("by 2028", "by the end of the year"): the
    figure is due by the end of that period rather than measured over it.
    """

    kind: str
    start: int
    end: int
    text: str
    rule: str
    id: int = -1
    amount: Decimal | None = None
    currency: str | None = None
    approximate: bool = False
    count: int | None = None
    unit: str | None = None
    lower_bound: bool = False
    value: Decimal | None = None
    subject: str | None = None
    status: str | None = None
    period: str | None = None
    deadline: bool = False
    country: str | None = None
    code: str | None = None
    name: str | None = None
    links: list[int] = field(default_factory=list)

    @classmethod
    def new(cls, kind: str, start: int, end: int, text: str, rule: str, **fields: Any) -> Claim:
        """A claim with only the given fields set (the rest keep their defaults); faster than
        the generated ``__init__``, which assigns all twenty-odd fields."""
        claim = object.__new__(cls)
        fields.update(kind=kind, start=start, end=end, text=text, rule=rule, links=[])
        claim.__dict__.update(fields)
        return claim

    def as_dict(self) -> dict[str, Any]:
        always = _ALWAYS.get(self.kind, ())
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }
        for name in (
            "amount",
            "currency",
            "approximate",
            "count",
            "unit",
            "lower_bound",
            "value",
            "subject",
            "status",
            "period",
            "deadline",
            "country",
            "code",
            "name",
        ):
            value = getattr(self, name)
            if name in always:
                out[name] = decimal_text(value) if isinstance(value, Decimal) else value
            elif value is None or value is False:
                continue
            else:
                out[name] = decimal_text(value) if isinstance(value, Decimal) else value
        if self.kind == "period" and self.period is not None:
            out["deadline"] = self.deadline
        out["links"] = list(self.links)
        out["rule"] = self.rule
        return out


@dataclass(slots=True)
class Extraction:
    language: str
    claims: list[Claim]

    def as_dict(self) -> dict[str, Any]:
        return {"language": self.language, "claims": [c.as_dict() for c in self.claims]}

    def of_kind(self, kind: str) -> list[Claim]:
        return [c for c in self.claims if c.kind == kind]
