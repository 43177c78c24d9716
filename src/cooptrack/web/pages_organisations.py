"""The organisation register in the pages: the list (searched by name, alias or IATI identifier,
filtered by country and type), an organisation with the projects it takes part in, and its edit
form for editors. Each calls the same service function as the API route (GET and PATCH
/api/v1/organisations); the form carries the session's CSRF token, an invalid one comes back with
each finding beside its field and nothing written, and an edit based on an outdated version comes
back with what changed meanwhile, and is saved only when sent again. The merge form, for
editors, calls `merge_organisations` as `POST /api/v1/organisations/{id}/merge` does: another
organisation merged into this one, with a choice of which value stays where both hold different
ones; a refusal comes back with its messages and nothing merged, and a form based on an outdated
version of this organisation comes back saying so.

    /organisations                 the register, ?search=&country=&kind=      (read)
    /organisations/{id}            an organisation and its participations    (read)
    /organisations/{id}/edit       correct an organisation                    (editor)
    /organisations/{id}/merge      merge another organisation into this one   (editor)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cooptrack.errors import InvalidInput, StaleVersion
from cooptrack.findings import Finding
from cooptrack.services.context import Context
from cooptrack.services.organisations import (
    MERGE_FIELDS,
    ORGANISATION_FIELDS,
    ORGANISATION_TYPES,
    list_organisations,
    merge_organisations,
    organisation_detail,
    update_organisation,
)
from cooptrack.store.models import Organisation
from cooptrack.web.context import int_param, read_context, store_of
from cooptrack.web.i18n import N_
from cooptrack.web.pages_base import render
from cooptrack.web.pages_edit import form_of, signed_in
from cooptrack.web.pages_forms import place
from cooptrack.web.schemas import RecordId

router = APIRouter(include_in_schema=False)

FIELDS = ORGANISATION_FIELDS  # the form's fields, in order: name, country, kind, iati_ref, aliases
# The IATI OrganisationType names of ORGANISATION_TYPES, marked for translation (a test keeps
# the two equal).
KIND_LABELS = {
    "10": N_("Government"), "11": N_("Local Government"), "15": N_("Other Public Sector"),
    "21": N_("International NGO"), "22": N_("National NGO"), "23": N_("Regional NGO"),
    "24": N_("Partner Country based NGO"), "30": N_("Public Private Partnership"), "40": N_("Multilateral"),
    "60": N_("Foundation"), "70": N_("Private Sector"), "71": N_("Private Sector in Provider Country"),
    "72": N_("Private Sector in Aid Recipient Country"), "73": N_("Private Sector in Third Country"),
    "80": N_("Academic, Training and Research"), "90": N_("Other"),
}
KINDS = tuple(ORGANISATION_TYPES)


def organisation_ids(ctx: Context, names: Iterable[str]) -> dict[str, int]:
    """The register's number of each organisation named (names are unique), in one query: what
    a project page links its participants with."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    return {name: org_id for name, org_id in ctx.session.execute(
        select(Organisation.name, Organisation.id).where(Organisation.name.in_(wanted)))}


def _render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    return render(request, template, status=status, kinds=KINDS, KIND_LABELS=KIND_LABELS, **context)


@router.get("/organisations")
def organisations_page(request: Request, search: str | None = None, country: str | None = None,
                       kind: str | None = None, ctx: Context = Depends(read_context)) -> Response:
    found = list_organisations(ctx, search, country, kind)
    params = {"search": search or "", "country": country or "", "kind": kind or ""}
    return _render(request, "organisations.html", organisations=found, params=params,
                   filtered=any(v.strip() for v in params.values()))


@router.get("/organisations/{organisation_id}")
def organisation_page(request: Request, organisation_id: RecordId, ctx: Context = Depends(read_context)) -> Response:
    return _render(request, "organisation.html", o=organisation_detail(ctx, organisation_id))


# -- the edit form --------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _values(record: dict[str, Any]) -> dict[str, str]:
    """An organisation as the form shows it: the aliases one a line."""
    return {"name": record["name"], "country": record["country"] or "", "kind": record["kind"] or "",
            "iati_ref": record["iati_ref"] or "", "aliases": "\n".join(record["aliases"] or [])}


def _current(request: Request, organisation_id: int) -> dict[str, Any]:
    with store_of(request).read() as session:
        return organisation_detail(Context(session, actor="web"), organisation_id)


def _meanwhile(saved: dict[str, str], yours: dict[str, str]) -> list[dict[str, str]]:
    """The fields where the organisation as saved now differs from the form as sent."""
    def shown(field: str, value: str) -> str:
        return "; ".join(_lines(value)) if field == "aliases" else value

    return [{"field": f, "theirs": shown(f, saved[f]), "yours": shown(f, yours[f])} for f in FIELDS
            if shown(f, saved[f]) != shown(f, yours[f])]


