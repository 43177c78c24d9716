"""`cooptrack user` and `cooptrack token` as a user types them, with the bad inputs."""

from __future__ import annotations

import json

from conftest import count_rows


def test_first_admin_then_a_token_shown_once(cli, store):
    made = cli("user", "add", "alice", "--role", "admin", "--password-stdin", input="correct horse battery\n")
    assert made.exit_code == 0, made.stderr
    assert "user alice added with role admin" in made.stdout
    bot = cli("user", "add", "bot", "--role", "editor", "--no-password")
    assert bot.exit_code == 0 and "tokens only" in bot.stdout
    token = cli("token", "create", "bot", "--name", "nightly", "--days", "30")
    assert token.exit_code == 0
    secret = token.stdout.strip().splitlines()[-1]
    assert secret.startswith("ct_") and "shown only this once" in token.stdout
    listed = json.loads(cli("token", "list", "--json").stdout)
    assert [(t["user"], t["name"], t["revoked_at"]) for t in listed] == [("bot", "nightly", None)]
    assert secret not in json.dumps(listed) and listed[0]["prefix"] == secret[:11]
    users = json.loads(cli("user", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["has_password"]) for u in users] == [("alice", "admin", True),
                                                                         ("bot", "editor", False)]
    audit = cli("audit", "--json", "--limit", "10").stdout
    assert secret not in audit and "correct horse battery" not in audit
    revoked = cli("token", "revoke", str(listed[0]["id"]))
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert json.loads(cli("token", "list", "--json").stdout)[0]["revoked_at"] is not None
    changed = cli("user", "set", "bot", "--role", "reviewer", "--disable")
    assert changed.exit_code == 0 and "role reviewer, disabled" in changed.stdout


def test_bad_user_and_token_input(cli, store):
    before = count_rows(store)
    cases = [
        (("user", "add", "x", "--role", "god", "--no-password"), "role 'god' is not a role"),
        (("user", "add", "x", "--role", "admin", "--password-stdin"), "standard input held no password"),
        (("user", "add", "x", "--role", "admin"), "no terminal to ask for a password"),
        (("token", "create", "nobody"), "user 'nobody' does not exist"),
        (("token", "revoke", "42"), "token 42 does not exist"),
        (("user", "set", "nobody", "--role", "viewer"), "user 'nobody' does not exist"),
    ]
    for args, message in cases:
        result = cli(*args, input="")
        assert result.exit_code == 1, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
    short = cli("user", "add", "y", "--role", "viewer", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.stderr
    assert count_rows(store) == before
    cli("user", "add", "z", "--role", "viewer", "--no-password")
    again = cli("user", "add", "z", "--role", "viewer", "--no-password")
    assert again.exit_code == 1 and "user 'z' already exists" in again.stderr
    days = cli("token", "create", "z", "--days", "0")
    assert days.exit_code == 1 and "--days 0 must be between 1 and 3650" in days.stderr
