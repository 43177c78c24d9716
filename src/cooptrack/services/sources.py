"""Sources: the documents figures come from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import PurePath

from sqlalchemy import select

from cooptrack.domain.period import Period
from cooptrack.errors import AlreadyExists, InvalidInput, NotFound
from cooptrack.findings import Finding
from cooptrack.services import audit, validate
from cooptrack.services.context import Checks, Context
from cooptrack.services.documents import read_upload
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
    filename: str | None = None  # the document's file name, as uploaded or read
    media_type: str | None = None  # text/plain, text/html or application/pdf


# Ids a source cannot take: the web form for a new source lives at /sources/new.
RESERVED_CODES = ("new",)


def _checked(spec: SourceSpec) -> tuple[str, Period | None]:
    """The title and the publication period, once every field is valid; else every finding."""
    checks = Checks()
    title = checks.run(validate.text, spec.title, "title")
    if spec.code is not None:
        checks.run(validate.slug, spec.code, "source id")
        if spec.code.isdigit():  # a number would be read as the database id
            checks.fail("numeric_id", f"source id '{spec.code}' is only digits; add a letter, e.g. s{spec.code}",
                        "source id", spec.code)
        if spec.code in RESERVED_CODES:
            checks.fail("reserved_id", f"source id '{spec.code}' is reserved (the address of the new-source form); "
                        "choose another", "source id", spec.code)
    for name, limit in (("publisher", 200), ("url", 2000), ("credit", 200)):
        checks.run(validate.text, getattr(spec, name), name, False, limit)
    period = checks.run(validate.period, spec.published, "published") if spec.published else None
    if spec.language is not None and not _known_language(spec.language):
        checks.fail("unknown_language", f"language '{spec.language}' is not an ISO 639-1 code such as en or ru",
                    "language", spec.language)
    if spec.kind is not None and spec.kind not in KINDS:
        checks.fail("unknown_kind", f"kind '{spec.kind}' is not one of {', '.join(KINDS)}", "kind", spec.kind)
    checks.done()
    assert title is not None
    return title, period


def _digest(text: str | None) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def add_source(ctx: Context, spec: SourceSpec) -> Source:
    """Store a source; the same text (by SHA-256) or the same id gives the existing one."""
    title, period = _checked(spec)
    digest = _digest(spec.text)
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
        filename=spec.filename,
        media_type=spec.media_type,
    )
    ctx.session.add(source)
    ctx.session.flush()
    audit.record(ctx, "create", "source", source.id, None, audit.snapshot(source))
    return source


def document_spec(spec: SourceSpec, data: bytes, filename: str, title_from_name: bool = True) -> SourceSpec:
    """``spec`` with the text of the uploaded document ``data`` (a file called ``filename``, read
    as `cooptrack source add` reads a file), its name and media type; the title defaults to the
    file's name (as on the command line) unless ``title_from_name`` is false (a name the client
    did not give). Every finding about the fields and the document together (InvalidInput), or
    the document refused as the wrong type (WrongType). Reads no database: run it before taking
    the writer."""
    title = spec.title or (PurePath(filename).stem if title_from_name else "")
    spec = replace(spec, title=title, filename=filename)
    findings: list[Finding] = []
    try:
        _checked(spec)
    except InvalidInput as exc:
        findings.extend(exc.findings)
    try:
        document = read_upload(data, filename)
    except InvalidInput as exc:
        findings.extend(replace(f, field=f.field or "file") for f in exc.findings)
    else:
        spec.text, spec.media_type = document.text, document.media_type
    if findings:
        raise InvalidInput.from_findings(findings)
    return spec


def add_document(ctx: Context, spec: SourceSpec) -> tuple[Source, bool]:
    """Store an uploaded document's text as a source: (the source, True) when it is new; (the
    source already holding the same text, False) when it is not, with nothing written. An id
    already taken by a different text is refused (AlreadyExists), never silently reused."""
    _checked(spec)
    if not spec.text or not spec.text.strip():
        message = "the document holds no text; nothing to store"
        raise InvalidInput(message, [Finding("empty", message, field="file")])
    same_text = ctx.session.scalar(select(Source).where(Source.sha256 == _digest(spec.text)))
    if same_text is not None:
        return same_text, False
    if spec.code:
        taken = ctx.session.scalar(select(Source).where(Source.code == spec.code))
        if taken is not None:
            raise AlreadyExists(f"source id '{spec.code}' is taken by another document ('{taken.title}'); "
                                "choose another id, or leave it out to number the source")
    return add_source(ctx, spec), True


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
