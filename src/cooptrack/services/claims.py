"""Claims: figures and facts stated in a source, each tied to its exact quote, reviewed by a
person. Accepting a claim creates the fact it supports, and the fact cites the claim;
rejecting keeps the claim with the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import select

from cooptrack.domain.countries import resolve_country
from cooptrack.domain.money import check_amount, check_currency
from cooptrack.domain.period import Period
from cooptrack.domain.status import Status
from cooptrack.errors import InvalidInput, NotFound
from cooptrack.extract import Claim as Extracted
from cooptrack.extract import extract
from cooptrack.findings import Finding
from cooptrack.services import audit
from cooptrack.services.context import Checks, Context, refuse
from cooptrack.services.documents import DEFAULT_MAX_MB, read_document
from cooptrack.services.observations import ObservationSpec, add_observation
from cooptrack.services.programmes import get_programme
from cooptrack.services.projects import StatusSpec, add_status_event, get_project
from cooptrack.services.sources import SourceSpec, add_source
from cooptrack.store.models import Claim, Programme, Project, ReportedFigure, Source

REVIEWABLE = ("money", "count", "percent", "status")
REVIEW_STATES = ("pending", "accepted", "rejected")
# Subjects about the programme's portfolio as a whole: accepted, they become reported figures.
PORTFOLIO_SUBJECTS = frozenset({"package", "programme", "portfolio", "project", "projects"})
# Subjects that are indicators: accepted, they become observations between the parties.
INDICATOR_OF_SUBJECT = {
    "trade_turnover": "trade_turnover",
    "revenue": "trade_turnover",
    "exports": "exports",
    "imports": "imports",
    "investment": "fdi_stock",
    "fdi": "fdi_stock",
}
COUNT_INDICATORS = {"enterprise": "enterprises", "company": "enterprises", "joint_venture": "joint_ventures"}
MATCH_SCORE = 88


@dataclass
class IngestResult:
    source: Source
    source_created: bool
    language: str
    claims: list[Claim]


def _project_names(ctx: Context, programme: Programme | None) -> dict[str, int]:
    query = select(Project.id, Project.title, Project.aliases)
    if programme is not None:
        query = query.where(Project.programme_id == programme.id)
    names: dict[str, int] = {}
    for pid, title, aliases in ctx.session.execute(query):
        for name in [title, *(aliases or [])]:
            if name and len(name) >= 4:
                names[name.lower()] = pid
    return names


def _stems(text: str) -> str:
    # Word stems by truncation: Russian case endings ("Большой Алматинской кольцевой
    # автодороги" against the alias "Большая Алматинская кольцевая автодорога") stop mattering.
    return " ".join(w[:5] for w in re.findall(r"\w+", text.lower()))


def match_project(names: dict[str, int], text: str) -> int | None:
    """The registered project a name in a text refers to: an exact title or alias first (an
    acronym in parentheses counts: "... Ring Road (BAKAD)"), then fuzzy matching of word stems
    (rapidfuzz); None below the score a reviewer would accept without a second look."""
    if not names or not text.strip():
        return None
    for candidate in [text, *re.findall(r"\(([^()]{2,40})\)", text)]:
        found = names.get(candidate.strip().lower())
        if found is not None:
            return found
    stems = {_stems(name): pid for name, pid in names.items()}
    bare = re.sub(r"\([^()]*\)", " ", text)
    best = process.extractOne(_stems(bare), stems.keys(), scorer=fuzz.token_set_ratio, score_cutoff=MATCH_SCORE)
    return stems[best[0]] if best else None


def _column_values(c: Extracted) -> dict[str, Any]:
    return {
        "kind": c.kind, "span_start": c.start, "span_end": c.end, "quote": c.text,
        "subject": c.subject, "status": c.status, "period": c.period,
        "amount": c.amount, "currency": c.currency, "count": c.count, "unit": c.unit, "value": c.value,
        "approximate": bool(c.approximate), "lower_bound": bool(c.lower_bound),
    }


def ingest(ctx: Context, path: Path, programme_code: str | None, spec: SourceSpec, lang: str = "auto",
           max_mb: int = DEFAULT_MAX_MB) -> IngestResult:
    """Add the source, extract its claims, store them as pending, linked to the programme and to
    the projects whose names appear. Ingesting the same text again finds the existing claims."""
    programme = get_programme(ctx, programme_code) if programme_code else None
    document = read_document(path, max_mb)
    spec.text = document.text
    digest = _sha(document.text)
    before = ctx.session.scalar(select(Source.id).where(Source.sha256 == digest))
    named = ctx.session.scalar(select(Source).where(Source.code == spec.code)) if spec.code else None
    if named is not None and named.sha256 is not None and named.sha256 != digest:
        refuse("different_text", f"source '{spec.code}' already holds a different text; give this document "
               "its own source id", "source", spec.code)
    if named is not None and named.text is None and before is None:
        # A source registered without its text (a citation) gets the text now.
        named.text, named.sha256 = document.text, digest
    source = add_source(ctx, spec)
    source.filename = source.filename or document.filename
    source.media_type = source.media_type or document.media_type
    published = Period.parse(source.published).start if source.published else None
    extraction = extract(document.text, published=published, lang=lang if lang != "auto" else (spec.language or "auto"))
    if source.language is None:
        source.language = extraction.language

    same_programme = Claim.programme_id == programme.id if programme else Claim.programme_id.is_(None)
    existing = list(ctx.session.scalars(
        select(Claim).where(Claim.source_id == source.id, same_programme).order_by(Claim.id)))
    if existing:
        return IngestResult(source, before is None, extraction.language, existing)

    names = _project_names(ctx, programme)
    project_of: dict[int, int] = {}
    for c in extraction.claims:
        if c.kind == "project" and c.name:
            pid = match_project(names, c.name)
            if pid is not None:
                project_of[c.id] = pid
    stored: dict[int, Claim] = {}
    for c in extraction.claims:
        linked_project = project_of.get(c.id) or next((project_of[i] for i in c.links if i in project_of), None)
        row = Claim(
            source_id=source.id, programme_id=programme.id if programme else None, project_id=linked_project,
            data=c.as_dict(), extracted=c.as_dict(), links=[], method=f"rule:{c.rule}", review="pending",
            **_column_values(c),
        )
        ctx.session.add(row)
        stored[c.id] = row
    ctx.session.flush()
    for c in extraction.claims:
        stored[c.id].links = [stored[i].id for i in c.links if i in stored]
    ctx.session.flush()
    audit.record(ctx, "ingest", "source", source.code or source.id, None,
                 {"claims": len(stored), "programme": programme_code, "language": extraction.language})
    return IngestResult(source, before is None, extraction.language, list(stored.values()))


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get_claim(ctx: Context, claim_id: int) -> Claim:
    claim = ctx.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"claim {claim_id} does not exist; `cooptrack claims list` shows the ids")
    return claim


def list_claims(ctx: Context, programme: str | None = None, review: str | None = "pending",
                source: int | None = None, kinds: tuple[str, ...] | None = REVIEWABLE, limit: int = 200) -> list[Claim]:
    if review is not None and review not in REVIEW_STATES:
        refuse("unknown_review", f"review '{review}' is not one of {', '.join(REVIEW_STATES)} or all", "review", review)
    query = select(Claim).order_by(Claim.id).limit(limit)
    if programme:
        query = query.where(Claim.programme_id == get_programme(ctx, programme).id)
    if review:
        query = query.where(Claim.review == review)
    if source is not None:
        query = query.where(Claim.source_id == source)
    if kinds:
        query = query.where(Claim.kind.in_(kinds))
    return list(ctx.session.scalars(query))


def linked(ctx: Context, claim: Claim) -> list[Claim]:
    if not claim.links:
        return []
    return list(ctx.session.scalars(select(Claim).where(Claim.id.in_(claim.links)).order_by(Claim.id)))


# -- review -------------------------------------------------------------------------------------


@dataclass
class AcceptOptions:
    as_: str | None = None  # figure, observation, status, value, claim (no fact of its own)
    project: str | None = None
    period: str | None = None
    indicator: str | None = None
    reporter: str | None = None
    partner: str | None = None
    subject: str | None = None
    backdate: bool = False
    reopen: bool = False


def _decide(claim: Claim, opts: AcceptOptions) -> str:
    if opts.as_:
        return opts.as_
    if claim.kind == "status" and (claim.project_id or opts.project):
        return "status"
    if claim.kind == "money" and (claim.project_id or opts.project) and not claim.subject:
        return "value"
    if claim.kind in ("money", "count") and claim.subject in INDICATOR_OF_SUBJECT:
        return "observation"
    if claim.kind == "count" and claim.unit in COUNT_INDICATORS:
        return "observation"
    if claim.kind in ("money", "count") and claim.programme_id is not None and claim.kind != "percent":
        return "figure"
    return "claim"


FACTS = ("figure", "observation", "status", "value", "claim")


def accept(ctx: Context, claim_id: int, opts: AcceptOptions | None = None) -> Claim:
    """Accept a pending claim and create the fact it supports (or none, with ``as_='claim'``)."""
    opts = opts or AcceptOptions()
    claim = get_claim(ctx, claim_id)
    if claim.review == "accepted":
        refuse("already_accepted", f"claim {claim.id} is already accepted (fact: {claim.fact_entity} "
               f"{claim.fact_id}); nothing to do", "claim", claim.id)
    if opts.as_ and opts.as_ not in FACTS:
        refuse("unknown_fact", f"--as '{opts.as_}' is not one of {', '.join(FACTS)}", "as", opts.as_)
    before = audit.snapshot(claim)
    kind = _decide(claim, opts)
    entity, fact_id = {
        "figure": _accept_figure, "observation": _accept_observation, "status": _accept_status,
        "value": _accept_value, "claim": lambda ctx, c, o: (None, None),
    }[kind](ctx, claim, opts)
    if opts.subject:
        claim.subject = opts.subject  # the reviewer's reading is the claim's reading
    claim.review = "accepted"
    claim.reviewed_by, claim.reviewed_at, claim.reason = ctx.actor, ctx.now, None
    claim.fact_entity, claim.fact_id = entity, (str(fact_id) if fact_id is not None else None)
    ctx.session.flush()
    audit.record(ctx, "accept", "claim", claim.id, before, audit.snapshot(claim))
    return claim


def _need(claim: Claim, what: str, value: object, option: str) -> None:
    if value is None:
        refuse("missing_" + what, f"claim {claim.id} does not say its {what}; pass {option}", what)


def _claim_period(claim: Claim, opts: AcceptOptions) -> str | None:
    text = opts.period or claim.period
    if text and "/" in text:  # a range such as 2019/2022: facts take its last period
        text = text.split("/")[-1]
    return Period.parse(text, "period").code if text else None


def _accept_figure(ctx: Context, claim: Claim, opts: AcceptOptions) -> tuple[str, int]:
    if claim.programme_id is None:
        refuse("no_programme", f"claim {claim.id} is not linked to a programme; ingest with --programme", "programme")
    if claim.kind == "money":
        _need(claim, "amount", claim.amount, "`claims edit --amount`")
        _need(claim, "currency", claim.currency, "`claims edit --currency`")
        measure, value, unit = "amount", claim.amount, claim.currency
    elif claim.kind == "count":
        _need(claim, "count", claim.count, "`claims edit --count`")
        measure, value, unit = "count", Decimal(claim.count or 0), claim.unit or "project"
    else:
        refuse("not_a_figure", f"claim {claim.id} is a {claim.kind}, not a count or an amount", "as", "figure")
    claimed_status = claim.status or _linked_status(ctx, claim)
    # "19 projects ... have been implemented": a group of projects in a status.
    subject = opts.subject or claim.subject or ("project" if claimed_status else None)
    if not subject:
        refuse("missing_subject", f"claim {claim.id} (\"{claim.quote}\") does not say what it is about; pass "
               "--subject package (a headline package), programme (the whole programme) or project (a "
               "group of its projects, with their status)", "subject")
    # A package or programme total spans every status: a verb such as "will implement" in the
    # same sentence describes the programme, not a status bucket.
    status = None if subject in ("package", "programme") else claimed_status
    figure = ReportedFigure(
        programme_id=claim.programme_id, subject=subject,
        status=status, measure=measure, value=value, unit=unit or "", period=_claim_period(claim, opts),
        approximate=claim.approximate, lower_bound=claim.lower_bound, claim_id=claim.id, source_id=claim.source_id,
    )
    ctx.session.add(figure)
    ctx.session.flush()
    audit.record(ctx, "create", "reported_figure", figure.id, None, audit.snapshot(figure))
    return "reported_figure", figure.id


def _linked_status(ctx: Context, claim: Claim) -> str | None:
    for other in linked(ctx, claim):
        if other.status:
            return other.status
    return None


def _parties(ctx: Context, claim: Claim, opts: AcceptOptions) -> tuple[str, str | None]:
    """Reporter and partner: as given, the missing side filled from the programme's parties."""
    parties = [p.country for p in claim.programme.parties] if claim.programme else []
    reporter = resolve_country(opts.reporter, "reporter") if opts.reporter else None
    partner = resolve_country(opts.partner, "partner") if opts.partner else None
    others = [p for p in parties if p not in (reporter, partner)]
    if reporter is None:
        reporter = others.pop(0) if others else None
    if partner is None and len(parties) >= 2:
        partner = next((p for p in parties if p != reporter), None)
    if reporter is None or partner is None:
        refuse("missing_reporter", f"claim {claim.id}: say between which countries with --reporter and --partner",
               "reporter")
    if reporter == partner:
        refuse("same_country", f"reporter and partner are both {reporter}", "partner", partner)
    return reporter, partner


