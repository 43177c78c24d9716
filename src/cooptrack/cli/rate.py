"""`cooptrack rate add|list`: exchange rates to the US dollar, each with its source."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cooptrack.cli.common import JSON_OPTION, command, console, ok, print_json, reading, writing
from cooptrack.services.rates import RateSpec, add_rate, list_rates

app = typer.Typer(help="Exchange rates (units of a currency per US dollar).", no_args_is_help=True)


@command(app, "add")
def add(
    currency: Annotated[str, typer.Argument(help="ISO 4217 code, e.g. KZT.")],
    period: Annotated[str, typer.Argument(help="Period the rate holds for: 2019, 2019-Q3, 2019-07, 2019-07-15.")],
    rate: Annotated[str, typer.Argument(help="Units of the currency per one US dollar, e.g. 382.75.")],
    source: Annotated[str, typer.Option(help="Where the rate comes from.")],
    replace: Annotated[bool, typer.Option("--replace", help="Replace an existing rate for that period.")] = False,
) -> None:
    """Record a rate."""
    with writing() as ctx:
        row = add_rate(ctx, RateSpec(currency, period, rate, source), replace=replace)
        text = f"{row.currency} {row.period}: {row.per_usd} per USD ({row.source})"
    ok(text)


@command(app, "list")
def list_(
    currency: Annotated[str | None, typer.Option(help="Only this currency.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """List rates."""
    with reading() as ctx:
        rows: list[dict[str, Any]] = [
                {"currency": r.currency, "period": r.period, "per_usd": r.per_usd, "source": r.source}
                for r in list_rates(ctx, currency)]
    if as_json:
        print_json(rows)
        return
    table = Table("currency", "period", "per USD", "source", title="Exchange rates")
    for r in rows:
        table.add_row(r["currency"], r["period"], str(r["per_usd"]), r["source"])
    console.print(table)
