"""Sources: the documents figures come from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

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


@dataclass
class _Checked:
    """A source's fields as they are stored: the title, the publication period, and the publisher,
    address and credit trimmed (None when blank)."""

    title: str
    period: Period | None
    texts: dict[str, str | None]


def _checked(spec: SourceSpec) -> _Checked:
    """The fields as stored, once every field is valid; else every finding."""
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
    texts = {name: checks.run(validate.text, getattr(spec, name), name, False, limit)
             for name, limit in (("publisher", 200), ("url", 2000), ("credit", 200))}
    period = checks.run(validate.period, spec.published, "published") if spec.published else None
    if spec.language is not None and not _known_language(spec.language):
        checks.fail("unknown_language", f"language '{spec.language}' is not an ISO 639-1 code such as en or ru",
                    "language", spec.language)
    if spec.kind is not None and spec.kind not in KINDS:
        checks.fail("unknown_kind", f"kind '{spec.kind}' is not one of {', '.join(KINDS)}", "kind", spec.kind)
    checks.done()
    assert title is not None
    return _Checked(title, period, texts)


def _digest(text: str | None) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def add_source(ctx: Context, spec: SourceSpec) -> Source:
    """Store a source; the same text (by SHA-256) or the same id gives the existing one."""
    checked = _checked(spec)
    period = checked.period
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
        title=checked.title,
        publisher=checked.texts["publisher"],  # trimmed: the length checked is the length stored
        url=checked.texts["url"],
        published=period.code if period else None,
        known_from=period.end if period else None,
        language=spec.language,
        kind=spec.kind,
        credit=checked.texts["credit"],
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


# What a person corrects about a source: its description. Never its id (other records and
# addresses name it), nor the document it holds (its text, the text's SHA-256, its file).
SOURCE_FIELDS = ("title", "publisher", "url", "published", "language", "kind", "credit", "note")


def source_record(source: Source) -> dict[str, Any]:
    """A source's own fields without its text: what a stale edit is answered with."""
    return {"id": source.code or str(source.id), "number": source.id, "title": source.title,
            "publisher": source.publisher, "url": source.url, "published": source.published,
            "language": source.language, "kind": source.kind, "credit": source.credit, "note": source.note,
            "filename": source.filename, "media_type": source.media_type, "sha256": source.sha256,
            "version": source.version}


def _audited(source: Source) -> dict[str, Any]:
    """The row as an edit's audit event records it: the text, which no edit changes, is left out
    (its SHA-256 names it), so that a corrected title does not copy a whole document twice."""
    data = audit.snapshot(source)
    data.pop("text", None)
    return data


def update_source(ctx: Context, code: str, changes: dict[str, Any], expected_version: int) -> Source:
    """Correct a source's description (SOURCE_FIELDS) at ``expected_version``, with the checks of
    ``add_source``; a blank value clears a field (the title excepted). The publication date moves
    the date its figures are known from."""
    from cooptrack.services.editing import check_version  # editing builds on this module

    source = get_source(ctx, code)
    check_version("source", code, source.version, expected_version, lambda: audit.jsonable(source_record(source)))
    extra = sorted(set(changes) - set(SOURCE_FIELDS))
    if extra:
        raise InvalidInput.from_findings([
            Finding("unknown_field", f"a source has no editable field '{k}'; editable: {', '.join(SOURCE_FIELDS)}",
                    field=k) for k in extra])
    given: dict[str, Any] = {k: None if k != "title" and isinstance(v, str) and not v.strip() else v
                             for k, v in changes.items()}
    # The checks of a new source, on the fields given (the title: the new one or the current one).
    checked = _checked(SourceSpec(
        title=given.get("title", source.title), publisher=given.get("publisher"), url=given.get("url"),
        published=given.get("published"), language=given.get("language"), kind=given.get("kind"),
        credit=given.get("credit")))
    values: dict[str, Any] = {}
    for key, value in given.items():
        if key == "title":
            values["title"] = checked.title
        elif key == "published":
            period = checked.period
            values["published"], values["known_from"] = (period.code, period.end) if period else (None, None)
        elif key in checked.texts:
            values[key] = checked.texts[key]
        elif key == "note":
            values[key] = str(value).strip() if value is not None else None
        else:
            values[key] = value
    before = _audited(source)
    for key, value in values.items():
        setattr(source, key, value)
    ctx.session.flush()
    after = _audited(source)
    if {k for k in after if before.get(k) != after.get(k)} - {"updated_at", "version"}:
        audit.record(ctx, "update", "source", source.id, before, after)
    return source
