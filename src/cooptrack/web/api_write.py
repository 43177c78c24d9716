"""The write API under /api/v1. Every change goes through the same service function as the CLI
and the importers; every editable record answers with an ETag (its version) and an update
must send it back in If-Match: a stale one gets 412 with the record as it is now."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from cooptrack.errors import InvalidInput, PreconditionRequired, TooLarge
from cooptrack.findings import Finding
from cooptrack.services import audit
from cooptrack.services.browse import claim_view, project_detail, source_detail
from cooptrack.services.claims import AcceptOptions, get_claim
from cooptrack.services.claims import accept as accept_claim
from cooptrack.services.claims import edit as edit_claim
from cooptrack.services.claims import reject as reject_claim
from cooptrack.services.context import Context
from cooptrack.services.documents import DEFAULT_MAX_MB, MEDIA_SUFFIXES
from cooptrack.services.editing import (
    check_version,
    observation_view,
    programme_view,
    update_observation,
    update_programme,
    update_project,
)
from cooptrack.services.jobs import safe_filename
from cooptrack.services.observations import ObservationSpec, add_observation
from cooptrack.services.organisations import (
    MERGE_FIELDS,
    merge_organisations,
    organisation_detail,
    update_organisation,
)
from cooptrack.services.programmes import IndustrySpec, ProgrammeSpec, register_programme
from cooptrack.services.projects import (
    LocationSpec,
    ParticipantSpec,
    ProjectSpec,
    StatusSpec,
    add_status_event,
    register_project,
)
from cooptrack.services.rates import RateSpec, add_rate
from cooptrack.services.sources import SourceSpec, add_document, document_spec, update_source
from cooptrack.services.targets import TargetSpec, define_target, get_target, target_view, update_target
from cooptrack.store import Store
from cooptrack.web.api import ERRORS, JSON
from cooptrack.web.auth import Principal
from cooptrack.web.context import read_context, require, store_of, write_context
from cooptrack.web.schemas import MAX_ID, ErrorEnvelope, OrganisationOut, RecordId

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    401: {"model": ErrorEnvelope, "description": "Not signed in: send 'Authorization: Bearer <token>'."},
    403: {"model": ErrorEnvelope, "description": "The role does not allow this change."},
    409: {"model": ErrorEnvelope, "description": "The id exists already."},
    412: {"model": ErrorEnvelope, "description": "If-Match is stale: `error.current` holds the record as it is now."},
    422: {"model": ErrorEnvelope, "description": "Invalid content: every finding, with its field; nothing written."},
    428: {"model": ErrorEnvelope, "description": "An update needs If-Match with the version it is based on."},
}
router = APIRouter(prefix="/api/v1", responses=WRITE_ERRORS, tags=["write"])
edit = write_context("edit")
review = write_context("review")
IF_MATCH = Header(None, alias="If-Match", description='The ETag of the version the change is based on, e.g. "3".')


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired('send If-Match with the ETag of the record you edited (e.g. If-Match: "3"); '
                                   "GET the record to learn it")
    text = if_match.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        message = f"If-Match '{if_match}' is not an ETag this API gave out; GET the record and send its ETag"
        raise InvalidInput(message, [Finding("bad_parameter", message, field="If-Match", value=if_match)])
    return int(text)


def created(body: dict[str, Any], version: int, location: str) -> JSON:
    return JSON(body, status_code=201, headers={"ETag": etag(version), "Location": location})


def current(body: dict[str, Any], version: int) -> JSON:
    return JSON(body, headers={"ETag": etag(version)})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        """A NUL character in any text is refused (no database stores it; PostgreSQL refuses it)."""
        if _has_nul(data):
            raise ValueError("a text contains a NUL character (\\u0000); remove it")
        return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


# -- programmes -----------------------------------------------------------------------------------


class IndustryIn(Strict):
    name: str
    dac_codes: list[str] = []


class ProgrammeIn(Strict):
    code: str = Field(description="The programme id: lower-case letters, digits and hyphens.")
    name: str
    parties: list[str] = Field(description="Countries: ISO codes or names.")
    aliases: list[str] = []
    description: str | None = None
    signed: str | None = Field(None, description="Period code, e.g. 2019-04.")
    signed_occasion: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    industries: list[IndustryIn] = []
    source: str | None = Field(None, description="Source id.")


class IndustryChange(IndustryIn):
    renamed_from: str | None = Field(None, description="The industry's current name, to rename it (its projects "
                                                       "stay filed under it).")


class ProgrammeChanges(Strict):
    name: str | None = None
    description: str | None = None
    aliases: list[str] | None = None
    signed: str | None = None
    signed_occasion: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    parties: list[str] | None = Field(None, description="The whole new list of parties (ISO codes or names), at "
                                                        "least two, in order.")
    industries: list[IndustryChange] | None = Field(
        None, description="The whole new list of industries, in order: an industry is kept by its name (or its "
                          "renamed_from), one not listed is removed, a new name is added.")


@router.post("/programmes", status_code=201, response_class=JSON, summary="Register a programme")
def create_programme(body: ProgrammeIn, ctx: Context = Depends(edit)) -> Any:
    spec = ProgrammeSpec(body.code, body.name, body.parties, body.aliases, body.description, body.signed,
                         body.signed_occasion, body.period_start, body.period_end,
                         [IndustrySpec(i.name, i.dac_codes) for i in body.industries], body.source)
    programme = register_programme(ctx, spec)
    ctx.session.flush()
    return created(audit.jsonable(programme_view(programme)), programme.version, f"/api/v1/programmes/{programme.code}")


@router.patch("/programmes/{code}", response_class=JSON, summary="Edit a programme (If-Match required)")
def patch_programme(code: str, body: ProgrammeChanges, if_match: str | None = IF_MATCH,
                    ctx: Context = Depends(edit)) -> Any:
    """The fields given change, the others stay. `parties` and `industries` are checked as on
    registration; a party that the programme's targets or commodities name, or an industry that
    projects are filed under, cannot be removed (422, the finding names them). The change is in
    the audit log, before and after, parties and industries included."""
    programme = update_programme(ctx, code, body.model_dump(exclude_unset=True), expected_version(if_match))
    ctx.session.flush()
    return current(audit.jsonable(programme_view(programme)), programme.version)


# -- projects -------------------------------------------------------------------------------------


class ParticipantIn(Strict):
    name: str
    role: str = Field(description="funding, extending, implementing, accountable, contractor, ...")
    country: str | None = None
    kind: str | None = Field(None, max_length=8, description="IATI OrganisationType code.")
    iati_ref: str | None = Field(None, max_length=100)


class LocationIn(Strict):
    name: str
    country: str | None = None
    admin_area: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None


class ProjectFields(Strict):
    title: str | None = None
    programme: str | None = None
    industry: str | None = None
    description: str | None = None
    aliases: list[str] | None = None
    host_country: str | None = None
    partner_country: str | None = None
    value: Decimal | None = Field(None, description="Amount in the original currency (send it as a string).")
    currency: str | None = None
    value_date: date | None = None
    sectors: dict[str, Decimal] | None = Field(None, description='DAC 5-digit code -> percent, e.g. {"21020": 100}.')
    participants: list[ParticipantIn] | None = None
    locations: list[LocationIn] | None = None
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    national_id: str | None = None
    source: str | None = None


class ProjectIn(ProjectFields):
    code: str
    title: str
    iati_identifier: str | None = None


@router.post("/projects", status_code=201, response_class=JSON, summary="Register a project")
def create_project(body: ProjectIn, ctx: Context = Depends(edit)) -> Any:
    data = body.model_dump(exclude_none=True)
    data["participants"] = [ParticipantSpec(**p) for p in data.get("participants", [])]
    data["locations"] = [LocationSpec(**loc) for loc in data.get("locations", [])]
    project = register_project(ctx, ProjectSpec(**data))
    ctx.session.flush()
    return created(project_detail(ctx, project.code), project.version, f"/api/v1/projects/{project.code}")


@router.patch("/projects/{code}", response_class=JSON, summary="Edit a project (If-Match required)")
def patch_project(code: str, body: ProjectFields, if_match: str | None = IF_MATCH,
                  ctx: Context = Depends(edit)) -> Any:
    changes = body.model_dump(exclude_unset=True)
    project, _action = update_project(ctx, code, changes, expected_version(if_match))
    ctx.session.flush()
    return current(project_detail(ctx, project.code), project.version)


class StatusIn(Strict):
    status: str = Field(description="pipeline, agreed, in_execution, implemented, closed, suspended, cancelled.")
    effective: str = Field(description="Period code: 2019, 2019-H1, 2019-04 or 2019-04-22.")
    source: str | None = None
    note: str | None = None
    reopen: bool = False
    backdate: bool = False


@router.post("/projects/{code}/status", status_code=201, response_class=JSON, summary="Record a dated status event")
def post_status(code: str, body: StatusIn, ctx: Context = Depends(edit)) -> Any:
    event = add_status_event(ctx, StatusSpec(code, body.status, body.effective, body.source, body.note, body.reopen,
                                             body.backdate))
    ctx.session.flush()
    detail = project_detail(ctx, code)
    return created({"event": {"id": event.id, "status": event.status, "effective": event.effective},
                    "project": detail}, detail["version"], f"/api/v1/projects/{code}")


@router.put("/projects/{code}/participants", response_class=JSON,
            summary="Replace a project's participants (If-Match required)")
def put_participants(code: str, body: list[ParticipantIn], if_match: str | None = IF_MATCH,
                     ctx: Context = Depends(edit)) -> Any:
    """The body is the whole new list of participating organisations (an empty list removes them
    all); each is checked as on registration (role, country). Answers the project with its new
    ETag."""
    changes = {"participants": [p.model_dump() for p in body]}
    project, _action = update_project(ctx, code, changes, expected_version(if_match))
    ctx.session.flush()
    return current(project_detail(ctx, project.code), project.version)


# -- indicators, targets, rates -------------------------------------------------------------------


class ObservationIn(Strict):
    indicator: str
    reporter: str
    partner: str | None = None
    period: str
    value: Decimal
    unit: str
    hs_code: str | None = None
    flags: list[str] = []
    value_basis: str | None = None
    quantity: Decimal | None = None
    quantity_unit: str | None = None
    net_weight_kg: Decimal | None = None
    source: str | None = None
    note: str | None = None


class ObservationChanges(Strict):
    value: Decimal | None = None
    flags: list[str] | None = None
    note: str | None = None
    source: str | None = None


@router.post("/observations", status_code=201, response_class=JSON, summary="Add an observation")
def create_observation(body: ObservationIn, ctx: Context = Depends(edit)) -> Any:
    o = add_observation(ctx, ObservationSpec(**body.model_dump()))
    ctx.session.flush()
    return created(audit.jsonable(observation_view(o)), o.version, f"/api/v1/observations/{o.id}")


@router.patch("/observations/{observation_id}", response_class=JSON, summary="Edit an observation (If-Match required)")
def patch_observation(observation_id: RecordId, body: ObservationChanges, if_match: str | None = IF_MATCH,
                      ctx: Context = Depends(edit)) -> Any:
    o = update_observation(ctx, observation_id, body.model_dump(exclude_unset=True), expected_version(if_match))
    ctx.session.flush()
    return current(audit.jsonable(observation_view(o)), o.version)


class TargetIn(Strict):
    programme: str
    indicator: str
    reporter: str
    period: str
    unit: str
    value: Decimal | None = None
    multiple: Decimal | None = None
    baseline_period: str | None = None
    baseline_value: Decimal | None = None
    partner: str | None = None
    hs_code: str | None = None
    deadline: date | None = None
    approximate: bool = False
    source: str | None = None
    note: str | None = None


class TargetChanges(Strict):
    indicator: str | None = None
    reporter: str | None = None
    period: str | None = None
    unit: str | None = None
    value: Decimal | None = Field(None, description="An absolute target; send null to turn it into a multiple.")
    multiple: Decimal | None = Field(None, description="A multiple of the baseline; send null for an absolute one.")
    baseline_period: str | None = None
    baseline_value: Decimal | None = None
    partner: str | None = None
    hs_code: str | None = None
    deadline: date | None = Field(None, description="Left out when the period changes: the new period's end.")
    approximate: bool | None = None
    source: str | None = None
    note: str | None = None


@router.post("/targets", status_code=201, response_class=JSON, summary="Define a target")
def create_target(body: TargetIn, ctx: Context = Depends(edit)) -> Any:
    target = define_target(ctx, TargetSpec(**body.model_dump()))
    ctx.session.flush()
    return created(audit.jsonable(target_view(ctx, target)), target.version, f"/api/v1/targets/{target.id}")


@router.get("/targets/{target_id}", response_class=JSON, summary="A target as defined (progress: the programme's)")
def get_target_route(target_id: RecordId, ctx: Context = Depends(read_context)) -> Any:
    """The ETag header carries the target's version: send it back in If-Match to edit it. How far
    the indicator has got is in `GET /api/v1/programmes/{code}/targets`."""
    target = get_target(ctx, target_id)
    return current(audit.jsonable(target_view(ctx, target)), target.version)


@router.patch("/targets/{target_id}", response_class=JSON, summary="Edit a target (If-Match required)")
def patch_target(target_id: RecordId, body: TargetChanges, if_match: str | None = IF_MATCH,
                 ctx: Context = Depends(edit)) -> Any:
    """The same checks as defining one: either `value` or `multiple` (send the other as null to
    switch), a multiple needs a `baseline_period`. The change is in the audit log, before and
    after."""
    target = update_target(ctx, target_id, body.model_dump(exclude_unset=True), expected_version(if_match))
    ctx.session.flush()
    return current(audit.jsonable(target_view(ctx, target)), target.version)


class RateIn(Strict):
    currency: str
    period: str
    per_usd: Decimal = Field(description="Units of the currency per US dollar.")
    source: str
    replace: bool = False


@router.post("/rates", status_code=201, response_class=JSON, summary="Record an exchange rate")
def create_rate(body: RateIn, ctx: Context = Depends(edit)) -> Any:
    rate = add_rate(ctx, RateSpec(body.currency, body.period, body.per_usd, body.source), replace=body.replace)
    ctx.session.flush()
    return created(audit.jsonable(audit.snapshot(rate)), rate.version, "/api/v1/rates")


# -- sources --------------------------------------------------------------------------------------

MB = 1024 * 1024
SOURCE_BODY: dict[str, Any] = {"requestBody": {
    "required": True,
    "description": "The document itself: plain text (any common encoding), HTML (its main text is kept) or PDF "
                   "(its text layer).",
    "content": {"text/plain": {"schema": {"type": "string"}}, "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}}
SOURCE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The same text is stored already: that source, with `created: false`; nothing written."},
    201: {"description": "Stored: the source as `GET /api/v1/sources/{code}` shows it, with `created: true`."},
    413: {"model": ErrorEnvelope, "description": "The document is over the upload limit."},
    415: {"model": ErrorEnvelope, "description": "Not a text, HTML or PDF document (by its name or its content)."},
}


def source_limit() -> int:
    """The upload limit of the imports (COOPTRACK_MAX_UPLOAD_MB), and never more than the command
    line reads by default: a source is one document."""
    from cooptrack.web.api_imports import upload_limit  # api_imports builds on this module

    return min(upload_limit(), DEFAULT_MAX_MB * MB)


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"the document is over the upload limit of {limit:,} bytes (COOPTRACK_MAX_UPLOAD_MB, at most "
                    f"{DEFAULT_MAX_MB} MB for one document); nothing was stored")


async def read_limited(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """An upload, counted against ``limit`` as it arrives (TooLarge past it)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    return await read_limited(request.stream(), limit)


