"""Users, roles and API tokens. Passwords and tokens are stored only as scrypt hashes; a token
is shown once, when it is created. Nothing here ever logs or audits a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from cooptrack.errors import AlreadyExists, InvalidInput, NotFound
from cooptrack.findings import Finding
from cooptrack.services import audit
from cooptrack.services.context import Context, refuse
from cooptrack.store.models import ApiToken, User

ROLES = ("viewer", "editor", "reviewer", "admin")
# What each kind of action needs. Reading is open to every role (and to anonymous users when the
# server runs with --public-read); an admin may do everything.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "edit": frozenset({"editor", "admin"}),  # register, indicators, sources, imports
    "review": frozenset({"reviewer", "admin"}),  # claims and conflicts
    "admin": frozenset({"admin"}),  # users, tokens, settings
}
MIN_PASSWORD = 12
TOKEN_PREFIX = "ct_"
# scrypt cost: about 50 ms and 16 MiB per check on a current core; tokens are verified once per
# process and then remembered by their SHA-256 (see cooptrack.web.auth).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(secret.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                  dklen=len(_unb64(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, _unb64(digest))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def allowed(role: str | None, action: str) -> bool:
    return role is not None and role in PERMISSIONS[action]


def _public(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "role": user.role, "active": user.active,
            "has_password": user.password_hash is not None, "version": user.version}


def check_role(role: str) -> str:
    if role not in ROLES:
        refuse("unknown_role", f"role '{role}' is not a role; use one of {', '.join(ROLES)}", "role", role)
    return role


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        refuse("weak_password", f"the password is too short; use at least {MIN_PASSWORD} characters", "password")


def add_user(ctx: Context, name: str, role: str, password: str | None = None) -> User:
    name = name.strip()
    findings = []
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        findings.append(Finding("bad_name", f"user name '{name}' must be 1 to 100 characters without spaces",
                                field="name", value=name))
    if role not in ROLES:
        findings.append(Finding("unknown_role", f"role '{role}' is not a role; use one of {', '.join(ROLES)}",
                                field="role", value=role))
    if password is not None and len(password) < MIN_PASSWORD:
        findings.append(Finding("weak_password", f"the password is too short; use at least {MIN_PASSWORD} characters",
                                field="password"))
    if findings:
        raise InvalidInput.from_findings(findings)
    if ctx.session.scalar(select(User.id).where(User.name == name)) is not None:
        raise AlreadyExists(f"user '{name}' already exists; `cooptrack user list` shows the users")
    user = User(name=name, role=role, password_hash=hash_secret(password) if password else None, active=True)
    ctx.session.add(user)
    ctx.session.flush()
    audit.record(ctx, "create", "user", user.id, None, _public(user))
    return user


def get_user(ctx: Context, name: str) -> User:
    user = ctx.session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"user '{name}' does not exist; `cooptrack user list` shows the users")
    return user


def list_users(ctx: Context) -> list[dict[str, Any]]:
    return [_public(u) for u in ctx.session.scalars(select(User).order_by(User.name))]


def update_user(ctx: Context, name: str, role: str | None = None, active: bool | None = None,
                password: str | None = None) -> User:
    user = get_user(ctx, name)
    before = _public(user)
    if role is not None:
        user.role = check_role(role)
    if active is not None:
        user.active = active
    if password is not None:
        check_password(password)
        user.password_hash = hash_secret(password)
    ctx.session.flush()
    after = _public(user)
    if password is not None:
        after["password_changed"] = True  # that it changed, never what to
    audit.record(ctx, "update", "user", user.id, before, after)
    return user


def sign_in(ctx: Context, name: str, password: str) -> User | None:
    """The user for a name and password, or None; the same work is done for an unknown name, so
    timing does not tell which names exist."""
    user = ctx.session.scalar(select(User).where(User.name == name))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    good = verify_secret(password, stored)
    if user is None or not user.active or not user.password_hash or not good:
        return None
    return user


_DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))


@dataclass
class NewToken:
    id: int
    user: str
    name: str
    token: str  # shown once
    expires_at: datetime | None


def create_token(ctx: Context, user_name: str, name: str = "api", days: int | None = None) -> NewToken:
    user = get_user(ctx, user_name)
    if not user.active:
        refuse("inactive_user", f"user '{user_name}' is disabled; enable it before creating tokens", "user", user_name)
    if days is not None and not 1 <= days <= 3650:
        refuse("bad_expiry", f"--days {days} must be between 1 and 3650", "days", days)
    prefix = secrets.token_hex(4)
    while ctx.session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)) is not None:
        prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = f"{TOKEN_PREFIX}{prefix}_{secret}"
    expires = ctx.now + timedelta(days=days) if days else None
    row = ApiToken(user_id=user.id, name=name.strip() or "api", prefix=prefix, token_hash=hash_secret(token),
                   created_at=ctx.now, expires_at=expires)
    ctx.session.add(row)
    ctx.session.flush()
    audit.record(ctx, "create", "api_token", row.id, None, audit.jsonable(token_view(row, user)))
    return NewToken(row.id, user.name, row.name, token, expires)


def token_view(row: ApiToken, user: User | None = None) -> dict[str, Any]:
    return {"id": row.id, "user": (user or row.user).name, "name": row.name, "prefix": TOKEN_PREFIX + row.prefix,
            "created_at": row.created_at, "expires_at": row.expires_at, "last_used_at": row.last_used_at,
            "revoked_at": row.revoked_at}


def list_tokens(ctx: Context, user_name: str | None = None) -> list[dict[str, Any]]:
    query = select(ApiToken).order_by(ApiToken.id)
    if user_name:
        query = query.where(ApiToken.user_id == get_user(ctx, user_name).id)
    return [token_view(t) for t in ctx.session.scalars(query)]


def revoke_token(ctx: Context, token_id: int) -> ApiToken:
    row = ctx.session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} does not exist; `cooptrack token list` shows the ids")
    if row.revoked_at is None:
        before = audit.jsonable(token_view(row))
        row.revoked_at = ctx.now
        ctx.session.flush()
        audit.record(ctx, "revoke", "api_token", row.id, before, audit.jsonable(token_view(row)))
    return row


def split_token(token: str) -> str | None:
    """The public prefix of a well-formed token, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
    if not sep or len(prefix) != 8 or not secret:
        return None
    return prefix


def find_token(ctx: Context, token: str) -> ApiToken | None:
    """The token row for a presented bearer token, verified against its hash (slow: scrypt)."""
    prefix = split_token(token)
    if prefix is None:
        return None
    row = ctx.session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if row is None or not verify_secret(token, row.token_hash):
        return None
    return row


def token_usable(row: ApiToken, now: datetime) -> bool:
    return usable(row.revoked_at, row.expires_at, row.user.active, now)


def usable(revoked_at: datetime | None, expires_at: datetime | None, user_active: bool, now: datetime) -> bool:
    """A token works when not revoked, not expired, and its user is enabled."""
    return revoked_at is None and (expires_at is None or expires_at > now) and user_active
