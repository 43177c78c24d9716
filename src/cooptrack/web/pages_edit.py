"""Editing from the web pages, for signed-in users: a project's fields and its participants, a
dated status event, the review of a claim; and the audit log. Every form carries the session's
CSRF token and goes through the same service function as the API and the command line. An
invalid form comes back with each finding beside its field; an edit based on an outdated version
comes back with what changed meanwhile, and nothing is written."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from cooptrack.errors import InvalidInput, StaleVersion
from cooptrack.findings import Finding
from cooptrack.services.audit import search as audit_search
from cooptrack.services.browse import claim_view, project_detail
from cooptrack.services.claims import AcceptOptions, accept, get_claim, reject
from cooptrack.services.context import Context
from cooptrack.services.editing import check_version, project_spec, update_project
from cooptrack.services.projects import ROLES, StatusSpec, add_status_event, get_project
from cooptrack.web.auth import check_allowed
from cooptrack.web.context import as_of_param, identify, int_param, store_of
from cooptrack.web.pages_base import render
from cooptrack.web.sessions import check_csrf

router = APIRouter(include_in_schema=False)

# The project fields the edit form offers, in order; dates and amounts are checked by the service.
FIELDS = ("title", "description", "host_country", "partner_country", "value", "currency", "value_date",
          "planned_start", "planned_end", "actual_start", "actual_end", "national_id")
# How a service names a field in a finding -> the form's field.
LABELS = {f.replace("_", " "): f for f in FIELDS}
# A participant row of the form: the fields of ParticipantSpec; blank rows to add to, and a cap.
PARTICIPANT_FIELDS = ("name", "role", "country", "kind", "iati_ref")
BLANK_PARTICIPANTS = 3
MAX_PARTICIPANT_ROWS = 500
PARTICIPANT_FINDING = re.compile(r"participants\[(\d+)\](?:\.(\w+))?$")


def signed_in(request: Request, action: str) -> str:
    """The name of the signed-in user allowed to ``action``; the form's token checked for a POST."""
    with store_of(request).read() as session:
        who = identify(request, Context(session, actor="anonymous"))
    check_allowed(who, action, public_read=False)
    return who.name


async def form_of(request: Request) -> FormData:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    for name, value in form.multi_items():
        if isinstance(value, str) and "\x00" in value:  # no database stores it
            message = f"field {name} contains a NUL character; remove it"
            raise InvalidInput(message, [Finding("invalid", message, field=name)])
    return form


def _current_values(detail: dict[str, Any]) -> dict[str, str]:
    value = detail["value"] or {}
    return {
        "title": detail["title"], "description": detail["description"] or "",
        "host_country": detail["host_country"] or "", "partner_country": detail["partner_country"] or "",
        "value": str(value.get("amount") or ""), "currency": value.get("currency") or "",
        "value_date": str(value.get("value_date") or ""),
        "planned_start": str(detail["planned"]["start"] or ""), "planned_end": str(detail["planned"]["end"] or ""),
        "actual_start": str(detail["actual"]["start"] or ""), "actual_end": str(detail["actual"]["end"] or ""),
        "national_id": detail.get("national_id") or "",
    }


def _by_field(findings: list[Finding], kept: list[int] | None = None) -> tuple[dict[str, list[str]], list[str]]:
    """Messages by form field; a participant's under ``participant-ROW[-FIELD]``, ROW its row in
    the form (``kept``: the form row of each participant sent to the service, in order)."""
    placed: dict[str, list[str]] = {}
    loose: list[str] = []
    for f in findings:
        field = (f.field or "").strip()
        row = PARTICIPANT_FINDING.match(field)
        name = LABELS.get(field.lower())
        if row and kept is not None and int(row[1]) < len(kept):
            name = f"participant-{kept[int(row[1])]}" + (f"-{row[2]}" if row[2] in PARTICIPANT_FIELDS else "")
        if name:
            placed.setdefault(name, []).append(f.message)
        else:
            loose.append(f.message)
    return placed, loose


