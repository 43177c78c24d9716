"""`cooptrack programme add|list|show|edit`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cooptrack.cli.common import (
    JSON_OPTION,
    command,
    console,
    nothing_to_edit,
    ok,
    print_json,
    reading,
    report_edit,
    writing,
)
from cooptrack.domain.countries import country_name
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.services.editing import update_programme
from cooptrack.services.programmes import (
    IndustrySpec,
    ProgrammeSpec,
    get_programme,
    list_programmes,
    register_programme,
)
from cooptrack.store.models import Programme

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


def _shown(p: Programme) -> dict[str, Any]:
    """A programme as `programme show --json` (and `programme edit --json`) prints it."""
    return {
        "code": p.code, "name": p.name, "aliases": list(p.aliases), "description": p.description,
        "parties": [{"code": x.country, "name": country_name(x.country)} for x in p.parties],
        "signed": p.signed, "signed_occasion": p.signed_occasion,
        "period_start": p.period_start, "period_end": p.period_end,
        "industries": [{"name": i.name, "dac_codes": i.dac_codes} for i in p.industries],
        "version": p.version,
    }


@command(app, "show")
def show(code: Annotated[str, typer.Argument(help="Programme id.")], as_json: bool = JSON_OPTION) -> None:
    """Show a programme's parties, period and industries."""
    with reading() as ctx:
        data = _shown(get_programme(ctx, code))
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


EDITABLE = ("--name, --description, --alias, --signed, --signed-occasion, --period-start, --period-end, --party, "
            "--industry or --rename-industry")


def _renames(given: list[str]) -> dict[str, str]:
    """``--rename-industry "Old name=New name"`` options as {old name: new name}."""
    renames: dict[str, str] = {}
    findings: list[Finding] = []
    for text in given:
        old, sep, new = text.partition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old or not new:
            findings.append(Finding("bad_rename", f"--rename-industry '{text}' needs the current name and the new "
                                    "one, e.g. --rename-industry \"Digitalisation=Digital economy\"",
                                    "--rename-industry", text))
        elif old in renames:
            findings.append(Finding("rename_twice", f"--rename-industry renames '{old}' twice; give it once",
                                    "--rename-industry", text))
        elif new in renames.values():
            findings.append(Finding("rename_twice", f"--rename-industry gives two industries the name '{new}'; "
                                    "give each its own", "--rename-industry", text))
        else:
            renames[old] = new
    if findings:
        raise InvalidInput.from_findings(findings)
    return renames


def _listed_industries(given: list[str], renames: dict[str, str]) -> list[dict[str, Any]]:
    """The industries of ``--industry`` options, each renamed one marked with the name it had;
    ``--industry ""`` alone is no industries."""
    specs = [] if all(not text.strip() for text in given) else [_industry(text) for text in given]
    items: list[dict[str, Any]] = [{"name": spec.name, "dac_codes": spec.dac_codes} for spec in specs]
    by_name = {item["name"]: item for item in items}
    findings: list[Finding] = []
    for old, new in renames.items():
        if new in by_name:
            by_name[new]["renamed_from"] = old
        else:
            findings.append(Finding("rename_not_listed", f"--rename-industry '{old}={new}': '{new}' is not among "
                                    "the --industry options; list it there with its DAC codes, or leave out "
                                    "--industry to keep the other industries as they are",
                                    "--rename-industry", f"{old}={new}"))
    if findings:
        raise InvalidInput.from_findings(findings)
    return items


def _renamed_industries(programme: Programme, renames: dict[str, str]) -> list[dict[str, Any]]:
    """The programme's industries with ``renames`` applied, each keeping its DAC codes. A name
    the programme does not have is passed on as renamed, for the service to refuse it."""
    items: list[dict[str, Any]] = []
    for industry in programme.industries:
        item: dict[str, Any] = {"name": renames.get(industry.name, industry.name), "dac_codes": industry.dac_codes}
        if industry.name in renames:
            item["renamed_from"] = industry.name
        items.append(item)
    current = {industry.name for industry in programme.industries}
    items += [{"name": new, "dac_codes": [], "renamed_from": old} for old, new in renames.items()
              if old not in current]
    return items


@command(app, "edit")
def edit(
    cli_ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Programme id.")],
    name: Annotated[str | None, typer.Option("--name", help="Full name.")] = None,
    description: Annotated[str | None, typer.Option(help='Free text; "" clears it.')] = None,
    alias: Annotated[list[str] | None, typer.Option(
        "--alias", help='Another name; repeat: the whole new list (--alias "" for none).')] = None,
    signed: Annotated[str | None, typer.Option(
        help='When signed: 2019, 2019-04 or 2019-04-22; "" clears it.')] = None,
    signed_occasion: Annotated[str | None, typer.Option(
        "--signed-occasion", help='Occasion of the signing; "" clears it.')] = None,
    period_start: Annotated[str | None, typer.Option(
        "--period-start", help='First period covered, e.g. 2019; "" clears it.')] = None,
    period_end: Annotated[str | None, typer.Option(
        "--period-end", help='Last period covered, e.g. 2022; "" clears it.')] = None,
    party: Annotated[list[str] | None, typer.Option(
        "--party", help="A party country (name or code); repeat: the whole new list, at least two.")] = None,
    industry: Annotated[list[str] | None, typer.Option(
        "--industry", help='An industry with DAC codes: "Infrastructure=21020,21030"; repeat: the whole new list '
        '(--industry "" for none). An industry left out is removed, unless projects are filed under it.')] = None,
    rename_industry: Annotated[list[str] | None, typer.Option(
        "--rename-industry", help='Rename an industry, keeping its projects: "Old name=New name" (= as in '
        '--industry, so names cannot hold one); repeat. Alone, the industries and their DAC codes stay as they '
        'are; with --industry, list the new name there with its codes.')] = None,
    if_version: Annotated[int | None, typer.Option(
        "--if-version", help="Refuse unless the programme is at this version (see `programme show --json`).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the edited programme as JSON, as `programme show --json` does.")] = False,
) -> None:
    """Change a programme's name, dates, parties or industries; options not given stay as they are."""
    changes: dict[str, Any] = {key: value for key, value in (
        ("name", name), ("description", description), ("signed", signed), ("signed_occasion", signed_occasion),
        ("period_start", period_start), ("period_end", period_end)) if value is not None}
    if alias:
        changes["aliases"] = alias
    if party:
        changes["parties"] = party
    renames = _renames(rename_industry or [])
    if not changes and not industry and not renames:
        nothing_to_edit(cli_ctx, EDITABLE)
    if industry:
        changes["industries"] = _listed_industries(industry, renames)
    with writing() as ctx:
        programme = get_programme(ctx, code)
        if renames and not industry:
            changes["industries"] = _renamed_industries(programme, renames)
        before = _shown(programme)
        update_programme(ctx, code, changes, programme.version if if_version is None else if_version)
        data = _shown(programme)
    report_edit(f"programme {data['code']}", before, data, as_json)
