"""Users, roles, tokens and the append-only audit log, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from conftest import count_rows
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from cooptrack.errors import AlreadyExists, InvalidInput, NotFound
from cooptrack.services.users import add_user as add
from cooptrack.services.users import (
    allowed,
    create_token,
    find_token,
    list_tokens,
    revoke_token,
    sign_in,
    token_usable,
    update_user,
    verify_secret,
)
from cooptrack.store.models import ApiToken, AuditEvent, User

PASSWORD = "correct horse battery"


def test_users_roles_and_passwords(write, read):
    with write() as ctx:
        add(ctx, "alice", "admin", PASSWORD)
        add(ctx, "bot", "editor")
    with read() as ctx:
        alice = ctx.session.scalar(select(User).where(User.name == "alice"))
        assert alice.password_hash.startswith("scrypt$") and PASSWORD not in alice.password_hash
        assert verify_secret(PASSWORD, alice.password_hash)
        assert sign_in(ctx, "alice", PASSWORD).name == "alice"
        assert sign_in(ctx, "alice", PASSWORD + "!") is None
        assert sign_in(ctx, "nobody", PASSWORD) is None
        assert sign_in(ctx, "bot", "") is None  # tokens only
    with write() as ctx:
        update_user(ctx, "alice", active=False)
    with read() as ctx:
        assert sign_in(ctx, "alice", PASSWORD) is None


@pytest.mark.parametrize("name, role, password, code", [
    ("bob", "god", None, "unknown_role"),
    ("bob", "viewer", "short", "weak_password"),
    ("two words", "viewer", None, "bad_name"),
    ("", "viewer", None, "bad_name"),
])
def test_bad_users_are_refused_with_findings(write, store, name, role, password, code):
    before = count_rows(store)
    with pytest.raises(InvalidInput) as caught, write() as ctx:
        add(ctx, name, role, password)
    assert [f.code for f in caught.value.findings] == [code]
    assert count_rows(store) == before


def test_duplicate_user_is_refused(write):
    with write() as ctx:
        add(ctx, "alice", "viewer")
    with pytest.raises(AlreadyExists, match="user 'alice' already exists"), write() as ctx:
        add(ctx, "alice", "admin")


def test_permissions_by_role():
    assert [r for r in ("viewer", "editor", "reviewer", "admin") if allowed(r, "edit")] == ["editor", "admin"]
    assert [r for r in ("viewer", "editor", "reviewer", "admin") if allowed(r, "review")] == ["reviewer", "admin"]
    assert [r for r in ("viewer", "editor", "reviewer", "admin") if allowed(r, "admin")] == ["admin"]
    assert all(allowed(r, "read") for r in ("viewer", "editor", "reviewer", "admin"))
    assert not allowed(None, "read")


def test_tokens_are_shown_once_stored_hashed_and_revocable(write, read):
    with write() as ctx:
        add(ctx, "bot", "editor")
        new = create_token(ctx, "bot", "ci", days=30)
    assert new.token.startswith("ct_") and len(new.token) > 40
    with read() as ctx:
        row = ctx.session.get(ApiToken, new.id)
        assert new.token not in row.token_hash and row.token_hash.startswith("scrypt$")
        found = find_token(ctx, new.token)
        assert found is not None and found.id == new.id and token_usable(found, ctx.now)
        assert find_token(ctx, new.token[:-1] + ("A" if new.token[-1] != "A" else "B")) is None
        assert find_token(ctx, "ct_nothing") is None
        assert find_token(ctx, "Bearer nonsense") is None
        assert not token_usable(found, ctx.now + timedelta(days=31))  # expired
        listed = list_tokens(ctx, "bot")
        assert listed[0]["prefix"] == new.token[:11] and "token" not in listed[0]
        events = ctx.session.scalars(select(AuditEvent).where(AuditEvent.entity.in_(("user", "api_token")))).all()
        assert new.token not in json.dumps([e.after for e in events])
        assert new.token[12:] not in json.dumps([e.after for e in events])
    with write() as ctx:
        revoke_token(ctx, new.id)
    with read() as ctx:
        row = find_token(ctx, new.token)
        assert row is not None and not token_usable(row, ctx.now)
    with pytest.raises(NotFound, match="token 999 does not exist"), write() as ctx:
        revoke_token(ctx, 999)


def test_disabled_user_tokens_stop_working(write, read):
    with write() as ctx:
        add(ctx, "bot", "editor")
        new = create_token(ctx, "bot")
        update_user(ctx, "bot", active=False)
    with read() as ctx:
        row = find_token(ctx, new.token)
        assert row is not None and not token_usable(row, ctx.now)


def test_the_audit_log_cannot_be_edited_even_in_sql(write, store):
    with write() as ctx:
        add(ctx, "alice", "viewer")
    for statement in (update(AuditEvent).values(actor="mallory"), delete(AuditEvent)):
        with pytest.raises(DBAPIError, match="append-only"), store.write() as session:
            session.execute(statement)
    if store.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), store.write() as session:
            session.execute(text("TRUNCATE audit_events"))
    with store.read() as session:
        assert session.scalar(select(AuditEvent.actor).where(AuditEvent.entity == "user")) != "mallory"
