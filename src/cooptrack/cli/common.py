"""What every command shares: opening the store, transactions, output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from cooptrack.config import load_settings
from cooptrack.domain.period import parse_date
from cooptrack.errors import CooptrackError, StaleVersion
from cooptrack.findings import Finding
from cooptrack.services.audit import jsonable
from cooptrack.services.context import Context
from cooptrack.store import Store

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


def command(app: typer.Typer, name: str | None = None) -> Callable[[F], F]:
    """Register a command whose CooptrackErrors become a message and an exit code, in one
    place for every command."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except CooptrackError as exc:
                report_error(exc)
                raise typer.Exit(exc.exit_code) from None
            except IntegrityError as exc:  # a rule the services missed, caught by the database
                detail = str(exc.orig).strip().splitlines()[0]
                report_error(CooptrackError(f"the database refused the change ({detail}); nothing was written"))
                raise typer.Exit(1) from None
            except StaleDataError:  # another writer changed the row between this one's read and write
                report_error(StaleVersion("the record was changed by someone else meanwhile; nothing was written: "
                                          "look at it again and reapply your change"))
                raise typer.Exit(1) from None

        app.command(name)(run)
        return func

    return decorate


def nothing_to_edit(cli_ctx: typer.Context, options: str) -> NoReturn:
    """An edit command given no field to change: a usage error (exit code 2), nothing read or
    written, naming the options it takes."""
    cli_ctx.fail(f"nothing to edit: give at least one of {options}")


def report_edit(what: str, before: dict[str, Any], after: dict[str, Any], as_json: bool) -> None:
    """What an edit command prints: the record as JSON, or which of its fields changed and its
    version (``before`` and ``after``: the record as the command shows it)."""
    if as_json:
        print_json(after)
        return
    changed = [key for key in after if key != "version" and after[key] != before.get(key)]
    if changed:
        ok(f"{what} edited: {', '.join(changed)} (version {after['version']})")
    else:
        ok(f"{what} unchanged: it already reads so (version {after['version']})")


def report_error(exc: CooptrackError) -> None:
    findings: list[Finding] = getattr(exc, "findings", [])
    if len(findings) <= 1:
        err_console.print(f"[bold red]error:[/bold red] {exc.message}", soft_wrap=True)
    else:
        err_console.print(f"[bold red]error:[/bold red] {len(findings)} problems; nothing was written", soft_wrap=True)
        for f in findings:
            where = ", ".join(x for x in (f.source, f"row {f.row}" if f.row else None, f.field) if x)
            err_console.print(f"  - {where + ': ' if where else ''}{f.message}", soft_wrap=True)


JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")


def open_store(check: bool = True) -> Store:
    store = Store(load_settings().database_url)
    if check:
        store.check()
    return store


@contextmanager
def writing() -> Iterator[Context]:
    """One all-or-nothing transaction for a command that changes data."""
    store = open_store()
    try:
        with store.write() as session:
            yield Context(session, load_settings().actor)
    finally:
        store.dispose()


@contextmanager
def reading() -> Iterator[Context]:
    store = open_store()
    try:
        with store.read() as session:
            yield Context(session, load_settings().actor)
    finally:
        store.dispose()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(data), ensure_ascii=False, indent=2) + "\n")


def as_of_date(text: str | None) -> date | None:
    return parse_date(text, "--as-of") if text else None


def number(value: Decimal | int | str | None) -> str:
    """Thousands separators, no exponent: 2500000000 -> 2,500,000,000."""
    if value is None:
        return "-"
    value = Decimal(value)
    return f"{value:,.0f}" if value == value.to_integral() else f"{value:,}"


def money(amount: Decimal | str | None, currency: str | None) -> str:
    return "-" if amount is None else f"{number(amount)} {currency}"


_SCALES = ((Decimal(10) ** 12, "tn"), (Decimal(10) ** 9, "bn"), (Decimal(10) ** 6, "m"))


def compact(value: Decimal | str | None, unit: str | None = None) -> str:
    """Short figures for tables people read (2,500,000,000 -> 2.5 bn); --json keeps them exact."""
    if value is None:
        return "-"
    value = Decimal(value)
    text = number(value)
    for scale, word in _SCALES:
        if abs(value) >= scale:
            short = (value / scale).quantize(Decimal("0.01")).normalize()
            text = f"{short:f} {word}"
            break
    return f"{text} {unit}" if unit else text


def ok(message: str) -> None:
    console.print(f"[green]✓[/green] {message}")