def _form(request: Request, status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("loose", [])
    context.setdefault("meanwhile", None)
    return _render(request, "organisation_form.html", status=status, **context)


@router.get("/organisations/{organisation_id}/edit")
def organisation_edit(request: Request, organisation_id: RecordId) -> Response:
    signed_in(request, "edit")
    view = _current(request, organisation_id)
    return _form(request, o=view, values=_values(view), version=view["version"])


@router.post("/organisations/{organisation_id}/edit")
async def organisation_save(request: Request, organisation_id: RecordId) -> Response:
    """The fields that differ from the organisation as saved go to `update_organisation`: the
    same call as `PATCH /api/v1/organisations/{id}`. A blank field clears it (the name excepted:
    the service refuses a blank name); the aliases are the whole new list, one a line."""
    actor = signed_in(request, "edit")
    form = await form_of(request)
    given = {f: str(form.get(f, "")).strip() for f in FIELDS}
    given["aliases"] = "\n".join(_lines(given["aliases"]))
    version = int_param(str(form.get("version", "")), "version", 0)
    view = _current(request, organisation_id)
    before = _values(view)
    changes: dict[str, Any] = {f: _lines(v) if f == "aliases" else v if f == "name" else v or None
                               for f, v in given.items() if v != before[f]}
    try:
        with store_of(request).write() as session:
            update_organisation(Context(session, actor=actor, request_id=getattr(request.state, "request_id", None)),
                                organisation_id, changes, version)
    except StaleVersion as exc:
        now: dict[str, Any] = exc.current or view
        return _form(request, 409, o=now, values=given, version=now.get("version", version),
                     meanwhile=_meanwhile(_values(now), given))
    except InvalidInput as exc:
        errors, loose = place(exc.findings or [Finding("invalid", exc.message)], FIELDS)
        return _form(request, 422, o=view, values=given, version=version, errors=errors, loose=loose)
    return RedirectResponse(f"/organisations/{organisation_id}", status_code=303)


# -- the merge form -------------------------------------------------------------------------------

# Each field of MERGE_FIELDS is a radio choice: "keep" this organisation's value (the default) or
# take the "other"'s; the service uses it only where both hold different values.
MERGE_CHOICES = ("keep", "other")


def _merge_form(request: Request, organisation_id: int, status: int = 200, **context: Any) -> Response:
    """The form as this organisation is saved now; the others offered by name, as the register lists them."""
    with store_of(request).read() as session:
        ctx = Context(session, actor="web")
        view = organisation_detail(ctx, organisation_id)
        others = [o for o in list_organisations(ctx) if o["id"] != organisation_id]
    context.setdefault("values", {"other": "", **dict.fromkeys(MERGE_FIELDS, "keep")})
    context.setdefault("version", view["version"])
    context.setdefault("errors", {})
    context.setdefault("loose", [])
    context.setdefault("stale", False)
    return _render(request, "organisation_merge.html", status=status, o=view, others=others,
                   merge_fields=MERGE_FIELDS, **context)


@router.get("/organisations/{organisation_id}/merge")
def organisation_merge_form(request: Request, organisation_id: RecordId) -> Response:
    signed_in(request, "edit")
    return _merge_form(request, organisation_id)


@router.post("/organisations/{organisation_id}/merge")
async def organisation_merge(request: Request, organisation_id: RecordId) -> Response:
    """The organisation chosen is merged into this one by `merge_organisations`, at the version the
    form was shown with (the other's is not checked: it is chosen by name when the form is sent); a
    field whose choice is "other" is in prefer_other, "keep" in prefer_keep, neither when none was
    sent (a conflict there is refused)."""
    actor = signed_in(request, "edit")
    form = await form_of(request)
    values = {name: str(form.get(name, "")).strip() for name in ("other", *MERGE_FIELDS)}
    version = int_param(str(form.get("version", "")), "version", 0)
    chosen = {choice: [f for f in MERGE_FIELDS if values[f] == choice] for choice in MERGE_CHOICES}
    try:
        other = int_param(values["other"], "other", 0)
        with store_of(request).write() as session:
            merge_organisations(Context(session, actor=actor, request_id=getattr(request.state, "request_id", None)),
                                organisation_id, other, keep_version=version, prefer_other=chosen["other"],
                                prefer_keep=chosen["keep"])
    except StaleVersion:
        return _merge_form(request, organisation_id, 409, values=values, stale=True)
    except InvalidInput as exc:
        errors, loose = place(exc.findings or [Finding("invalid", exc.message)], ("other", *MERGE_FIELDS))
        return _merge_form(request, organisation_id, 422, values=values, version=version, errors=errors,
                           loose=loose)
    return RedirectResponse(f"/organisations/{organisation_id}", status_code=303)
