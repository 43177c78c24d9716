"""Per-request plumbing: the store, who is asking, a read or a write transaction, the request
id, query parsing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from fastapi import Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cooptrack.domain.period import parse_date
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.services.context import Context
from cooptrack.store import Store
from cooptrack.store.changes import ACCESS, token_of
from cooptrack.web.auth import ANONYMOUS, Principal, bearer, check_allowed, principal_from_token
from cooptrack.web.cache import DataVersion, reads_of
from cooptrack.web.sessions import CSRF_HEADER, check_csrf


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


class DataTokens:
    """Every aspect's change token (store/changes.py), read at most once, in the transaction of
    ``session``: what a cached answer, a worker's rate table and its token checks are kept for."""

    def __init__(self, request: Request, session: Session) -> None:
        self._version: DataVersion = request.app.state.cache.version
        self._session = session
        self._read = False
        self._tokens: dict[str, int] | None = None

    def __call__(self) -> dict[str, int] | None:
        if not self._read:
            self._tokens = self._version.tokens(self._session)
            self._read = True
        return self._tokens


def _access(tokens: Callable[[], dict[str, int] | None]) -> Callable[[], int | None]:
    def access() -> int | None:
        found = tokens()
        return None if found is None else token_of(found, ACCESS)
    return access


def _context(request: Request, session: Session) -> Context:
    return Context(session, actor="anonymous", request_id=_request_id(request),
                   tokens=DataTokens(request, session))


def identify(request: Request, ctx: Context) -> Principal:
    """The principal of this request (cached on it): a token, a signed-in session, or anonymous."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    token = bearer(request)
    found = ANONYMOUS
    if token is not None:
        found = principal_from_token(ctx, token, request.app.state.tokens, store_of(request).engine,
                                     _access(ctx.tokens) if ctx.tokens is not None else None)
    else:
        sessions = getattr(request.app.state, "sessions", None)
        if sessions is not None:
            found = sessions.principal(request, ctx) or ANONYMOUS
    request.state.principal = found
    return found


def read_context(request: Request) -> Iterator[Context]:
    """A dependency: one read transaction for the request, for anyone allowed to read."""
    with store_of(request).read() as session:
        ctx = _context(request, session)
        who = identify(request, ctx)
        check_allowed(who, "read", request.app.state.public_read)
        ctx.actor = who.name
        yield ctx


async def in_read(request: Request, work: Callable[[Context], Response]) -> Response:
    """``work`` in one read transaction, for anyone allowed to read. The response cache is
    consulted in the same transaction: the answer kept for the version of what the path reads, or
    ``work``'s answer, kept for that version (see web/cache.py).

    Where it runs (``app.state.read_threads``, see create_app): in a worker thread (the
    dependency above takes three thread switches: for the hot read routes, one), or on the event
    loop's own thread. The second costs no thread switch and no contention for the interpreter
    lock between the loop and its threads: with several worker processes (`serve --workers N`) it
    serves a quarter more reads per second on two cores (bench/team), and the other processes
    answer while one waits for the database; in one process, a long read would hold up the rest."""
    cache = request.app.state.cache
    path = request.url.path
    cached = request.method == "GET" and cache.cacheable(path)

    def run() -> Response:
        with store_of(request).read(transaction=False) as session:
            tokens = DataTokens(request, session)
            ctx = Context(session, actor="anonymous", request_id=_request_id(request), tokens=tokens)
            who = identify(request, ctx)
            check_allowed(who, "read", request.app.state.public_read)
            ctx.actor = who.name
            if not cached:
                return work(ctx)
            # The version is read before the answer is computed: a change committed meanwhile
            # makes the next request compute again, never serves an answer older than its version.
            version = DataVersion.of(reads_of(path), tokens())
            key = f"{path}?{request.url.query}"
            hit = cache.get(key, version)
            if hit is not None:
                body, headers = hit
                return Response(body, media_type="application/json", headers={**headers, "X-Cache": "hit"})
            response = work(ctx)
            if response.status_code == 200:
                kept = {k: v for k, v in response.headers.items() if k.lower() == "etag"}
                cache.put(key, version, bytes(response.body), kept)
                response.headers["X-Cache"] = "miss"
            return response

    if request.app.state.read_threads:
        return await run_in_threadpool(run)
    return run()


def write_context(action: str) -> Callable[[Request], Iterator[Context]]:
    """A dependency factory: one all-or-nothing write transaction for a principal allowed to
    ``action`` (edit, review, admin); who they are is settled before the writer lock is taken."""

    def dependency(request: Request) -> Iterator[Context]:
        store = store_of(request)
        with store.read(transaction=False) as session:
            who = identify(request, _context(request, session))
        check_allowed(who, action, public_read=False)
        if who.via == "session":  # a browser's cookie rides along on any site's request: ask for the form token
            check_csrf(request, request.headers.get(CSRF_HEADER))
        with store.write() as session:
            yield Context(session, actor=who.name, request_id=_request_id(request))

    return dependency


def require(action: str) -> Callable[[Request], Principal]:
    """A dependency: the principal, if allowed to ``action``; no transaction is kept open."""

    def dependency(request: Request) -> Principal:
        with store_of(request).read(transaction=False) as session:
            who = identify(request, _context(request, session))
        check_allowed(who, action, public_read=request.app.state.public_read if action == "read" else False)
        if who.via == "session" and action != "read":
            check_csrf(request, request.headers.get(CSRF_HEADER))
        return who

    return dependency


def as_of_param(text: str | None, name: str = "as_of") -> date | None:
    if text is None or text.strip() == "":
        return None
    try:
        return parse_date(text, name)
    except InvalidInput:
        message = f"{name} '{text}' is not a date; write YYYY-MM-DD"
        raise InvalidInput(message, [Finding("bad_parameter", message, field=name, value=text)]) from None


def int_param(text: str | None, name: str, default: int) -> int:
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text)
    except ValueError:
        message = f"{name} '{text}' is not a whole number"
        raise InvalidInput(message, [Finding("bad_parameter", message, field=name, value=text)]) from None
    if abs(value) > 1_000_000_000:
        message = f"{name} {text} is out of range"
        raise InvalidInput(message, [Finding("bad_parameter", message, field=name, value=text[:50])])
    return value
