"""`cooptrack organisation list|show|edit|merge`: the organisations that take part in projects."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cooptrack.cli.common import JSON_OPTION, command, console, nothing_to_edit, ok, print_json, reading, writing
from cooptrack.services.organisations import (
    MERGE_FIELDS,
    ORGANISATION_FIELDS,
    ORGANISATION_TYPES,
    get_organisation,
    list_organisations,
    merge_organisations,
    organisation_detail,
    organisation_record,
    update_organisation,
)

app = typer.Typer(help="Organisations: who funds, implements or builds the projects.", no_args_is_help=True)

ID = typer.Argument(metavar="ID", help="Organisation number (see `cooptrack organisation list`).")
KIND_HELP = "IATI OrganisationType code: 10 government, 40 multilateral, 70 private sector, ..."
EDITABLE = "--name, --country, --kind, --iati-ref or --alias"


def _kind(code: str | None) -> str:
    if not code:
        return ""
    name = ORGANISATION_TYPES.get(code)
    return f"{code} {name}" if name else code


@command(app, "list")
def list_(
    search: Annotated[str | None, typer.Option(help="Text in the name, an alias or the IATI identifier.")] = None,
    country: Annotated[str | None, typer.Option(help="Country (name or ISO code).")] = None,
    kind: Annotated[str | None, typer.Option(help=KIND_HELP)] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """List organisations by name, with the projects they take part in and their roles there."""
    with reading() as ctx:
        rows = list_organisations(ctx, search, country, kind)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "country", "kind", "IATI identifier", "projects", "roles",
                  title=f"Organisations ({len(rows)})")
    for r in rows:
        name = escape(r["name"]) + (f"\n[dim]also: {escape('; '.join(r['aliases']))}[/dim]" if r["aliases"] else "")
        table.add_row(str(r["id"]), name, r["country"] or "", _kind(r["kind"]), escape(r["iati_ref"] or ""),
                      str(r["projects"]), ", ".join(f"{role} {n}" for role, n in r["roles"].items()))
    console.print(table)


def _print_detail(data: dict[str, Any]) -> None:
    console.print(f"[bold]{escape(data['name'])}[/bold] (organisation {data['id']}, version {data['version']})",
                  soft_wrap=True)
    for label, value in (("country", data["country"]), ("kind", _kind(data["kind"])),
                         ("IATI identifier", data["iati_ref"]), ("aliases", "; ".join(data["aliases"]))):
        if value:
            console.print(f"{label}: {value}", markup=False, soft_wrap=True)
    if not data["participations"]:
        console.print("takes part in no project")
        return
    table = Table("project", "title", "programme", "role", title=f"Projects ({data['projects']})")
    for p in data["participations"]:
        table.add_row(p["project"], escape(p["title"]), p["programme"] or "", p["role"])
    console.print(table)


@command(app, "show")
def show(organisation_id: Annotated[int, ID], as_json: bool = JSON_OPTION) -> None:
    """Show an organisation with the projects it takes part in."""
    with reading() as ctx:
        data = organisation_detail(ctx, organisation_id)
    if as_json:
        print_json(data)
    else:
        _print_detail(data)


@command(app, "edit")
def edit(
    cli_ctx: typer.Context,
    organisation_id: Annotated[int, ID],
    name: Annotated[str | None, typer.Option(help="The name (at most 300 characters).")] = None,
    country: Annotated[str | None, typer.Option(help='Country (name or ISO code); "" clears it.')] = None,
    kind: Annotated[str | None, typer.Option(help=KIND_HELP + '; "" clears it.')] = None,
    iati_ref: Annotated[str | None, typer.Option(
        "--iati-ref", help='IATI organisation identifier; "" clears it.')] = None,
    alias: Annotated[list[str] | None, typer.Option(
        "--alias", help='Another name; repeat: the whole new list (--alias "" for none).')] = None,
    if_version: Annotated[int | None, typer.Option(
        "--if-version", help="Refuse unless the organisation is at this version (see `organisation show`).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the organisation as JSON, as `organisation show --json` does.")] = False,
) -> None:
    """Correct an organisation; options not given stay as they are. The projects it takes part in
    follow it."""
    changes: dict[str, Any] = {key: value for key, value in (
        ("name", name), ("country", country), ("kind", kind), ("iati_ref", iati_ref)) if value is not None}
    if alias is not None:
        changes["aliases"] = alias
    if not changes:
        nothing_to_edit(cli_ctx, EDITABLE)
    with writing() as ctx:
        org = get_organisation(ctx, organisation_id)
        before = organisation_record(org)
        update_organisation(ctx, organisation_id, changes, org.version if if_version is None else if_version)
        ctx.session.flush()
        data = organisation_detail(ctx, organisation_id)
    if as_json:
        print_json(data)
        return
    changed = [key for key in ORGANISATION_FIELDS if data[key] != before[key]]
    if changed:
        ok(f"organisation {data['id']} edited: {', '.join(changed)} (version {data['version']})")
    else:
        ok(f"organisation {data['id']} unchanged: it already reads so (version {data['version']})")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@command(app, "merge")
def merge(
    keep_id: Annotated[int, typer.Argument(metavar="KEEP", help="The organisation kept (its number).")],
    other_id: Annotated[int, typer.Argument(metavar="OTHER", help="The organisation merged into it, then deleted.")],
    prefer_other: Annotated[list[str] | None, typer.Option(
        "--prefer-other", metavar="FIELD",
        help=f"Where both hold different values, take OTHER's: {', '.join(MERGE_FIELDS)}; repeat.")] = None,
    prefer_keep: Annotated[list[str] | None, typer.Option(
        "--prefer-keep", metavar="FIELD", help="Where both hold different values, keep KEEP's; repeat.")] = None,
    if_version: Annotated[int | None, typer.Option(
        "--if-version", help="Refuse unless KEEP is at this version (see `organisation show`).")] = None,
    other_version: Annotated[int | None, typer.Option(
        "--other-version", help="Refuse unless OTHER is at this version.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the kept organisation as JSON, as `organisation show --json` does.")] = False,
) -> None:
    """Merge two records of one organisation ("KEPCO" and "Korea Electric Power Corporation"):
    OTHER's projects move to KEEP, its name and aliases become KEEP's aliases, a country, kind
    or IATI identifier KEEP lacks is taken from it, then OTHER is deleted. A field both hold
    with different values is refused, naming both, unless --prefer-other or --prefer-keep
    names it; nothing is written then."""
    with writing() as ctx:
        done = merge_organisations(ctx, keep_id, other_id, if_version, other_version, prefer_other or (),
                                   prefer_keep or ())
        ctx.session.flush()
        data = organisation_detail(ctx, keep_id)
    if as_json:
        print_json(data)
        return
    moved = _count(len(done.moved), "participation") + " moved"
    if done.dropped:
        moved += f", {len(done.dropped)} it had already"
    ok(f"organisation {other_id} ({done.merged['name']}) merged into organisation {keep_id} ({data['name']}): {moved}; "
       f"{_count(len(done.projects), 'project')} changed (version {data['version']})")