def _participant_rows(ctx: Context, code: str) -> list[dict[str, Any]]:
    """The project's participants as form rows (organisation name, role, country, type, IATI ref)."""
    return [{"name": p.name, "role": p.role, "country": p.country or "", "kind": p.kind or "",
             "iati_ref": p.iati_ref or "", "remove": False}
            for p in project_spec(ctx, get_project(ctx, code)).participants]


def _with_blanks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows and enough blank ones to add a few participants."""
    blank = sum(1 for r in rows if not r["remove"] and not any(r[f] for f in PARTICIPANT_FIELDS))
    more = max(0, BLANK_PARTICIPANTS - blank)
    return rows + [dict.fromkeys(PARTICIPANT_FIELDS, "") | {"remove": False} for _ in range(more)]


def _given_participants(form: FormData) -> list[dict[str, Any]] | None:
    """The participant rows of the form as sent; None when the form has none (it then leaves the
    participants as they are)."""
    if "participant_rows" not in form:
        return None
    count = min(max(int_param(str(form.get("participant_rows", "")), "participant_rows", 0), 0),
                MAX_PARTICIPANT_ROWS)
    return [{f: str(form.get(f"participant-{i}-{f}", "")).strip() for f in PARTICIPANT_FIELDS}
            | {"remove": bool(form.get(f"participant-{i}-remove"))} for i in range(count)]


def _kept(rows: list[dict[str, Any]]) -> list[int]:
    """The rows that name a participant: neither blank nor marked for removal."""
    return [i for i, r in enumerate(rows) if not r["remove"] and any(r[f] for f in PARTICIPANT_FIELDS)]


def _participants_text(rows: list[dict[str, Any]]) -> str:
    return "; ".join(f"{r['name']} ({r['role']}{', ' + r['country'] if r.get('country') else ''})" for r in rows)


@router.get("/projects/{code}/edit")
def edit_form(request: Request, code: str) -> Response:
    signed_in(request, "edit")
    with store_of(request).read() as session:
        ctx = Context(session, actor="web")
        detail = project_detail(ctx, code)
        participants = _with_blanks(_participant_rows(ctx, code))
    return render(request, "project_edit.html", p=detail, values=_current_values(detail), version=detail["version"],
                  errors={}, loose=[], meanwhile=None, fields=FIELDS, participants=participants, roles=ROLES)


@router.post("/projects/{code}/edit")
async def edit_save(request: Request, code: str) -> Response:
    actor = signed_in(request, "edit")
    form = await form_of(request)
    given = {f: str(form.get(f, "")).strip() for f in FIELDS}
    version = int_param(str(form.get("version", "")), "version", 0)
    rows = _given_participants(form)
    kept = _kept(rows) if rows is not None else []
    store = store_of(request)
    with store.read() as session:
        ctx = Context(session, actor="web")
        before = _current_values(project_detail(ctx, code))
        saved_rows = _participant_rows(ctx, code)
    changes: dict[str, Any] = {f: (v or None) for f, v in given.items() if v != before[f]}
    if "title" in changes and changes["title"] is None:
        changes["title"] = ""
    if ("value" in changes or "value_date" in changes) and given["value"]:
        changes.setdefault("currency", given["currency"] or None)
    if rows is not None:
        wanted = [{f: rows[i][f] for f in PARTICIPANT_FIELDS} for i in kept]
        if wanted != [{f: r[f] for f in PARTICIPANT_FIELDS} for r in saved_rows]:
            changes["participants"] = [{f: (v or None) for f, v in p.items()} for p in wanted]
    shown = _with_blanks(rows) if rows is not None else _with_blanks(saved_rows)
    try:
        with store.write() as session:
            update_project(Context(session, actor=actor, request_id=getattr(request.state, "request_id", None)),
                           code, changes, version)
    except StaleVersion as exc:
        now: dict[str, Any] = exc.current or {}
        current = _current_values(now) if now else before
        meanwhile = [{"field": f, "theirs": current[f], "yours": given[f]} for f in FIELDS
                     if current[f] != before[f] or (current[f] != given[f] and f in changes)]
        theirs = _participants_text(now.get("participants") or []) if now else _participants_text(saved_rows)
        yours = _participants_text([rows[i] for i in kept]) if rows is not None else theirs
        if rows is not None and theirs != yours and "participants" in changes:
            meanwhile.append({"field": "participants", "theirs": theirs, "yours": yours})
        return render(request, "project_edit.html", status=409, p=now or {"code": code, "title": code},
                      values=given, version=now.get("version", version), errors={}, loose=[], meanwhile=meanwhile,
                      fields=FIELDS, participants=shown, roles=ROLES)
    except InvalidInput as exc:
        placed, loose = _by_field(exc.findings or [Finding("invalid", exc.message)], kept)
        with store.read() as session:
            detail = project_detail(Context(session, actor="web"), code)
        return render(request, "project_edit.html", status=422, p=detail, values=given, version=version,
                      errors=placed, loose=loose, meanwhile=None, fields=FIELDS, participants=shown, roles=ROLES)
    return RedirectResponse(f"/projects/{code}", status_code=303)


@router.post("/projects/{code}/status")
async def status_save(request: Request, code: str) -> Response:
    actor = signed_in(request, "edit")
    form = await form_of(request)
    spec = StatusSpec(code, str(form.get("status", "")), str(form.get("effective", "")).strip(),
                      str(form.get("source", "")).strip() or None, str(form.get("note", "")).strip() or None,
                      reopen=bool(form.get("reopen")), backdate=bool(form.get("backdate")))
    try:
        with store_of(request).write() as session:
            add_status_event(Context(session, actor=actor, request_id=getattr(request.state, "request_id", None)),
                             spec)
    except InvalidInput as exc:
        with store_of(request).read() as session:
            detail = project_detail(Context(session, actor="web"), code)
        return render(request, "project_status.html", status=422, p=detail, form=spec,
                      findings=exc.findings or [Finding("invalid", exc.message)])
    return RedirectResponse(f"/projects/{code}#status-timeline", status_code=303)


@router.post("/claims/{claim_id}/review")
async def claim_review(request: Request, claim_id: int) -> Response:
    actor = signed_in(request, "review")
    form = await form_of(request)
    decision = str(form.get("decision", ""))
    version = int_param(str(form.get("version", "")), "version", 0)
    reason = str(form.get("reason", "")).strip()
    back = f"/claims?review=pending#claim-{claim_id}"
    try:
        with store_of(request).write() as session:
            ctx = Context(session, actor=actor, request_id=getattr(request.state, "request_id", None))
            claim = get_claim(ctx, claim_id)
            check_version("claim", claim_id, claim.version, version, lambda: claim_view(claim))
            if decision == "accept":
                accept(ctx, claim_id, AcceptOptions(project=str(form.get("project", "")).strip() or None))
            elif decision == "reject":
                reject(ctx, claim_id, reason or "rejected in review")
            else:
                message = f"decision '{decision}' is not accept or reject"
                raise InvalidInput(message, [Finding("bad_parameter", message, field="decision", value=decision)])
    except (InvalidInput, StaleVersion) as exc:
        return render(request, "review_result.html", status=exc.http_status, claim_id=claim_id, message=exc.message,
                      back=back)
    return RedirectResponse(back, status_code=303)


@router.get("/audit")
def audit_page(request: Request, entity: str | None = None, actor: str | None = None, action: str | None = None,
               since: str | None = None, until: str | None = None, page: str | None = None) -> Response:
    signed_in(request, "read")
    number = int_param(page, "page", 1)
    if number < 1:
        message = f"page {number} is not a page number; pages count from 1"
        raise InvalidInput(message, [Finding("bad_parameter", message, field="page", value=str(number))])
    with store_of(request).read() as session:
        items, total = audit_search(Context(session, actor="web"), entity or None, None, actor or None,
                                    action or None, as_of_param(since, "since"), as_of_param(until, "until"),
                                    None, number, 50)
    params = {"entity": entity or "", "actor": actor or "", "action": action or "", "since": since or "",
              "until": until or ""}
    return render(request, "audit.html", items=items, total=total, page=number, pages=max(1, -(-total // 50)),
                  params=params)
