"""`cooptrack audit`: who changed what, when."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from cooptrack.cli.common import JSON_OPTION, console, print_json, reading
from cooptrack.services.audit import recent


def audit(
    limit: Annotated[int, typer.Option(help="Show the latest N events.")] = 20,
    entity: Annotated[str | None, typer.Option(help="Only this kind: programme, project, observation, ...")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the audit log, newest first."""
    with reading() as ctx:
        rows: list[dict[str, Any]] = [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "entity": e.entity,
                 "entity_id": e.entity_id, "before": e.before, "after": e.after, "request_id": e.request_id}
                for e in recent(ctx, limit, entity)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "at (UTC)", "actor", "action", "entity", "change", title="Audit log")
    for r in rows:
        change = _change(r["before"], r["after"])
        table.add_row(str(r["id"]), r["at"].strftime("%Y-%m-%d %H:%M:%S"), r["actor"], r["action"],
                      f"{r['entity']} {r['entity_id']}", change)
    console.print(table)


def _change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    if before is None:
        return "created"
    if after is None:
        return "deleted"
    keys = [k for k in after if before.get(k) != after.get(k) and k not in ("updated_at", "version")]
    return ", ".join(f"{k}: {json.dumps(before.get(k))} → {json.dumps(after.get(k))}" for k in keys[:4])