def _accept_observation(ctx: Context, claim: Claim, opts: AcceptOptions) -> tuple[str, int]:
    if claim.kind == "money":
        indicator = opts.indicator or INDICATOR_OF_SUBJECT.get(claim.subject or "")
        value, unit = claim.amount, claim.currency
    else:
        indicator = opts.indicator or COUNT_INDICATORS.get(claim.unit or "")
        value, unit = (Decimal(claim.count) if claim.count is not None else None), claim.unit
    _need(claim, "indicator", indicator, "--indicator (e.g. trade_turnover)")
    _need(claim, "value", value, "`claims edit`")
    _need(claim, "unit", unit, "`claims edit --currency` or `--unit`")
    period = _claim_period(claim, opts)
    _need(claim, "period", period, "--period (e.g. 2019-H1)")
    reporter, partner = _parties(ctx, claim, opts)
    flags = [f for f, on in (("approximate", claim.approximate), ("lower_bound", claim.lower_bound)) if on]
    observation = add_observation(ctx, ObservationSpec(
        indicator=str(indicator), reporter=reporter, partner=partner, period=str(period), value=value or Decimal(0),
        unit=str(unit), flags=flags, source=str(claim.source_id), note=f"claim {claim.id}: {claim.quote}",
        claim_id=claim.id,
    ))
    return "observation", observation.id


