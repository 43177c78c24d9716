"""The indicators cooptrack knows out of the box. Observations are ``reporter``'s figures
about its relationship with ``partner`` (trade in both directions, investment, enterprises)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["money", "count", "quantity", "percent"]


@dataclass(frozen=True, slots=True)
class IndicatorDef:
    code: str
    name: str
    kind: Kind
    description: str


CATALOGUE: tuple[IndicatorDef, ...] = (
    IndicatorDef("trade_turnover", "Trade turnover", "money",
                 "Exports plus imports between reporter and partner over the period."),
    IndicatorDef("exports", "Exports", "money", "Goods exported by reporter to partner."),
    IndicatorDef("imports", "Imports", "money", "Goods imported by reporter from partner."),
    IndicatorDef("re_exports", "Re-exports", "money", "Goods re-exported by reporter to partner."),
    IndicatorDef("re_imports", "Re-imports", "money", "Goods re-imported by reporter from partner."),
    IndicatorDef("fdi_inflow", "Investment inflow", "money",
                 "Direct investment from partner into reporter during the period."),
    IndicatorDef("fdi_stock", "Investment stock", "money",
                 "Cumulative direct investment of partner in reporter at the end of the period."),
    IndicatorDef("enterprises", "Enterprises with partner capital", "count",
                 "Enterprises with capital from partner operating in reporter."),
    IndicatorDef("joint_ventures", "Joint ventures", "count",
                 "Joint ventures of reporter and partner companies."),
)

BY_CODE = {d.code: d for d in CATALOGUE}
FLOWS = ("exports", "imports", "re_exports", "re_imports")
# Levels at a point in time; every other indicator is a flow summed over its period.
STOCKS = frozenset({"fdi_stock", "enterprises", "joint_ventures"})
FLAGS = frozenset({"approximate", "lower_bound", "estimated", "preliminary", "mirror", "forecast"})