def upload_name(filename: str | None, content_type: str | None) -> str:
    """A safe name for the upload: the client's, else one whose suffix follows the content type."""
    if filename and filename.strip():
        return safe_filename(filename)
    media = (content_type or "").split(";")[0].strip().lower()
    return "upload" + MEDIA_SUFFIXES.get(media, "")


def store_document(store: Store, actor: str, request_id: str | None, spec: SourceSpec, data: bytes,
                   filename: str, title_from_name: bool = True) -> tuple[dict[str, Any], int, bool]:
    """Read the document, then store it in one write: (the source's detail, its version, whether
    it is new). The text is read before the writer is taken."""
    spec = document_spec(spec, data, filename, title_from_name)
    with store.write() as session:
        ctx = Context(session, actor=actor, request_id=request_id)
        source, new = add_document(ctx, spec)
        ctx.session.flush()
        return source_detail(ctx, source.code or str(source.id)), source.version, new


@router.post("/sources", status_code=201, response_class=JSON, summary="Upload a source document",
             responses=SOURCE_RESPONSES, openapi_extra=SOURCE_BODY)
async def upload_source(
    request: Request,
    title: str | None = Query(None, description="Title (default: the file name without its extension)."),
    code: str | None = Query(None, description="The source id: lower-case letters, digits, '.', '_', '-' "
                                               "(default: numbered)."),
    filename: str | None = Query(None, description="The file's name (.txt, .html, .pdf, ...); without it the "
                                                   "Content-Type says what the body is."),
    publisher: str | None = Query(None, description="Publisher, e.g. Qazaq TV."),
    url: str | None = Query(None, description="Address of the original."),
    published: str | None = Query(None, description="Publication date: YYYY-MM-DD (or YYYY-MM, YYYY)."),
    language: str | None = Query(None, description="ISO 639-1 code: en, ru, ..."),
    kind: str | None = Query(None, description="official, media, dataset or company."),
    credit: str | None = Query(None, description="Whom to credit for the text."),
    note: str | None = Query(None),
    who: Principal = Depends(require("edit")),
) -> Any:
    """The request body is the document itself, read as `cooptrack source add` reads a file; its
    text is stored with its SHA-256. The same text again answers 200 with the source that holds
    it (`created: false`) and writes nothing. An empty document, one without a text layer or main
    text, or invalid fields answer 422 with every finding; nothing is written."""
    name = upload_name(filename, request.headers.get("content-type"))
    data = await read_body(request, source_limit())
    spec = SourceSpec(title=title or "", code=code or None, publisher=publisher or None, url=url or None,
                      published=published or None, language=language or None, kind=kind or None,
                      credit=credit or None, note=note or None)
    detail, version, new = await run_in_threadpool(
        store_document, store_of(request), who.name, getattr(request.state, "request_id", None), spec, data, name,
        bool(filename and filename.strip()))
    location = f"/api/v1/sources/{detail['id']}"
    if new:
        return created(detail | {"created": True}, version, location)
    message = f"this text is stored already as source '{detail['id']}'; nothing was written"
    return JSON(detail | {"created": False, "message": message},
                headers={"ETag": etag(version), "Location": location})


