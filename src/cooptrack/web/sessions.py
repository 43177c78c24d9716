"""Web sign-in: a session cookie (HttpOnly, SameSite=Lax, Secure behind TLS) holding a random
secret whose SHA-256 is the session's key in the database, so every worker knows every session
and signing out ends it everywhere. Each session has a CSRF token that every form (and every
write through the API with the cookie) must send back. Sign-in attempts are rate-limited."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import timedelta

from fastapi import Request, Response
from sqlalchemy import delete, select

from cooptrack.errors import CooptrackError, Forbidden
from cooptrack.services.context import Context
from cooptrack.store.models import User, WebSession
from cooptrack.store.types import utcnow
from cooptrack.web.auth import Principal

COOKIE = "cooptrack_session"
LOGIN_CSRF_COOKIE = "cooptrack_login_csrf"
LIFETIME = timedelta(hours=12)
CSRF_HEADER = "x-csrf-token"


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
    """At most ``limit`` failed sign-ins per client address and per user name within ``window``
    seconds; then the next attempt waits. Kept per process."""

    def __init__(self, limit: int = 5, window: float = 900.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _keys(self, address: str, name: str) -> list[str]:
        return [f"ip:{address}", f"user:{name.strip().lower()}"]

    def check(self, address: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in self._keys(address, name):
                failures = self._failures[key]
                while failures and failures[0] <= now - self.window:
                    failures.popleft()
                if len(failures) >= self.limit:
                    wait = int(failures[0] + self.window - now) + 1
                    raise TooManyAttempts(f"too many failed sign-ins; try again in {wait // 60 + 1} minutes", wait)

    def failed(self, address: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in self._keys(address, name):
                self._failures[key].append(now)

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{name.strip().lower()}", None)
