"""Signing in and out of the web pages. The sign-in form carries a one-time CSRF value that
must match its cookie (there is no session yet to hold one); signing out needs the session's."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cooptrack.services.context import Context
from cooptrack.services.users import sign_in
from cooptrack.web.context import identify, store_of
from cooptrack.web.pages_base import render, safe_next
from cooptrack.web.sessions import LOGIN_CSRF_COOKIE, check_csrf, same

router = APIRouter(include_in_schema=False)


def _form(request: Request, next_page: str, status: int = 200, error: str | None = None, name: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status=status, csrf=token, next_page=safe_next(next_page), error=error,
                      name=name)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _form(request, next or "/")


@router.post("/login")
def login(request: Request, name: str = Form(""), password: str = Form(""), csrf: str = Form(""),
          next: str = Form("/")) -> Response:
    if not same(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _form(request, next, 403, "expired")
    address = request.client.host if request.client else "?"
    throttle = request.app.state.throttle
    store = store_of(request)
    # One transaction: the throttle's counts are read, and a failure counted, with the attempt.
    with store.write() as session:
        throttle.check(session, address, name)
        ctx = Context(session, actor=name or "anonymous", request_id=getattr(request.state, "request_id", None))
        user = sign_in(ctx, name.strip(), password)
        if user is None:
            throttle.failed(session, address, name)
            return _form(request, next, 401, "wrong", name=name)
        throttle.succeeded(session, name)
        response = RedirectResponse(safe_next(next), status_code=303)
        request.app.state.sessions.start(ctx, user, request, response)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    store = store_of(request)
    with store.read() as session:
        identify(request, Context(session, actor="anonymous"))
    check_csrf(request, csrf)
    response = RedirectResponse("/", status_code=303)
    with store.write() as session:
        request.app.state.sessions.end(Context(session, actor="web"), request, response)
    return response
