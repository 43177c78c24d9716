"""Conflicts: claims about the same subject, measure and period whose values differ. Beyond the
tolerance (default 5%) they are conflicts; within it, discrepancies (US$7 billion against
US$7.2 billion): both are listed side by side, never silently merged. Both claims are always
kept; a resolution records which one is preferred and why."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations

from sqlalchemy import select

from cooptrack.services import audit
from cooptrack.services.claims import get_claim
from cooptrack.services.context import Context, refuse
from cooptrack.services.programmes import get_programme
from cooptrack.store.models import Claim, ConflictResolution

DEFAULT_TOLERANCE = Decimal("0.05")
# Precedence between kinds of source: an official release over the press over anything else.
KIND_RANK = {"official": 0, "media": 1}


@dataclass
class Conflict:
    a: Claim
    b: Claim
    difference: Decimal  # relative to the larger value
    severity: str  # "conflict" beyond the tolerance, "discrepancy" within it
    resolution: ConflictResolution | None


def _value(c: Claim) -> Decimal | None:
    if c.kind == "money":
        return c.amount
    if c.kind == "count":
        return Decimal(c.count) if c.count is not None else None
    return c.value


def _key(c: Claim) -> tuple[object, ...]:
    unit = c.currency if c.kind == "money" else c.unit
    # A package or programme total spans every status (as when accepted: see claims._accept_figure).
    status = None if c.subject in ("package", "programme") else c.status
    return (c.programme_id, c.project_id, c.subject, status, c.kind, unit, c.period)


def difference(a: Claim, b: Claim) -> Decimal | None:
    """The relative difference of two values (to the larger), or None when they agree: equal, or a
    lower bound ("more than 500") below the other figure."""
    va, vb = _value(a), _value(b)
    if va is None or vb is None or va == vb:
        return None
    low = a if va < vb else b
    if low.lower_bound:
        return None
    largest = max(abs(va), abs(vb))
    return (abs(va - vb) / largest).quantize(Decimal("0.0001")) if largest else None


def find_conflicts(ctx: Context, programme: str | None = None,
                   tolerance: Decimal = DEFAULT_TOLERANCE) -> list[Conflict]:
    query = select(Claim).where(Claim.review != "rejected", Claim.kind.in_(("money", "count", "percent")))
    if programme:
        query = query.where(Claim.programme_id == get_programme(ctx, programme).id)
    groups: dict[tuple[object, ...], list[Claim]] = defaultdict(list)
    for claim in ctx.session.scalars(query.order_by(Claim.id)):
        if claim.subject is None and claim.project_id is None:
            continue  # not known what it is about: nothing to compare it with
        groups[_key(claim)].append(claim)
    resolutions = {(r.claim_a_id, r.claim_b_id): r for r in ctx.session.scalars(select(ConflictResolution))}
    found = []
    for claims in groups.values():
        for a, b in combinations(claims, 2):
            if a.source_id == b.source_id and a.span_start == b.span_start:
                continue  # the same statement ingested for two programmes
            diff = difference(a, b)
            if diff is not None:
                severity = "conflict" if diff > tolerance else "discrepancy"
                found.append(Conflict(a, b, diff, severity, resolutions.get((a.id, b.id))))
    return sorted(found, key=lambda c: (c.severity != "conflict", c.a.id, c.b.id))


def precedence(a: Claim, b: Claim) -> tuple[Claim, str]:
    """The preferred claim by rule: official over media over other sources, then the newer source."""
    def rank(c: Claim) -> tuple[int, int]:
        known = c.source.known_from
        return (KIND_RANK.get(c.source.kind or "", 2), -(known.toordinal() if known else 0))

    ra, rb = rank(a), rank(b)
    if ra == rb:
        refuse("no_precedence", f"claims {a.id} and {b.id} come from sources of the same kind and date; "
               "choose one with --prefer ID --reason \"...\"", "prefer")
    winner = a if ra < rb else b
    why = ("an official source over the press" if ra[0] != rb[0] else "the newer source")
    return winner, f"precedence: {why}"


def resolve(ctx: Context, a_id: int, b_id: int, prefer: int | None = None,
            reason: str | None = None) -> ConflictResolution:
    if a_id == b_id:
        refuse("same_claim", f"claim {a_id} cannot conflict with itself; give two claim ids", "claims", a_id)
    a, b = sorted((get_claim(ctx, a_id), get_claim(ctx, b_id)), key=lambda c: c.id)
    if _key(a) != _key(b):
        refuse("not_comparable", f"claims {a.id} and {b.id} are not about the same subject, measure and period; "
               "`cooptrack conflicts` lists the pairs that are", "claims", f"{a.id}/{b.id}")
    if prefer is None:
        winner, why = precedence(a, b)
        method = "precedence"
    else:
        if prefer not in (a.id, b.id):
            refuse("bad_choice", f"--prefer {prefer} is neither claim {a.id} nor claim {b.id}", "prefer", prefer)
        if not reason or not reason.strip():
            refuse("missing_reason", "a person's choice needs --reason \"...\"", "reason")
        winner, why, method = (a if prefer == a.id else b), reason.strip(), "manual"
    row = ctx.session.scalar(select(ConflictResolution).where(
        ConflictResolution.claim_a_id == a.id, ConflictResolution.claim_b_id == b.id))
    before = audit.snapshot(row) if row else None
    if row is None:
        row = ConflictResolution(claim_a_id=a.id, claim_b_id=b.id, preferred_claim_id=winner.id, method=method,
                                 reason=why, actor=ctx.actor, at=ctx.now)
        ctx.session.add(row)
    else:
        row.preferred_claim_id, row.method, row.reason, row.actor, row.at = winner.id, method, why, ctx.actor, ctx.now
    ctx.session.flush()
    audit.record(ctx, "resolve", "conflict", f"{a.id}/{b.id}", before, audit.snapshot(row))
    return row
