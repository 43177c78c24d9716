"""`cooptrack programme add|list|show`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cooptrack.cli.common import JSON_OPTION, command, console, ok, print_json, reading, writing
from cooptrack.domain.countries import country_name
from cooptrack.errors import InvalidInput
from cooptrack.services.programmes import (
    IndustrySpec,
    ProgrammeSpec,
    get_programme,
    list_programmes,
    register_programme,
)

app = typer.Typer(help="Programmes: the agreements that group cooperation.", no_args_is_help=True)


def _industry(text: str) -> IndustrySpec:
    name, _, dac = text.partition("=")
    if not name.strip():
        raise InvalidInput(f"--industry '{text}' needs a name, e.g. --industry \"Infrastructure=21020,21030\"")
    return IndustrySpec(name.strip(), [c.strip() for c in dac.split(",") if c.strip()])


@command(app, "add")
def add(
    code: Annotated[str, typer.Argument(help="Programme id, e.g. fresh-wind.")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    party: Annotated[list[str], typer.Option("--party", help="A party country (name or code); repeat.")],
    alias: Annotated[list[str] | None, typer.Option("--alias", help="Another name; repeat.")] = None,
    signed: Annotated[str | None, typer.Option(help="When signed: 2019, 2019-04 or 2019-04-22.")] = None,
    occasion: Annotated[str | None, typer.Option(help="Occasion of the signing.")] = None,
    start: Annotated[str | None, typer.Option(help="First period covered, e.g. 2019.")] = None,
    end: Annotated[str | None, typer.Option(help="Last period covered, e.g. 2022.")] = None,
    industry: Annotated[list[str] | None, typer.Option(
        "--industry", help='An industry with DAC codes: "Infrastructure=21020,21030"; repeat.')] = None,
    description: Annotated[str | None, typer.Option(help="Free text.")] = None,
    source: Annotated[str | None, typer.Option(help="Source id backing these facts.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a programme."""
    with writing() as ctx:
        programme = register_programme(ctx, ProgrammeSpec(
            code=code, name=name, parties=party, aliases=alias or [], signed=signed, signed_occasion=occasion,
            period_start=start, period_end=end, industries=[_industry(i) for i in industry or []],
            description=description, source=source,
        ))
        result: dict[str, Any] = {"code": programme.code, "parties": [p.country for p in programme.parties]}
    if as_json:
        print_json(result)
    else:
        ok(f"programme {result['code']} registered ({', '.join(result['parties'])})")


@command(app, "list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List programmes."""
    with reading() as ctx:
        rows: list[dict[str, Any]] = [{"code": p.code, "name": p.name, "parties": [x.country for x in p.parties],
                 "signed": p.signed, "period_start": p.period_start, "period_end": p.period_end,
                 "projects": n} for p, n in list_programmes(ctx)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "parties", "signed", "period", "projects", title="Programmes")
    for r in rows:
        period = f"{r['period_start'] or '?'}–{r['period_end'] or '?'}" if r["period_start"] or r["period_end"] else ""
        table.add_row(r["code"], r["name"], ", ".join(r["parties"]), r["signed"] or "", period, str(r["projects"]))
    console.print(table)


@command(app, "show")
def show(code: Annotated[str, typer.Argument(help="Programme id.")], as_json: bool = JSON_OPTION) -> None:
    """Show a programme's parties, period and industries."""
    with reading() as ctx:
        p = get_programme(ctx, code)
        data: dict[str, Any] = {
            "code": p.code, "name": p.name, "aliases": p.aliases, "description": p.description,
            "parties": [{"code": x.country, "name": country_name(x.country)} for x in p.parties],
            "signed": p.signed, "signed_occasion": p.signed_occasion,
            "period_start": p.period_start, "period_end": p.period_end,
            "industries": [{"name": i.name, "dac_codes": i.dac_codes} for i in p.industries],
            "version": p.version,
        }
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{data['name']}[/bold] ({data['code']})")
    console.print("Parties: " + ", ".join(f"{x['name']} ({x['code']})" for x in data["parties"]))
    if data["signed"]:
        console.print(f"Signed: {data['signed']}" + (f", {data['signed_occasion']}" if data["signed_occasion"] else ""))
    if data["period_start"] or data["period_end"]:
        console.print(f"Period: {data['period_start'] or '?'} to {data['period_end'] or '?'}")
    if data["description"]:
        console.print(data["description"])
    table = Table("industry", "DAC codes", title="Industries")
    for i in data["industries"]:
        table.add_row(i["name"], ", ".join(i["dac_codes"]))
    console.print(table)
