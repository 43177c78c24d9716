"""`cooptrack user add|list|set` and `cooptrack token create|list|revoke`. There is no default
user and no default password: the first admin is created with `cooptrack user add`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from cooptrack.cli.common import JSON_OPTION, command, console, ok, print_json, reading, writing
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.services.users import ROLES, create_token, list_tokens, list_users, revoke_token
from cooptrack.services.users import add_user as add_user_service
from cooptrack.services.users import update_user as update_user_service

user_app = typer.Typer(help="Users and their roles (viewer, editor, reviewer, admin).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: shown once, stored hashed.", no_args_is_help=True)

PASSWORD_STDIN = typer.Option("--password-stdin", help="Read the password from the first line of standard input.")


def _read_password(from_stdin: bool, ask: bool) -> str | None:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            message = "--password-stdin: standard input held no password"
            raise InvalidInput(message, [Finding("no_password", message, field="--password-stdin")])
        return line
    if not ask:
        return None
    if not sys.stdin.isatty():
        message = "no terminal to ask for a password; pass it with --password-stdin, or use --no-password"
        raise InvalidInput(message, [Finding("no_password", message, field="--password")])
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@command(user_app, "add")
def add_user(
    name: Annotated[str, typer.Argument(help="User name (no spaces).")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")],
    password: Annotated[bool, typer.Option(
        "--password/--no-password", help="Ask for a password (web sign-in); --no-password: tokens only.")] = True,
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
) -> None:
    """Add a user. The first admin is created this way: there is no default account."""
    secret = _read_password(password_stdin, password)
    with writing() as ctx:
        user = add_user_service(ctx, name, role, secret)
        text = f"user {user.name} added with role {user.role}" + ("" if secret else " (no password: tokens only)")
    ok(text)


@command(user_app, "list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """The users, their roles and whether they can sign in with a password."""
    with reading() as ctx:
        rows = list_users(ctx)
    if as_json:
        print_json(rows)
        return
    table = Table("name", "role", "active", "password", title="Users")
    for r in rows:
        table.add_row(r["name"], r["role"], "yes" if r["active"] else "no", "yes" if r["has_password"] else "no")
    console.print(table)


@command(user_app, "set")
def set_(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str | None, typer.Option(help=f"New role: {', '.join(ROLES)}.")] = None,
    active: Annotated[bool | None, typer.Option("--enable/--disable", help="Allow or stop sign-in.")] = None,
    new_password: Annotated[bool, typer.Option("--new-password", help="Ask for a new password.")] = False,
    password_stdin: Annotated[bool, PASSWORD_STDIN] = False,
) -> None:
    """Change a user's role, enable or disable it, or set its password."""
    secret = _read_password(password_stdin, new_password)
    with writing() as ctx:
        user = update_user_service(ctx, name, role, active, secret)
        text = f"user {user.name}: role {user.role}, {'active' if user.active else 'disabled'}"
    ok(text)


@command(token_app, "create")
def create(
    user: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    days: Annotated[int | None, typer.Option(help="Expire after this many days (default: never).")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a token. It is printed once, now: store it; cooptrack keeps only its hash."""
    with writing() as ctx:
        new = create_token(ctx, user, name, days)
    if as_json:
        print_json({"id": new.id, "user": new.user, "name": new.name, "token": new.token, "expires_at": new.expires_at})
        return
    ok(f"token {new.id} for {new.user} ({new.name}); it is shown only this once:")
    sys.stdout.write(new.token + "\n")


@command(token_app, "list")
def tokens(
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Tokens by id, user, name and prefix (never the secret)."""
    with reading() as ctx:
        rows = list_tokens(ctx, user)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "user", "name", "prefix", "created", "expires", "last used", "revoked", title="Tokens")
    for r in rows:
        def when(value: object) -> str:
            return value.strftime("%Y-%m-%d %H:%M") if value else "-"  # type: ignore[attr-defined]
        table.add_row(str(r["id"]), r["user"], r["name"], r["prefix"], when(r["created_at"]), when(r["expires_at"]),
                      when(r["last_used_at"]), when(r["revoked_at"]))
    console.print(table)


@command(token_app, "revoke")
def revoke(token_id: Annotated[int, typer.Argument(help="Token id (`cooptrack token list`).")]) -> None:
    """Revoke a token: it stops working at once."""
    with writing() as ctx:
        row = revoke_token(ctx, token_id)
        text = f"token {row.id} revoked"
    ok(text)