class SourceChanges(Strict):
    title: str | None = None
    publisher: str | None = None
    url: str | None = Field(None, description="Address of the original.")
    published: str | None = Field(None, description="Publication date: YYYY-MM-DD (or YYYY-MM, YYYY).")
    language: str | None = Field(None, description="ISO 639-1 code: en, ru, ...")
    kind: str | None = Field(None, description="official, media, dataset or company.")
    credit: str | None = None
    note: str | None = None


@router.patch("/sources/{code}", response_class=JSON, summary="Correct a source's description (If-Match required)")
def patch_source(code: str, body: SourceChanges, if_match: str | None = IF_MATCH, ctx: Context = Depends(edit)) -> Any:
    """The fields given change (null or an empty text clears one, the title excepted), checked as
    on upload; the document itself (its text and SHA-256) and the source's id never change. A new
    publication date moves the date the source's figures are known from. Answers the source as
    `GET /api/v1/sources/{code}` shows it, with its new ETag; a stale If-Match answers 412 with
    the source's fields as they are now (`error.current`, without the text)."""
    source = update_source(ctx, code, body.model_dump(exclude_unset=True), expected_version(if_match))
    ctx.session.flush()
    return current(source_detail(ctx, source.code or str(source.id)), source.version)


# -- organisations --------------------------------------------------------------------------------


