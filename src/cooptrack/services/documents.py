"""Reading a source document: plain text in any common encoding, HTML (main text only, through
trafilatura), PDF (its text layer, through pypdf). The same reading serves a file on disk (the
command line) and an upload's bytes (the API and the web form)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path, PurePath

from cooptrack.errors import InvalidInput, WrongType
from cooptrack.extract import decode
from cooptrack.findings import Finding

DEFAULT_MAX_MB = 20
# What an upload may be called; the command line reads any name and goes by the content.
SUFFIXES = (".txt", ".text", ".md", ".html", ".htm", ".xhtml", ".pdf")
MEDIA_SUFFIXES = {"text/plain": ".txt", "text/markdown": ".md", "text/html": ".html",
                  "application/xhtml+xml": ".xhtml", "application/pdf": ".pdf"}


@dataclass(frozen=True, slots=True)
class Document:
    text: str
    media_type: str
    filename: str


def _refuse(path: Path | str, code: str, message: str) -> InvalidInput:
    return InvalidInput(message, [Finding(code, message, source=str(path))])


def _looks_like_html(head: bytes, suffix: str) -> bool:
    if suffix in (".html", ".htm", ".xhtml"):
        return True
    start = head[:1024].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def read_document(path: Path, max_mb: int = DEFAULT_MAX_MB) -> Document:
    if max_mb < 1:
        raise _refuse(path, "bad_limit", f"--max-mb {max_mb} must be at least 1")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _refuse(path, "unreadable", f"cannot read {path}: {exc.strerror}") from None
    if size > max_mb * 1024 * 1024:
        raise _refuse(path, "too_large", f"{path} is {size / 1024 / 1024:.1f} MB, above the {max_mb} MB limit; "
                      "raise it with --max-mb if the file really is one document")
    return read_bytes(path.read_bytes(), path.name, str(path))


def read_bytes(data: bytes, filename: str, label: str | None = None) -> Document:
    """The document in ``data``, a file called ``filename``; messages name it ``label`` (its
    path, or the upload's name)."""
    where = label or filename
    if not data.strip():
        raise _refuse(where, "empty", f"{where} is empty; nothing to read")
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(b"%PDF") or suffix == ".pdf":
        return Document(_pdf_text(where, data), "application/pdf", filename)
    if _looks_like_html(data, suffix):
        return Document(_html_text(where, decode(data)), "text/html", filename)
    return Document(decode(data), "text/plain", filename)


def read_upload(data: bytes, filename: str) -> Document:
    """An uploaded document: refused as the wrong type (HTTP 415) when its name is not a text, HTML
    or PDF file's, when named .pdf it is not a PDF, or when it is binary; refused as invalid
    (HTTP 422) when it is empty or holds no text to read."""
    suffix = PurePath(filename).suffix.lower()
    if suffix and suffix not in SUFFIXES:
        raise WrongType(f"a source document is a text, HTML or PDF file ({', '.join(SUFFIXES)}); "
                        f"'{filename}' is not one")
    if suffix == ".pdf" and data.strip() and not data.startswith(b"%PDF"):
        raise WrongType(f"'{filename}' is named .pdf but is not a PDF document (it does not start with %PDF)")
    try:
        return read_bytes(data, filename)
    except InvalidInput as exc:
        if any(f.code == "binary_input" for f in exc.findings):
            what = exc.message.split(";")[0]
            raise WrongType(f"'{filename}' is not a text, HTML or PDF document ({what})") from None
        raise


def _pdf_text(path: Path | str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise _refuse(path, "bad_pdf", f"{path} is not a readable PDF ({exc})") from None
    except Exception as exc:  # an uploaded PDF is untrusted: a malformed one fails deep inside pypdf in many ways
        raise _refuse(path, "bad_pdf", f"{path} is not a readable PDF ({type(exc).__name__})") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise _refuse(path, "no_text_layer", f"{path} has no text layer (a scanned PDF?); run OCR on it first")
    return text


_CHROME = ("nav", "header", "footer", "aside", "menu", "script", "style", "noscript", "form")


def _html_text(path: Path | str, html: str) -> str:
    import lxml.html
    import trafilatura
    from lxml.etree import ParserError

    # Page chrome goes first: trafilatura falls back to menus when a page has no article.
    try:
        tree = lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        raise _refuse(path, "bad_html", f"{path}: the HTML cannot be parsed") from None
    for element in tree.xpath("|".join(f"//{tag}" for tag in _CHROME)):
        element.drop_tree()
    # Boilerplate is dropped; tables are kept (figures live there).
    text = trafilatura.extract(tree, include_comments=False, include_tables=True, include_links=False,
                               with_metadata=False)
    if not text or not text.strip():
        raise _refuse(path, "no_main_text", f"{path}: no main text found in the HTML")
    return str(text)
