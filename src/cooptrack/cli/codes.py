"""`cooptrack codes sectors|hs|currencies`: look up the reference code tables."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cooptrack import codes as tables
from cooptrack.cli.common import JSON_OPTION, command, console, print_json

app = typer.Typer(help="Reference codes: DAC sectors, HS commodities, currencies.", no_args_is_help=True)
SEARCH = typer.Argument(help="Part of a code or name (case-insensitive).")


def _matches(query: str | None, *fields: str) -> bool:
    return not query or any(query.lower() in f.lower() for f in fields)


@command(app, "sectors")
def sectors(query: Annotated[str | None, SEARCH] = None, as_json: bool = JSON_OPTION) -> None:
    """DAC 5-digit sector codes."""
    rows = [{"code": s.code, "name": s.name, "category": s.category, "withdrawn": s.withdrawn}
            for s in tables.sectors().values() if _matches(query, s.code, s.name)]
    _show(rows, as_json, "DAC sectors")


@command(app, "hs")
def hs(query: Annotated[str | None, SEARCH] = None, as_json: bool = JSON_OPTION) -> None:
    """HS 2022 commodity codes (2, 4 and 6 digits)."""
    rows = [{"code": c.code, "description": c.description, "level": c.level, "section": c.section}
            for c in tables.commodities().values() if _matches(query, c.code, c.description)]
    _show(rows, as_json, "HS 2022")


@command(app, "currencies")
def currencies(query: Annotated[str | None, SEARCH] = None, as_json: bool = JSON_OPTION) -> None:
    """ISO 4217 currency codes."""
    rows = [{"code": c.code, "name": c.name, "withdrawn": c.withdrawn}
            for c in tables.currencies().values() if _matches(query, c.code, c.name)]
    _show(rows, as_json, "Currencies")


def _show(rows: list[dict[str, object]], as_json: bool, title: str) -> None:
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no match")
        return
    table = Table(*rows[0].keys(), title=f"{title} ({len(rows)})")
    for r in rows:
        table.add_row(*(str(v) for v in r.values()))
    console.print(table)