def _claim_project(ctx: Context, claim: Claim, opts: AcceptOptions) -> Project:
    if opts.project:
        return get_project(ctx, opts.project)
    if claim.project is None:
        refuse("no_project", f"claim {claim.id} names no registered project; pass --project ID", "project")
    return claim.project


def _accept_status(ctx: Context, claim: Claim, opts: AcceptOptions) -> tuple[str, int]:
    project = _claim_project(ctx, claim, opts)
    _need(claim, "status", claim.status, "`claims edit --status`")
    source = claim.source
    effective = _claim_period(claim, opts) or source.published
    _need(claim, "date", effective, "--period (when the status took effect, e.g. 2019-04)")
    event = add_status_event(ctx, StatusSpec(project=project.code, status=str(claim.status), effective=str(effective),
                                             source=str(source.id), note=f"claim {claim.id}: {claim.quote}",
                                             reopen=opts.reopen, backdate=opts.backdate, claim_id=claim.id))
    return "status_event", event.id


def _accept_value(ctx: Context, claim: Claim, opts: AcceptOptions) -> tuple[str, str]:
    project = _claim_project(ctx, claim, opts)
    if claim.kind != "money":
        refuse("not_money", f"claim {claim.id} is a {claim.kind}; only money can be a project value", "as", "value")
    _need(claim, "currency", claim.currency, "`claims edit --currency`")
    before = audit.snapshot(project)
    project.value_amount, project.value_currency = claim.amount, claim.currency
    period = _claim_period(claim, opts)
    # Without a period in the text, the value is dated by its source's publication.
    project.value_date = Period.parse(period).start if period else (claim.source.known_from or project.value_date)
    project.value_source_id, project.value_claim_id = claim.source_id, claim.id
    ctx.session.flush()
    audit.record(ctx, "update", "project", project.code, before, audit.snapshot(project))
    return "project", project.code


