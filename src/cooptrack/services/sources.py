"""Sources: the documents figures come from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from cooptrack.errors import NotFound
from cooptrack.services import audit, validate
from cooptrack.services.context import Checks, Context
from cooptrack.store.models import Source

KINDS = ("official", "media", "dataset", "company")


@dataclass
class SourceSpec:
    title: str
    code: str | None = None
    publisher: str | None = None
    url: str | None = None
    published: str | None = None  # a period: 2019, 2019-04, 2019-04-22
    language: str | None = None
    kind: str | None = None
    credit: str | None = None
    text: str | None = None
    note: str | None = None


def add_source(ctx: Context, spec: SourceSpec) -> Source:
    """Store a source; the same text (by SHA-256) or the same id gives the existing one."""
    checks = Checks()
    title = checks.run(validate.text, spec.title, "title")
    if spec.code is not None:
        checks.run(validate.slug, spec.code, "source id")
        if spec.code.isdigit():  # a number would be read as the database id
            checks.fail("numeric_id", f"source id '{spec.code}' is only digits; add a letter, e.g. s{spec.code}",
                        "source id", spec.code)
    period = checks.run(validate.period, spec.published, "published") if spec.published else None
    if spec.language is not None and not _known_language(spec.language):
        checks.fail("unknown_language", f"language '{spec.language}' is not an ISO 639-1 code such as en or ru",
                    "language", spec.language)
    if spec.kind is not None and spec.kind not in KINDS:
        checks.fail("unknown_kind", f"kind '{spec.kind}' is not one of {', '.join(KINDS)}", "kind", spec.kind)
    checks.done()

    digest = hashlib.sha256(spec.text.encode("utf-8")).hexdigest() if spec.text else None
    existing = None
    if digest:
        existing = ctx.session.scalar(select(Source).where(Source.sha256 == digest))
    if existing is None and spec.code:
        existing = ctx.session.scalar(select(Source).where(Source.code == spec.code))
    if existing is not None:
        return existing

    source = Source(
        code=spec.code,
        title=title,
        publisher=spec.publisher,
        url=spec.url,
        published=period.code if period else None,
        known_from=period.end if period else None,
        language=spec.language,
        kind=spec.kind,
        credit=spec.credit,
        text=spec.text,
        sha256=digest,
        note=spec.note,
    )
    ctx.session.add(source)
    ctx.session.flush()
    audit.record(ctx, "create", "source", source.id, None, audit.snapshot(source))
    return source


def _known_language(code: str) -> bool:
    from babel import Locale, UnknownLocaleError

    if not (len(code) == 2 and code.isalpha() and code.islower()):
        return False
    try:
        Locale.parse(code)
        return True
    except (UnknownLocaleError, ValueError):
        return False


def get_source(ctx: Context, code: str) -> Source:
    source = ctx.session.scalar(select(Source).where(Source.code == code))
    if source is None and code.isdigit():
        source = ctx.session.get(Source, int(code))
    if source is None:
        raise NotFound(f"source '{code}' does not exist; `cooptrack source list` shows the ids")
    return source


def list_sources(ctx: Context) -> list[Source]:
    return list(ctx.session.scalars(select(Source).order_by(Source.id)))
