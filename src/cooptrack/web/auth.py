"""Who is asking: a bearer token (`Authorization: Bearer ct_...`), or nobody. Each route
states what it needs (read, edit, review, admin); `--public-read` lets anonymous users read and
nothing else.

A token is checked against its scrypt hash once per process; after that its SHA-256 maps to
the token's id. Its row (revoked, expiry, its user's role and state) is read again whenever the
``access`` aspect of the data has changed (store/changes.py: any write to users or tokens, through
any door, gives it a new token at commit), which the request reads anyway with the data's other
aspects: a revoked token or a disabled user is refused by the next request, in every worker,
without a query per request while nothing changed. Expiry is checked against the clock on every
request."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import Engine, bindparam, select, update

from cooptrack.errors import Forbidden, NotAuthenticated
from cooptrack.services.context import Context
from cooptrack.services.users import allowed, find_token, usable
from cooptrack.store.models import ApiToken, User
from cooptrack.store.types import utcnow

LAST_USED_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str | None  # None: anonymous
    via: str  # token, session, anonymous

    @property
    def anonymous(self) -> bool:
        return self.role is None


ANONYMOUS = Principal("anonymous", None, "anonymous")


@dataclass(frozen=True)
class TokenRow:
    """What the per-request check reads of a token and its user."""

    revoked_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None
    name: str
    role: str
    active: bool
    token_hash: str


class VerifiedTokens:
    """SHA-256 of a verified token -> its id and stored hash, at most ``size`` of them (least
    recently used out); and each token's row as read while the access aspect had a given token."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._rows: dict[int, tuple[int, TokenRow]] = {}

    def row(self, token_id: int, access: int) -> TokenRow | None:
        """The token's row read while the access aspect was ``access``, if kept."""
        found = self._rows.get(token_id)
        return found[1] if found is not None and found[0] == access else None

    def keep(self, token_id: int, access: int, row: TokenRow) -> None:
        with self._lock:
            if len(self._rows) >= self.size:
                self._rows.clear()
            self._rows[token_id] = (access, row)

    def get(self, key: str) -> tuple[int, str] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: str, token_id: int, token_hash: str) -> None:
        with self._lock:
            self._items[key] = (token_id, token_hash)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated("the Authorization header must be 'Bearer <token>'; "
                               "`cooptrack token create USER` makes a token")
    return value.strip()


# One query for the token and its user (the per-request check: revoked, expired, disabled), built once.
TOKEN_CHECK = (select(ApiToken.revoked_at, ApiToken.expires_at, ApiToken.last_used_at, User.name, User.role,
                      User.active, ApiToken.token_hash)
               .join(User, User.id == ApiToken.user_id).where(ApiToken.id == bindparam("token_id")))


def principal_from_token(ctx: Context, token: str, cache: VerifiedTokens, engine: Engine,
                         access: Callable[[], int | None] | None = None) -> Principal:
    """The token's principal. ``access``: the access aspect's current token, read in this
    request's transaction (None when it cannot be read): the row kept for it is used."""
    key = hashlib.sha256(token.encode("utf-8")).hexdigest()
    known = cache.get(key)
    if known is None:
        found = find_token(ctx, token)  # scrypt: slow on purpose, once per process
        if found is None:
            raise NotAuthenticated("the token is not valid; check it, or create a new one with "
                                   "`cooptrack token create USER`")
        cache.put(key, found.id, found.token_hash)
        known = (found.id, found.token_hash)
    token_id, verified_hash = known
    version = access() if access is not None else None
    row = cache.row(token_id, version) if version is not None else None
    if row is None:
        found_row = ctx.session.execute(TOKEN_CHECK, {"token_id": token_id}).first()
        if found_row is None:
            raise NotAuthenticated("the token has been revoked or has expired, or its user is disabled")
        row = TokenRow(*found_row)
        if version is not None:
            cache.keep(token_id, version, row)
    now = utcnow()
    # The id now names another token when a restore brought back a backup's tokens under the
    # same ids: only the token verified against this hash is this one.
    if row.token_hash != verified_hash or not usable(row.revoked_at, row.expires_at, row.active, now):
        raise NotAuthenticated("the token has been revoked or has expired, or its user is disabled")
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
        _touch(engine, token_id, now)
        if version is not None:
            cache.keep(token_id, version, replace(row, last_used_at=now))
    return Principal(row.name, row.role, "token")


def _touch(engine: Engine, token_id: int, now: object) -> None:
    """Record when a token was last used, at most every few minutes, outside the request's own
    transaction (a read stays a read)."""
    try:
        with engine.connect() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
            conn.commit()
    except Exception:  # the database is busy: the stamp can wait for the next request
        return


def check_allowed(principal: Principal, action: str, public_read: bool) -> None:
    if action == "read" and public_read:
        return
    if principal.anonymous:
        raise NotAuthenticated("sign in, or send 'Authorization: Bearer <token>'; "
                               "`cooptrack token create USER` makes a token")
    if not allowed(principal.role, action):
        raise Forbidden(f"user '{principal.name}' has the role {principal.role}, which may not {action}; "
                        "an admin can change it with `cooptrack user set NAME --role ...`")

