"""`cooptrack project add|edit|list|show|status`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from cooptrack.cli.common import (
    JSON_OPTION,
    command,
    console,
    money,
    nothing_to_edit,
    ok,
    print_json,
    reading,
    writing,
)
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.services.browse import project_detail
from cooptrack.services.editing import update_project
from cooptrack.services.projects import (
    ParticipantSpec,
    ProjectSpec,
    StatusSpec,
    add_status_event,
    get_project,
    list_projects,
    register_project,
)

app = typer.Typer(help="Projects and their status history.", no_args_is_help=True)


def _pairs(values: list[str], option: str, example: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key.strip():
            msg = f"{option} '{v}' must look like {example}"
            raise InvalidInput(msg, [Finding("bad_option", msg, field=option, value=v)])
        result[key.strip()] = value.strip()
    return result


def _participant(text: str) -> ParticipantSpec:
    parts = [p.strip() for p in text.split(":")]
    if len(parts) < 2 or not parts[0]:
        msg = f"--participant '{text}' must look like 'Name:role' or 'Name:role:country'"
        raise InvalidInput(msg, [Finding("bad_option", msg, field="--participant", value=text)])
    return ParticipantSpec(parts[0], parts[1], parts[2] if len(parts) > 2 else None)


@command(app, "add")
def add(
    code: Annotated[str, typer.Argument(help="Project id, e.g. bakad.")],
    title: Annotated[str, typer.Option(help="Title.")],
    programme: Annotated[str | None, typer.Option(help="Programme id.")] = None,
    industry: Annotated[str | None, typer.Option(help="Programme industry (else from the main sector).")] = None,
    host: Annotated[str | None, typer.Option(help="Host country.")] = None,
    partner: Annotated[str | None, typer.Option(help="Partner country.")] = None,
    value: Annotated[str | None, typer.Option(help="Value in the original currency, e.g. 2500000000.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code of the value.")] = None,
    value_date: Annotated[str | None, typer.Option(help="Value date (YYYY-MM-DD), picks the rate.")] = None,
    sector: Annotated[list[str] | None, typer.Option(
        "--sector", help="DAC 5-digit code=percent, e.g. 21020=100; repeat.")] = None,
    participant: Annotated[list[str] | None, typer.Option(
        "--participant", help="'Name:role[:country]'; roles: funding, accountable, extending, "
        "implementing, investor, contractor; repeat.")] = None,
    alias: Annotated[list[str] | None, typer.Option("--alias", help="Another name; repeat.")] = None,
    description: Annotated[str | None, typer.Option(help="Free text.")] = None,
    planned_start: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    planned_end: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    actual_start: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    actual_end: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    iati_id: Annotated[str | None, typer.Option(help="IATI activity identifier.")] = None,
    source: Annotated[str | None, typer.Option(help="Source id backing these facts.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a project."""
    with writing() as ctx:
        project = register_project(ctx, ProjectSpec(
            code=code, title=title, programme=programme, industry=industry, host_country=host,
            partner_country=partner, value=value, currency=currency, value_date=value_date,
            sectors=_pairs(sector or [], "--sector", "21020=100"),  # type: ignore[arg-type]
            participants=[_participant(p) for p in participant or []], aliases=alias or [],
            description=description, planned_start=planned_start, planned_end=planned_end,
            actual_start=actual_start, actual_end=actual_end, iati_identifier=iati_id, source=source,
        ))
        industry_name = project.industry.name if project.industry else None
        result: dict[str, Any] = {"code": project.code, "programme": programme, "industry": industry_name}
    if as_json:
        print_json(result)
    else:
        ok(f"project {result['code']} registered" + (f" in {programme}" if programme else ""))


# The options of `project edit` that change a field, as the refusal of an edit with none names them.
EDIT_OPTIONS = ("--title", "--description", "--alias", "--programme", "--industry", "--host", "--partner", "--value",
                "--currency", "--value-date", "--sector", "--participant", "--planned-start", "--planned-end",
                "--actual-start", "--actual-end", "--national-id", "--source")


