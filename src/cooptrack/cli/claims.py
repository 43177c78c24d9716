"""`cooptrack extract`, `cooptrack ingest`, `cooptrack claims ...` and `cooptrack conflicts`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from cooptrack.cli.common import JSON_OPTION, command, compact, console, ok, print_json, reading, writing
from cooptrack.cli.source import KIND, LANG, MAX_MB, PUBLISHED, PUBLISHER, TITLE, URL, source_spec
from cooptrack.domain.money import check_amount
from cooptrack.domain.period import parse_date
from cooptrack.extract import extract as run_extract
from cooptrack.services.browse import claim_view, conflict_views
from cooptrack.services.claims import AcceptOptions, accept, edit, get_claim, ingest, linked, list_claims, reject
from cooptrack.services.conflicts import resolve
from cooptrack.services.documents import DEFAULT_MAX_MB, read_document

app = typer.Typer(help="Claims: figures stated in sources, and their review.", no_args_is_help=True)
conflicts_app = typer.Typer(help="Claims that cannot both be true, side by side.", invoke_without_command=True)


def extract_command(
    path: Annotated[Path, typer.Argument(help="A text, HTML or PDF file.")],
    published: Annotated[str | None, typer.Option(help="YYYY-MM-DD: resolves 'last year', 'this year'...")] = None,
    lang: Annotated[str, typer.Option("--lang", help="auto, en or ru.")] = "auto",
    max_mb: Annotated[int, MAX_MB] = DEFAULT_MAX_MB,
    as_json: bool = JSON_OPTION,
) -> None:
    """Extract claims from a document, without storing anything."""
    document = read_document(path, max_mb)
    day: date | None = parse_date(published, "--published") if published else None
    result = run_extract(document.text, published=day, lang=lang)
    if as_json:
        print_json(result.as_dict())
        return
    table = Table("#", "kind", "text", "reading", "links", title=f"Claims ({result.language})")
    for c in result.claims:
        d = c.as_dict()
        reading_ = ", ".join(f"{k}={v}" for k, v in d.items()
                             if k not in ("id", "kind", "start", "end", "text", "links", "rule"))
        table.add_row(str(c.id), c.kind, c.text, reading_, ", ".join(map(str, c.links)))
    console.print(table)


def ingest_command(
    path: Annotated[Path, typer.Argument(help="A text, HTML or PDF file.")],
    programme: Annotated[str | None, typer.Option(help="Programme the text is about.")] = None,
    title: Annotated[str | None, TITLE] = None,
    publisher: Annotated[str | None, PUBLISHER] = None,
    url: Annotated[str | None, URL] = None,
    published: Annotated[str | None, PUBLISHED] = None,
    lang: Annotated[str | None, LANG] = None,
    kind: Annotated[str | None, KIND] = None,
    max_mb: Annotated[int, MAX_MB] = DEFAULT_MAX_MB,
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a source, extract its claims and queue them for review."""
    spec = source_spec(path, title, publisher, url, published, lang, kind)
    with writing() as ctx:
        result = ingest(ctx, path, programme, spec, lang=lang or "auto", max_mb=max_mb)
        rows = [claim_view(c) for c in result.claims]
        source_id, created, language = result.source.id, result.source_created, result.language
    if as_json:
        print_json({"source": source_id, "source_created": created, "language": language, "claims": rows})
        return
    figures = [r for r in rows if r["kind"] in ("money", "count", "percent", "status")]
    ok(f"source {source_id} ({language}{', new' if created else ', already stored'}): {len(rows)} claims, "
       f"{len(figures)} to review; `cooptrack claims list` shows them")


def reading_of(r: dict[str, Any]) -> str:
    prefix = ("≥" if r["lower_bound"] else "") + ("~" if r["approximate"] else "")
    if r["kind"] == "money":
        figure = compact(r["amount"], r["currency"] or "?")
    elif r["kind"] == "count":
        figure = f"{r['count']} {r['unit'] or ''}".strip()
    elif r["kind"] == "percent":
        figure = f"{r['value']}%"
    else:
        figure = r["status"] or ""
    qualifiers = ", ".join(str(x) for x in (r["subject"], r["status"] if r["kind"] != "status" else None,
                                             r["period"], r["project"]) if x)
    return prefix + figure + (f" ({qualifiers})" if qualifiers else "")


