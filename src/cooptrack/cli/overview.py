"""`cooptrack overview PROGRAMME [--as-of DATE] [--json]`."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from cooptrack.cli.common import (
    JSON_OPTION,
    as_of_date,
    compact,
    console,
    print_json,
    reading,
)
from cooptrack.cli.target import targets_table
from cooptrack.services.overview import programme_overview


def overview(
    programme: Annotated[str, typer.Argument(help="Programme id, e.g. fresh-wind.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD: the state known on that date.")] = None,
    limit: Annotated[int, typer.Option(help="List at most this many projects.")] = 50,
    as_json: bool = JSON_OPTION,
) -> None:
    """Where a programme stands: portfolio by status and industry, indicators, targets."""
    with reading() as ctx:
        data = programme_overview(ctx, programme, as_of_date(as_of), project_limit=limit).as_dict()
    if as_json:
        print_json(data)
    else:
        render(data)


def _values(bucket: dict[str, Any]) -> str:
    parts = [compact(v, c) for c, v in sorted(bucket["values"].items())]
    return "; ".join(parts) or "-"


def _usd(bucket: dict[str, Any]) -> str:
    if not bucket["values"]:
        return "-"
    text = compact(bucket["usd"], "USD")
    if bucket["usd_missing"]:
        text += f" (+{bucket['usd_missing']} without a rate)"
    return text


def render(d: dict[str, Any]) -> None:
    p = d["programme"]
    console.rule(f"[bold]{p['name']}[/bold] ({p['code']})")
    console.print("Parties: " + ", ".join(f"{x['name']} ({x['code']})" for x in p["parties"]))
    if p["signed"]:
        console.print(f"Signed: {p['signed']}" + (f" — {p['signed_occasion']}" if p["signed_occasion"] else ""))
    if p["period_start"] or p["period_end"]:
        console.print(f"Period: {p['period_start'] or '?'} to {p['period_end'] or '?'}")
    console.print(f"As of: {d['as_of'] or 'today (everything recorded)'}")
    if p["source"]:
        s = p["source"]
        console.print(f"Source: {s['title']}" + (f", {s['publisher']}" if s["publisher"] else "")
                      + (f", {s['published']}" if s["published"] else ""))

    table = Table("status", "projects", "value (original currency)", "value (USD)", title="Portfolio by status")
    for b in d["by_status"]:
        table.add_row(b["key"].replace("_", " "), str(b["count"]), _values(b), _usd(b))
    t = d["totals"]
    table.add_row("[bold]total[/bold]", f"[bold]{t['count']}[/bold]", _values(t), _usd(t))
    console.print(table)

    if d["reported"]:
        console.print(reported_table(d["reported"]))

    industries = {b["key"]: b for b in d["by_industry"]}
    table = Table("industry", "DAC codes", "projects", "by status", "value (USD)", title="Industries")
    for ind in p["industries"]:
        b = industries.get(ind["name"])
        table.add_row(ind["name"], ", ".join(c["code"] for c in ind["dac_codes"]), str(b["count"]) if b else "0",
                      ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in b["by_status"].items()) if b else "",
                      _usd(b) if b else "-")
    if "(no industry)" in industries:
        b = industries["(no industry)"]
        table.add_row("(no industry)", "", str(b["count"]),
                      ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in b["by_status"].items()), _usd(b))
    console.print(table)

    table = Table("project", "title", "industry", "status", "since", "value", "USD",
                  title=f"Projects ({len(d['projects'])} of {d['projects_total']})")
    for pr in d["projects"]:
        v = pr["value"]
        table.add_row(pr["code"], pr["title"], pr["industry"] or "", pr["status"].replace("_", " "),
                      pr["status_since"] or "", compact(v["amount"], v["currency"]) if v else "-",
                      compact(pr["usd"], "USD") if pr["usd"] is not None else "-")
    console.print(table)

    table = Table("indicator", "between", "period", "value", "flags", "source", title="Indicators (latest)")
    for i in d["indicators"]:
        flags = ", ".join(i["flags"])
        prefix = "≥" if "lower_bound" in i["flags"] else ("~" if "approximate" in i["flags"] else "")
        table.add_row(i["name"], f"{i['reporter']}-{i['partner']}", i["period"],
                      f"{prefix}{compact(i['value'], i['unit'])}", flags,
                      i["source"]["id"] if i["source"] else "")
    console.print(table)

    if d["commodities"]:
        table = Table("flow", "between", "HS", "commodity", title="Commodities named")
        for c in d["commodities"]:
            text = c["description"] or ""
            table.add_row(c["flow"], f"{c['reporter']}-{c['partner']}", c["hs_code"],
                          text if len(text) <= 60 else text[:59].rstrip(" ,;") + "…")
        console.print(table)

    if d["targets"]:
        console.print(targets_table(d["targets"]))
        for t in d["targets"]:
            console.print(f"  {t['indicator']} {t['period']}: {t['reason']}")
    if d["rates_used"]:
        console.print("Rates used: " + "; ".join(
            f"{r['currency']} {r['period']} {r['per_usd']} per USD ({r['source']})" for r in d["rates_used"]))


def _reported_figure(f: dict[str, Any] | None) -> str:
    if f is None:
        return "-"
    prefix = ("more than " if f["lower_bound"] else "") + ("~" if f["approximate"] else "")
    money = bool(f["unit"]) and len(f["unit"]) == 3 and f["unit"].isupper()
    unit = f["unit"] if money or f["unit"].endswith("s") or Decimal(f["value"]) == 1 else f["unit"] + "s"
    text = prefix + (compact(f["value"], unit) if money else f"{compact(f['value'])} {unit}")
    return text + (f" ({f['period']})" if f["period"] else "")


def reported_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("reported", "count", "value", "source", "register", title="Reported against registered")
    for r in rows:
        label = r["subject"] + (f", {r['status'].replace('_', ' ')}" if r["status"] else "")
        source = (r["count"] or r["amount"] or {}).get("source") or {}
        register = r["difference"]["text"] if r["difference"] else (
            f"{r['registered']['count']} projects, {compact(r['registered']['usd'], 'USD')}")
        if r["earlier"]:
            register += f"; {len(r['earlier'])} earlier figure(s)"
        table.add_row(label, _reported_figure(r["count"]), _reported_figure(r["amount"]),
                      source.get("title") or "", register)
    return table
