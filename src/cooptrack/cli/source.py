"""`cooptrack source add|list|show|edit`: the documents figures come from."""

from __future__ import annotations

from pathlib import Path
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
from cooptrack.services.documents import DEFAULT_MAX_MB, read_document
from cooptrack.services.sources import SourceSpec, add_source, get_source, list_sources, update_source
from cooptrack.store.models import Source

app = typer.Typer(help="Sources: the documents figures come from.", no_args_is_help=True)

TITLE = typer.Option(help="Title (default: the file name).")
PUBLISHER = typer.Option(help="Publisher, e.g. Qazaq TV.")
URL = typer.Option(help="Address of the original.")
PUBLISHED = typer.Option(help="Publication date: YYYY-MM-DD (or YYYY-MM, YYYY).")
LANG = typer.Option("--lang", help="Language: en or ru (default: detected).")
KIND = typer.Option(help="official, media, dataset or company.")
MAX_MB = typer.Option("--max-mb", help="Refuse files larger than this many megabytes.")


def source_spec(path: Path, title: str | None, publisher: str | None, url: str | None, published: str | None,
                lang: str | None, kind: str | None) -> SourceSpec:
    return SourceSpec(title=title or path.stem, publisher=publisher, url=url, published=published,
                      language=lang, kind=kind)


@command(app, "add")
def add(
    path: Annotated[Path, typer.Argument(help="A text, HTML or PDF file.")],
    title: Annotated[str | None, TITLE] = None,
    publisher: Annotated[str | None, PUBLISHER] = None,
    url: Annotated[str | None, URL] = None,
    published: Annotated[str | None, PUBLISHED] = None,
    lang: Annotated[str | None, LANG] = None,
    kind: Annotated[str | None, KIND] = None,
    max_mb: Annotated[int, MAX_MB] = DEFAULT_MAX_MB,
    as_json: bool = JSON_OPTION,
) -> None:
    """Store a document's text with its SHA-256 (the same text again finds the existing source)."""
    document = read_document(path, max_mb)
    spec = source_spec(path, title, publisher, url, published, lang, kind)
    spec.text = document.text
    with writing() as ctx:
        count_before = len(list_sources(ctx))
        source = add_source(ctx, spec)
        source.filename = source.filename or document.filename
        source.media_type = source.media_type or document.media_type
        created = len(list_sources(ctx)) > count_before
        result: dict[str, Any] = {"id": source.id, "title": source.title, "sha256": source.sha256,
                                  "characters": len(document.text), "created": created}
    if as_json:
        print_json(result)
    else:
        ok(("stored" if created else "already stored as") + f" source {result['id']}: {result['title']} "
           f"({result['characters']:,} characters)")


@command(app, "list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List sources."""
    with reading() as ctx:
        rows: list[dict[str, Any]] = [
            {"id": s.id, "code": s.code, "title": s.title, "publisher": s.publisher, "published": s.published,
             "language": s.language, "kind": s.kind, "characters": len(s.text) if s.text else 0}
            for s in list_sources(ctx)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "title", "publisher", "published", "lang", "kind", title="Sources")
    for r in rows:
        table.add_row(str(r["id"]) + (f" ({r['code']})" if r["code"] else ""), r["title"], r["publisher"] or "",
                      r["published"] or "", r["language"] or "", r["kind"] or "")
    console.print(table)


def _shown(s: Source, text: bool = True) -> dict[str, Any]:
    """A source as `source show --json` prints it (`source edit --json`: without its text)."""
    data: dict[str, Any] = {"id": s.id, "code": s.code, "title": s.title, "publisher": s.publisher, "url": s.url,
                            "published": s.published, "language": s.language, "kind": s.kind, "credit": s.credit,
                            "note": s.note, "sha256": s.sha256, "filename": s.filename, "version": s.version}
    if text:
        data["text"] = s.text
    return data


@command(app, "show")
def show(source: Annotated[str, typer.Argument(help="Source id.")], as_json: bool = JSON_OPTION) -> None:
    """Show a source with its text."""
    with reading() as ctx:
        data = _shown(get_source(ctx, source))
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{data['title']}[/bold] (source {data['id']})")
    for key in ("publisher", "published", "url", "language", "kind", "credit", "note", "filename", "sha256"):
        if data[key]:
            console.print(f"{key}: {data[key]}")
    if data["text"]:
        console.print()
        console.print(data["text"], markup=False)


@command(app, "edit")
def edit(
    cli_ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Source id.")],
    title: Annotated[str | None, typer.Option(help="Title (cannot be cleared).")] = None,
    publisher: Annotated[str | None, PUBLISHER] = None,
    url: Annotated[str | None, URL] = None,
    published: Annotated[str | None, PUBLISHED] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Language: en or ru.")] = None,
    kind: Annotated[str | None, KIND] = None,
    credit: Annotated[str | None, typer.Option(help='Whom to credit, e.g. "photo: kaztag.kz".')] = None,
    note: Annotated[str | None, typer.Option(help="Free text.")] = None,
    if_version: Annotated[int | None, typer.Option(
        "--if-version", help="Refuse unless the source is at this version (see `source show --json`).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the edited source as JSON, as `source show --json` does but without its text.")] = False,
) -> None:
    """Correct a source's description (not its id or text); "" clears a field, options not given stay."""
    changes: dict[str, Any] = {key: value for key, value in (
        ("title", title), ("publisher", publisher), ("url", url), ("published", published), ("language", lang),
        ("kind", kind), ("credit", credit), ("note", note)) if value is not None}
    if not changes:
        nothing_to_edit(cli_ctx, "--title, --publisher, --url, --published, --lang, --kind, --credit or --note")
    with writing() as ctx:
        found = get_source(ctx, source)
        before = _shown(found, text=False)
        edited = update_source(ctx, source, changes, found.version if if_version is None else if_version)
        data = _shown(edited, text=False)
    report_edit(f"source {data['code'] or data['id']}", before, data, as_json)