def reject(ctx: Context, claim_id: int, reason: str) -> Claim:
    claim = get_claim(ctx, claim_id)
    if not reason or not reason.strip():
        refuse("missing_reason", "rejecting a claim needs --reason \"...\"", "reason")
    if claim.review == "accepted":
        refuse("already_accepted", f"claim {claim.id} is accepted and its fact ({claim.fact_entity} {claim.fact_id}) "
               "cites it; record a newer claim instead of rejecting it", "claim", claim.id)
    before = audit.snapshot(claim)
    claim.review, claim.reason = "rejected", reason.strip()
    claim.reviewed_by, claim.reviewed_at = ctx.actor, ctx.now
    ctx.session.flush()
    audit.record(ctx, "reject", "claim", claim.id, before, audit.snapshot(claim))
    return claim


EDITABLE = ("amount", "currency", "count", "unit", "value", "subject", "status", "period", "approximate",
            "lower_bound", "project")


def edit(ctx: Context, claim_id: int, changes: dict[str, Any]) -> Claim:
    """Correct what the extractor read; the original reading stays in ``extracted``."""
    claim = get_claim(ctx, claim_id)
    if claim.review == "accepted":
        refuse("already_accepted", f"claim {claim.id} is accepted; its fact cites it as it stands", "claim", claim.id)
    checks = Checks()
    clean: dict[str, Any] = {}
    for key, raw in changes.items():
        if raw is None:
            continue
        if key == "amount":
            clean[key] = checks.run(check_amount, raw, "amount")
        elif key == "value":
            clean[key] = checks.run(check_amount, raw, "value")
        elif key == "currency":
            clean[key] = checks.run(check_currency, raw, "currency")
        elif key == "count":
            try:
                clean[key] = int(raw)
                if clean[key] < 0:
                    raise ValueError
            except (TypeError, ValueError):
                checks.fail("bad_count", f"count '{raw}' is not a whole number of zero or more", "count", raw)
        elif key == "status":
            found = checks.run(Status.parse, raw)
            clean[key] = found.value if found else None
        elif key == "period":
            parts = [checks.run(Period.parse, p, "period") for p in str(raw).split("/")]
            clean[key] = "/".join(p.code for p in parts if p)
        elif key == "project":
            project = checks.run(get_project, ctx, raw)
            clean["project_id"] = project.id if project else None
        elif key in ("approximate", "lower_bound"):
            clean[key] = bool(raw)
        elif key in EDITABLE:
            clean[key] = str(raw).strip() or None
        else:
            checks.fail("not_editable", f"'{key}' cannot be edited; editable: {', '.join(EDITABLE)}", key)
    checks.done()
    if not clean:
        refuse("nothing_to_edit", "give at least one change, e.g. --amount 7200000000", "changes")
    before = audit.snapshot(claim)
    for key, value in clean.items():
        setattr(claim, key, value)
    claim.data = {**claim.data, **{k: audit.jsonable(v) for k, v in clean.items()}}
    claim.method = "manual" if claim.method.startswith("manual") else f"manual (was {claim.method})"
    ctx.session.flush()
    audit.record(ctx, "edit", "claim", claim.id, before, audit.snapshot(claim))
    return claim


def published_on(source: Source) -> date | None:
    return source.known_from


__all__ = ["AcceptOptions", "IngestResult", "InvalidInput", "Finding", "accept", "edit", "get_claim", "ingest",
           "list_claims", "reject"]