@command(app, "edit")
def edit(
    ctx_: typer.Context,
    code: Annotated[str, typer.Argument(help="Project id.")],
    title: Annotated[str | None, typer.Option(help="Title.")] = None,
    description: Annotated[str | None, typer.Option(help="Free text; '' removes it.")] = None,
    alias: Annotated[list[str] | None, typer.Option(
        "--alias", help="Another name; repeat: the whole new list ('' alone: none).")] = None,
    programme: Annotated[str | None, typer.Option(
        help="Programme id; '' for none. Without --industry, the industry is that of the main sector there.")] = None,
    industry: Annotated[str | None, typer.Option(
        help="Programme industry; '' for none, or derived from the main sector when --sector or --programme "
             "is given too.")] = None,
    host: Annotated[str | None, typer.Option(help="Host country; '' removes it.")] = None,
    partner: Annotated[str | None, typer.Option(help="Partner country; '' removes it.")] = None,
    value: Annotated[str | None, typer.Option(
        help="Value in the original currency, e.g. 2500000000; '' removes it with its currency.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code of the value.")] = None,
    value_date: Annotated[str | None, typer.Option(
        help="Value date (YYYY-MM-DD), picks the rate; '' removes it.")] = None,
    sector: Annotated[list[str] | None, typer.Option(
        "--sector", help="DAC 5-digit code=percent, e.g. 21020=100; repeat: the whole new list "
        "('' alone: none).")] = None,
    participant: Annotated[list[str] | None, typer.Option(
        "--participant", help="'Name:role[:country]'; repeat: the whole new list ('' alone: none).")] = None,
    planned_start: Annotated[str | None, typer.Option(help="YYYY-MM-DD; '' removes it.")] = None,
    planned_end: Annotated[str | None, typer.Option(help="YYYY-MM-DD; '' removes it.")] = None,
    actual_start: Annotated[str | None, typer.Option(help="YYYY-MM-DD; '' removes it.")] = None,
    actual_end: Annotated[str | None, typer.Option(help="YYYY-MM-DD; '' removes it.")] = None,
    national_id: Annotated[str | None, typer.Option(
        help="The national registry's id, e.g. KZ-PPP-0042; '' removes it.")] = None,
    source: Annotated[str | None, typer.Option(
        help="Source id backing these facts and the value; '' removes it.")] = None,
    if_version: Annotated[int | None, typer.Option(
        help="Refuse unless the project is at this version (`project show --json` gives it).")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Change a project's fields; those not given stay as they are (status: `project status`)."""
    changes: dict[str, Any] = {} if title is None else {"title": title}
    for key, given in (("description", description), ("programme", programme), ("industry", industry),
                       ("host_country", host), ("partner_country", partner), ("value", value),
                       ("currency", currency), ("value_date", value_date), ("planned_start", planned_start),
                       ("planned_end", planned_end), ("actual_start", actual_start), ("actual_end", actual_end),
                       ("national_id", national_id), ("source", source)):
        if given is not None:
            changes[key] = given if given.strip() else None
    if alias is not None:
        changes["aliases"] = [a for a in alias if a.strip()]
    if sector is not None:
        changes["sectors"] = _pairs([s for s in sector if s.strip()], "--sector", "21020=100")
    if participant is not None:
        changes["participants"] = [asdict(_participant(p)) for p in participant if p.strip()]
    if not changes:
        nothing_to_edit(ctx_, ', '.join(EDIT_OPTIONS))
    with writing() as ctx:
        expected = get_project(ctx, code).version if if_version is None else if_version
        project, action = update_project(ctx, code, changes, expected)
        ctx.session.flush()
        version = project.version
        detail = project_detail(ctx, project.code) if as_json else None
    if detail is not None:
        print_json(detail)
    elif action == "unchanged":
        ok(f"project {code} unchanged (version {version}): it has these values already")
    else:
        ok(f"project {code} edited (version {version})")


@command(app, "list")
def list_(
    programme: Annotated[str | None, typer.Option(help="Only this programme.")] = None,
    status: Annotated[str | None, typer.Option(help="Only projects currently in this status.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
    as_json: bool = JSON_OPTION,
) -> None:
    """List projects with their current status."""
    with reading() as ctx:
        rows: list[dict[str, Any]] = [
            {"code": p.code, "title": p.title, "programme": p.programme.code if p.programme else None,
             "status": p.status, "status_since": p.status_effective,
             "value": {"amount": p.value_amount, "currency": p.value_currency} if p.value_amount is not None else None}
            for p in list_projects(ctx, programme, status, limit)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "title", "programme", "status", "since", "value", title="Projects")
    for r in rows:
        value = money(r["value"]["amount"], r["value"]["currency"]) if r["value"] else "-"
        table.add_row(r["code"], r["title"], r["programme"] or "", r["status"] or "-", r["status_since"] or "", value)
    console.print(table)


@command(app, "show")
def show(code: Annotated[str, typer.Argument(help="Project id.")], as_json: bool = JSON_OPTION) -> None:
    """Show a project with its money, sectors, participants and status history."""
    with reading() as ctx:
        d = project_detail(ctx, code)
    if as_json:
        print_json(d)
        return
    programme = f" — programme {d['programme']}" if d["programme"] else ""
    console.print(f"[bold]{d['title']}[/bold] ({d['code']}){programme}")
    if d["description"]:
        console.print(d["description"])
    industry = f"   Industry: {d['industry']}" if d["industry"] else ""
    console.print(f"Status: [bold]{d['status'] or 'unrecorded'}[/bold]{industry}")
    if d["value"]:
        line = "Value: " + money(d["value"]["amount"], d["value"]["currency"])
        if d["usd"] and d["value"]["currency"] != "USD":
            usd = d["usd"]
            line += f" = {money(usd['amount'], 'USD')} at {usd['rate']} per USD"
            line += f" ({usd['rate_period']}, {usd['rate_source']})"
        elif not d["usd"]:
            line += " (no USD rate recorded for its date: `cooptrack rate add`)"
        console.print(line)
    if d["sectors"]:
        console.print("Sectors: " + ", ".join(f"{s['code']} ({s['percent']}%)" for s in d["sectors"]))
    if d["participants"]:
        console.print("Participants: " + "; ".join(f"{x['name']} ({x['role']})" for x in d["participants"]))
    table = Table("effective", "status", "source", "note", "recorded", title="Status history")
    for e in d["history"]:
        table.add_row(e["effective"], e["status"] + (" (reopened)" if e["reopen"] else ""), e["source"] or "",
                      e["note"] or "", e["recorded_at"].strftime("%Y-%m-%d %H:%M"))
    console.print(table)


@command(app, "status")
def status(
    code: Annotated[str, typer.Argument(help="Project id.")],
    new_status: Annotated[str, typer.Argument(
        metavar="STATUS", help="pipeline, agreed, in_execution, implemented, closed, suspended or cancelled.")],
    date: Annotated[str, typer.Option("--date", help="Effective: 2019, 2019-H1, 2019-04 or 2019-04-22.")],
    source: Annotated[str | None, typer.Option(help="Source id that states it.")] = None,
    note: Annotated[str | None, typer.Option(help="Free text.")] = None,
    reopen: Annotated[bool, typer.Option("--reopen", help="Allow leaving closed or cancelled.")] = False,
    backdate: Annotated[bool, typer.Option("--backdate", help="Allow an event dated before the latest one.")] = False,
) -> None:
    """Record a dated status event (history is kept, never overwritten)."""
    with writing() as ctx:
        event = add_status_event(ctx, StatusSpec(code, new_status, date, source, note, reopen, backdate))
        text = f"recorded: project {code} {event.status} from {event.effective}"
    ok(text)