class OrganisationChanges(Strict):
    name: str | None = Field(None, description="At most 300 characters; not one another organisation has.")
    country: str | None = Field(None, description="Country (name or ISO code); null or empty clears it.")
    kind: str | None = Field(None, description="IATI OrganisationType code: 10 government, 40 multilateral, 70 "
                                               "private sector, ...; null or empty clears it.")
    iati_ref: str | None = Field(None, description="IATI organisation identifier, at most 100 characters, not "
                                                   "one another organisation has; null or empty clears it.")
    aliases: list[str] | None = Field(None, description="The whole new list of other names ([] or null: none).")


@router.patch("/organisations/{organisation_id}", response_model=OrganisationOut, response_class=JSON,
              summary="Correct an organisation (If-Match required)",
              responses={200: {"description": "The organisation as `GET /api/v1/organisations/{organisation_id}` "
                                              "shows it, with its new ETag."}})
def patch_organisation(organisation_id: RecordId, body: OrganisationChanges, if_match: str | None = IF_MATCH,
                       ctx: Context = Depends(edit)) -> Any:
    """The fields given change, the others stay, each checked as a participant's when a project is
    registered (the name, the country) and the kind as an IATI OrganisationType code. A name or an
    IATI identifier that another organisation has is refused (422, the finding names it); the
    projects it takes part in follow it, under its number. A stale If-Match answers 412 with the
    organisation as it is now (`error.current`). The change is in the audit log, before and after."""
    org = update_organisation(ctx, organisation_id, body.model_dump(exclude_unset=True), expected_version(if_match))
    ctx.session.flush()
    return current(audit.jsonable(organisation_detail(ctx, org.id)), org.version)