@command(app, "list")
def list_(
    programme: Annotated[str | None, typer.Option(help="Only this programme.")] = None,
    review: Annotated[str, typer.Option(help="pending, accepted, rejected or all.")] = "pending",
    source: Annotated[int | None, typer.Option(help="Only this source id.")] = None,
    all_kinds: Annotated[bool, typer.Option("--all-kinds", help="Also parties, periods, sectors, names.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 200,
    as_json: bool = JSON_OPTION,
) -> None:
    """The review queue (pending figures by default)."""
    with reading() as ctx:
        rows = [claim_view(c) for c in list_claims(ctx, programme, None if review == "all" else review, source,
                                                  None if all_kinds else ("money", "count", "percent", "status"),
                                                  limit)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "kind", "reading", "quote", "source", "review", title=f"Claims ({review})")
    for r in rows:
        table.add_row(str(r["id"]), r["kind"], reading_of(r), r["quote"], str(r["source"]), r["review"])
    console.print(table)


@command(app, "show")
def show(claim_id: Annotated[int, typer.Argument(help="Claim id.")], as_json: bool = JSON_OPTION) -> None:
    """A claim with its quote in context, its linked claims and its review."""
    with reading() as ctx:
        c = get_claim(ctx, claim_id)
        row = claim_view(c)
        text = c.source.text or ""
        context = (text[max(0, c.span_start - 160):c.span_start], text[c.span_start:c.span_end],
                   text[c.span_end:c.span_end + 160])
        row["source_title"] = c.source.title
        row["linked"] = [claim_view(o) for o in linked(ctx, c)]
    if as_json:
        print_json(row)
        return
    console.print(f"[bold]claim {row['id']}[/bold] ({row['kind']}): {reading_of(row)} — {row['review']}")
    console.print(f"source {row['source']}: {row['source_title']}, characters {row['start']}–{row['end']}")
    quote = Text("…" + context[0].replace("\n", " "))
    quote.append(context[1], style="reverse")
    quote.append(context[2].replace("\n", " ") + "…")
    console.print(quote)
    for o in row["linked"]:
        console.print(f"  linked: claim {o['id']} ({o['kind']}) {reading_of(o)}: “{o['quote']}”")
    if row["fact"]:
        console.print(f"fact: {row['fact']['entity']} {row['fact']['id']}")
    if row["reason"]:
        console.print(f"reason: {row['reason']}")


@command(app, "accept")
def accept_(
    claim_id: Annotated[int, typer.Argument(help="Claim id.")],
    as_: Annotated[str | None, typer.Option("--as", help="figure, observation, status, value or claim.")] = None,
    project: Annotated[str | None, typer.Option(help="Project the claim is about.")] = None,
    period: Annotated[str | None, typer.Option(help="Period the figure is for, e.g. 2019-H1.")] = None,
    indicator: Annotated[str | None, typer.Option(help="Indicator for an observation.")] = None,
    reporter: Annotated[str | None, typer.Option(help="Reporter for an observation.")] = None,
    partner: Annotated[str | None, typer.Option(help="Partner for an observation.")] = None,
    subject: Annotated[str | None, typer.Option(help="For a figure: package, programme or project.")] = None,
    backdate: Annotated[bool, typer.Option("--backdate", help="A status dated before the latest event.")] = False,
    reopen: Annotated[bool, typer.Option("--reopen", help="A status leaving closed or cancelled.")] = False,
) -> None:
    """Accept a claim and create the fact it supports (the fact cites the claim)."""
    with writing() as ctx:
        c = accept(ctx, claim_id, AcceptOptions(as_, project, period, indicator, reporter, partner, subject,
                                                backdate, reopen))
        text = f"claim {c.id} accepted" + (f": {c.fact_entity} {c.fact_id}" if c.fact_entity else " (no fact)")
    ok(text)


@command(app, "reject")
def reject_(
    claim_id: Annotated[int, typer.Argument(help="Claim id.")],
    reason: Annotated[str, typer.Option(help="Why (kept with the claim).")],
) -> None:
    """Reject a claim; it is kept, with the reason."""
    with writing() as ctx:
        c = reject(ctx, claim_id, reason)
        text = f"claim {c.id} rejected"
    ok(text)


@command(app, "edit")
def edit_(
    claim_id: Annotated[int, typer.Argument(help="Claim id.")],
    amount: Annotated[str | None, typer.Option(help="Amount in whole units, e.g. 7200000000.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code.")] = None,
    count: Annotated[str | None, typer.Option(help="A whole number.")] = None,
    unit: Annotated[str | None, typer.Option(help="Unit of a count: project, enterprise, ...")] = None,
    value: Annotated[str | None, typer.Option(help="A percentage.")] = None,
    subject: Annotated[str | None, typer.Option(help="package, investment, trade_turnover, ...")] = None,
    status: Annotated[str | None, typer.Option(help="A status: implemented, in_execution, ...")] = None,
    period: Annotated[str | None, typer.Option(help="2019, 2019-H1, or a range 2019/2022.")] = None,
    project: Annotated[str | None, typer.Option(help="Link to this project.")] = None,
    approximate: Annotated[bool | None, typer.Option("--approximate/--exact", help="Stated loosely or not.")] = None,
) -> None:
    """Correct what the extractor read (the original reading is kept)."""
    changes = {"amount": amount, "currency": currency, "count": count, "unit": unit, "value": value,
               "subject": subject, "status": status, "period": period, "project": project,
               "approximate": approximate}
    with writing() as ctx:
        c = edit(ctx, claim_id, changes)
        text = f"claim {c.id} edited: {reading_of(claim_view(c))}"
    ok(text)


@conflicts_app.callback()
def conflicts(
    ctx_: typer.Context,
    programme: Annotated[str | None, typer.Option(help="Only this programme.")] = None,
    tolerance: Annotated[str, typer.Option(
        help="Percent difference above which two figures conflict; smaller ones are discrepancies.")] = "5",
    as_json: bool = JSON_OPTION,
) -> None:
    """List conflicting claims with both sources and quotes."""
    if ctx_.invoked_subcommand:
        return
    from cooptrack.cli.common import report_error
    from cooptrack.errors import CooptrackError

    try:
        with reading() as ctx:
            rows = conflict_views(ctx, programme, check_amount(tolerance, "--tolerance") / 100)
    except CooptrackError as exc:
        report_error(exc)
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no conflicts")
        return
    table = Table("claims", "first", "second", "difference", "resolution", title=f"Conflicts ({len(rows)})")
    for r in rows:
        a, b = r["a"], r["b"]
        res = r["resolution"]
        table.add_row(f"{a['id']} / {b['id']}",
                      f"{reading_of(a)}\n“{a['quote']}”\n{a['source_title']}",
                      f"{reading_of(b)}\n“{b['quote']}”\n{b['source_title']}",
                      f"{r['difference'] * 100:.1f}%\n{r['severity']}",
                      f"prefer {res['preferred']} ({res['reason']})" if res else "open")
    console.print(table)


@command(conflicts_app, "resolve")
def resolve_(
    first: Annotated[int, typer.Argument(help="One claim id.")],
    second: Annotated[int, typer.Argument(help="The other claim id.")],
    prefer: Annotated[int | None, typer.Option(help="The claim you prefer (else the precedence rule).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (needed with --prefer).")] = None,
) -> None:
    """Record which claim is preferred: by precedence (official over media, newer over older) or
    your choice with a reason. Both claims are kept."""
    with writing() as ctx:
        r = resolve(ctx, first, second, prefer, reason)
        text = f"claims {r.claim_a_id} / {r.claim_b_id}: prefer {r.preferred_claim_id} ({r.reason})"
    ok(text)
