"""Programmes: the agreements that group cooperation."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from cooptrack.domain.countries import resolve_country
from cooptrack.errors import AlreadyExists, NotFound
from cooptrack.services import audit, validate
from cooptrack.services.context import Checks, Context
from cooptrack.services.sources import get_source
from cooptrack.store.models import Industry, IndustrySector, Programme, ProgrammeParty, Project


@dataclass
class IndustrySpec:
    name: str
    dac_codes: list[str] = field(default_factory=list)


@dataclass
class ProgrammeSpec:
    code: str
    name: str
    parties: list[str]
    aliases: list[str] = field(default_factory=list)
    description: str | None = None
    signed: str | None = None
    signed_occasion: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    industries: list[IndustrySpec] = field(default_factory=list)
    source: str | None = None


def register_programme(ctx: Context, spec: ProgrammeSpec) -> Programme:
    checks = Checks()
    code = checks.run(validate.slug, spec.code, "programme id")
    name = checks.run(validate.text, spec.name, "name")
    parties = check_parties(checks, spec.parties)
    if spec.signed:
        checks.run(validate.period, spec.signed, "signed")
    start = checks.run(validate.period, spec.period_start, "period start") if spec.period_start else None
    end = checks.run(validate.period, spec.period_end, "period end") if spec.period_end else None
    if start and end:
        checks.run(validate.date_order, start.start, end.end, "period start", "period end")
    industries = check_industries(checks, spec.industries)
    source = checks.run(get_source, ctx, spec.source) if spec.source else None
    checks.done()

    if ctx.session.scalar(select(Programme.id).where(Programme.code == code)) is not None:
        raise AlreadyExists(
            f"programme id '{code}' already exists; choose another id or use `cooptrack programme show {code}`"
        )
    programme = Programme(
        code=code,
        name=name,
        aliases=list(spec.aliases),
        description=spec.description,
        signed=validate.period(spec.signed, "signed").code if spec.signed else None,
        signed_occasion=spec.signed_occasion,
        period_start=start.code if start else None,
        period_end=end.code if end else None,
        source_id=source.id if source else None,
        parties=[ProgrammeParty(country=c, position=i) for i, c in enumerate(parties)],
        industries=[
            Industry(name=n, position=i, sectors=[IndustrySector(dac_code=d) for d in codes])
            for i, (n, codes) in enumerate(industries)
        ],
    )
    ctx.session.add(programme)
    ctx.session.flush()
    audit.record(
        ctx, "create", "programme", programme.code, None,
        audit.snapshot(programme, parties=parties, industries=[{"name": n, "dac_codes": d} for n, d in industries]),
    )
    return programme


def check_parties(checks: Checks, given: list[str], example: str = "e.g. --party KAZ --party KOR") -> list[str]:
    """The parties' ISO codes, in the order given: each a known country, none twice, at least two
    (else findings in ``checks``; ``example`` shows how to name two in the caller's words)."""
    parties: list[str] = []
    for i, party in enumerate(given):
        country = checks.run(resolve_country, party, f"parties[{i}]")
        if country and country in parties:
            checks.fail("duplicate_party", f"party '{party}' is listed twice", f"parties[{i}]", party)
        elif country:
            parties.append(country)
    if len(given) < 2:
        checks.fail("too_few_parties", f"a programme needs at least two parties, {example}", "parties")
    return parties


def check_industries(checks: Checks, given: list[IndustrySpec]) -> list[tuple[str, list[str]]]:
    """Each industry's name and its DAC codes (sorted, once each): a name of at most 200
    characters, none twice, every code a DAC 5-digit sector (else findings in ``checks``)."""
    industries: list[tuple[str, list[str]]] = []
    for i, ind in enumerate(given):
        ind_name = checks.run(validate.text, ind.name, f"industries[{i}].name", max_len=200)
        dac = [c for c in (checks.run(validate.dac_code, d, f"industries[{i}].dac_codes") for d in ind.dac_codes) if c]
        if ind_name:
            if any(ind_name == n for n, _ in industries):
                checks.fail("duplicate_industry", f"industry '{ind_name}' is listed twice",
                            f"industries[{i}].name", ind_name)
            industries.append((ind_name, sorted(set(dac))))
    return industries


def get_programme(ctx: Context, code: str) -> Programme:
    programme = ctx.session.scalar(select(Programme).where(Programme.code == code))
    if programme is None:
        raise NotFound(f"programme '{code}' does not exist; `cooptrack programme list` shows the ids")
    return programme


def list_programmes(ctx: Context) -> list[tuple[Programme, int]]:
    """Programmes with their project counts."""
    counts = (
        select(Project.programme_id, func.count(Project.id).label("n"))
        .group_by(Project.programme_id)
        .subquery()
    )
    rows = ctx.session.execute(
        select(Programme, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.programme_id == Programme.id)
        .order_by(Programme.code)
    ).all()
    return [(p, int(n)) for p, n in rows]