CHOICE = f"one of {', '.join(MERGE_FIELDS)}"


class OrganisationMerge(Strict):
    other: int = Field(ge=1, le=MAX_ID, description="The organisation merged into this one, then deleted.")
    other_version: int | None = Field(None, ge=1, description="Its version (its ETag): the merge is refused (412) "
                                                              "if it moved on; null or absent: not checked.")
    prefer_other: list[str] = Field([], description="Fields both hold with different values where the other's "
                                                    f"value is taken: {CHOICE}.")
    prefer_keep: list[str] = Field([], description="Fields both hold with different values where this one's "
                                                   f"value stays: {CHOICE}.")


@router.post("/organisations/{organisation_id}/merge", response_model=OrganisationOut, response_class=JSON,
             summary="Merge another organisation into this one (If-Match required)",
             responses={200: {"description": "This organisation as `GET /api/v1/organisations/{organisation_id}` "
                                             "shows it after the merge, with its new ETag; the other is deleted."}})
def merge_organisation(organisation_id: RecordId, body: OrganisationMerge, if_match: str | None = IF_MATCH,
                       ctx: Context = Depends(edit)) -> Any:
    """For two records of one organisation ("KEPCO", "Korea Electric Power Corporation"): every
    participation of `other` moves to this one (where this one has that role in that project
    already, the other's is dropped), the other's name and aliases become aliases of this one,
    and a country, kind or IATI identifier this one lacks is taken from the other; then the other
    is deleted. A field both hold with different values is refused (422, the finding names both
    values) unless `prefer_other` or `prefer_keep` names it; so is an alias another organisation
    holds as its name or alias, and merging an organisation with itself. If-Match carries this
    organisation's ETag, `other_version` the other's: a stale one answers 412 with that
    organisation as it is now (`error.current`). The version of this organisation and of every
    project whose participants changed moves once. The audit log records "merge" on this one and
    "delete" on the other."""
    done = merge_organisations(ctx, organisation_id, body.other, expected_version(if_match), body.other_version,
                               body.prefer_other, body.prefer_keep)
    ctx.session.flush()
    return current(audit.jsonable(organisation_detail(ctx, organisation_id)), done.organisation.version)


