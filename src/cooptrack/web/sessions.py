"""Web sign-in: a session cookie (HttpOnly, SameSite=Lax, Secure behind TLS) holding a random
secret whose SHA-256 is the session's key in the database, so every worker knows every session
and signing out ends it everywhere. Each session has a CSRF token that every form (and every
write through the API with the cookie) must send back. Failed sign-ins are rate-limited, counted
in the database for every worker."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cooptrack.errors import CooptrackError, Forbidden
from cooptrack.services.context import Context
from cooptrack.store.models import SignInFailures, User, WebSession
from cooptrack.store.types import utcnow
from cooptrack.web.auth import Principal

COOKIE = "cooptrack_session"
LOGIN_CSRF_COOKIE = "cooptrack_login_csrf"
LIFETIME = timedelta(hours=12)
CSRF_HEADER = "x-csrf-token"
KEY_LENGTH = 120  # of sign_in_failures.key


class TooManyAttempts(CooptrackError):
    http_status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class Sessions:
    def principal(self, request: Request, ctx: Context) -> Principal | None:
        secret = request.cookies.get(COOKIE)
        if not secret:
            return None
        row = ctx.session.scalar(select(WebSession).where(WebSession.secret_hash == _digest(secret)))
        if row is None or row.expires_at <= utcnow() or not row.user.active:
            return None
        request.state.web_session_csrf = row.csrf
        return Principal(row.user.name, row.user.role, "session")

    def start(self, ctx: Context, user: User, request: Request, response: Response) -> None:
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        ctx.session.execute(delete(WebSession).where(WebSession.expires_at <= now))  # tidy up old ones
        ctx.session.add(WebSession(secret_hash=_digest(secret), user_id=user.id, csrf=secrets.token_urlsafe(24),
                                   created_at=now, expires_at=now + LIFETIME))
        response.set_cookie(COOKIE, secret, max_age=int(LIFETIME.total_seconds()), path="/", httponly=True,
                            samesite="lax", secure=request.url.scheme == "https")

    def end(self, ctx: Context, request: Request, response: Response) -> None:
        secret = request.cookies.get(COOKIE)
        if secret:
            ctx.session.execute(delete(WebSession).where(WebSession.secret_hash == _digest(secret)))
        response.delete_cookie(COOKIE, path="/")


def check_csrf(request: Request, given: str | None) -> None:
    """A form or cookie-authenticated write must carry the session's CSRF token."""
    expected = getattr(request.state, "web_session_csrf", None)
    if not same(given, expected):
        raise Forbidden("the form's security token is missing or out of date; reload the page and try again")


class LoginThrottle:
    """At most ``limit`` failed sign-ins per client address and per user name within a window of
    ``window`` seconds from the first of them; then every attempt waits until the window ends.

    Counted in the database (``sign_in_failures``), in the caller's transaction, so that every
    worker process of the server, and the server after a restart, sees the same counts. A failure
    is counted by one INSERT ... ON CONFLICT DO UPDATE per key, which adds one to the count the
    database holds at that moment: failures in two workers at once are both counted. ``clock``:
    the current time (aware, UTC)."""

    def __init__(self, limit: int = 5, window: float = 900.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.limit, self.window, self.clock = limit, window, clock

    def check(self, session: Session, address: str, name: str) -> None:
        now = self.clock()
        held = session.scalar(select(func.max(SignInFailures.held_until))
                              .where(SignInFailures.key.in_(_keys(address, name)), SignInFailures.held_until > now))
        if held is not None:
            wait = int((held - now).total_seconds()) + 1
            raise TooManyAttempts(f"too many failed sign-ins; try again in {wait // 60 + 1} minutes", wait)

    def failed(self, session: Session, address: str, name: str) -> None:
        now = self.clock()
        ends = now + timedelta(seconds=self.window)
        row, first_held = SignInFailures, ends if self.limit <= 1 else None
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        # Keys in one order in every transaction: two on PostgreSQL never wait for each other's rows crosswise.
        for key in sorted(_keys(address, name)):
            fresh = insert(row).values(key=key, failures=1, window_ends=ends, held_until=first_held)
            ended = row.window_ends <= now
            # Every right-hand side reads the row as it was before this statement.
            session.execute(fresh.on_conflict_do_update(index_elements=[row.key], set_={
                "failures": case((ended, 1), else_=row.failures + 1),
                "window_ends": case((ended, fresh.excluded.window_ends), else_=row.window_ends),
                "held_until": case((ended, fresh.excluded.held_until),
                                   (row.failures + 1 >= self.limit, row.window_ends), else_=row.held_until),
            }))
        # Rows whose window has ended, bar those another transaction holds (it may be counting one):
        # this statement never waits, so it cannot close a circle of waiting transactions.
        ended_rows = select(row.key).where(row.window_ends <= now).with_for_update(skip_locked=True)
        session.execute(delete(row).where(row.key.in_(ended_rows.scalar_subquery())))

    def succeeded(self, session: Session, name: str) -> None:
        """The account's failures are forgiven; its client address's are not."""
        session.execute(delete(SignInFailures).where(SignInFailures.key == _key("user", name.strip().lower())))


def _keys(address: str, name: str) -> list[str]:
    return [_key("ip", address), _key("user", name.strip().lower())]


def _key(kind: str, value: str) -> str:
    """``kind:value``; a value too long for the column (no user name is) by its SHA-256."""
    key = f"{kind}:{value}"
    return key if len(key) <= KEY_LENGTH else f"{kind}#{_digest(value)}"