# -- claims ---------------------------------------------------------------------------------------


class AcceptIn(Strict):
    as_: str | None = Field(None, alias="as", description="figure, observation, status, value or claim.")
    project: str | None = None
    period: str | None = None
    indicator: str | None = None
    reporter: str | None = None
    partner: str | None = None
    subject: str | None = None
    backdate: bool = False
    reopen: bool = False


class RejectIn(Strict):
    reason: str


class ClaimChanges(Strict):
    amount: Decimal | None = None
    value: Decimal | None = None
    currency: str | None = None
    count: int | None = Field(None, ge=0, le=2**31 - 1)
    unit: str | None = None
    period: str | None = None
    status: str | None = None
    subject: str | None = None
    project: str | None = None
    approximate: bool | None = None
    lower_bound: bool | None = None


def _claim_at(ctx: Context, claim_id: int, if_match: str | None) -> None:
    claim = get_claim(ctx, claim_id)
    check_version("claim", claim_id, claim.version, expected_version(if_match),
                  lambda: audit.jsonable(claim_view(claim)))


@router.post("/claims/{claim_id}/accept", response_class=JSON, summary="Accept a claim (If-Match required)")
def accept(claim_id: RecordId, body: AcceptIn, if_match: str | None = IF_MATCH, ctx: Context = Depends(review)) -> Any:
    _claim_at(ctx, claim_id, if_match)
    claim = accept_claim(ctx, claim_id, AcceptOptions(**body.model_dump()))
    ctx.session.flush()
    return current(audit.jsonable(claim_view(claim)), claim.version)


@router.post("/claims/{claim_id}/reject", response_class=JSON, summary="Reject a claim (If-Match required)")
def reject(claim_id: RecordId, body: RejectIn, if_match: str | None = IF_MATCH, ctx: Context = Depends(review)) -> Any:
    _claim_at(ctx, claim_id, if_match)
    claim = reject_claim(ctx, claim_id, body.reason)
    ctx.session.flush()
    return current(audit.jsonable(claim_view(claim)), claim.version)


@router.patch("/claims/{claim_id}", response_class=JSON, summary="Correct a claim's reading (If-Match required)")
def patch_claim(claim_id: RecordId, body: ClaimChanges, if_match: str | None = IF_MATCH,
                ctx: Context = Depends(review)) -> Any:
    _claim_at(ctx, claim_id, if_match)
    claim = edit_claim(ctx, claim_id, body.model_dump(exclude_unset=True))
    ctx.session.flush()
    return current(audit.jsonable(claim_view(claim)), claim.version)

