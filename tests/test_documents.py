"""Reading source documents (no database): plain text in UTF-8 and Windows-1251, HTML without its
scripts and menus, PDF through its text layer, and the files that must be refused with a clear
message: empty, binary, too large, missing, a PDF without text."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from pypdf import PdfReader
from test_extract import EN, RU

from cooptrack.errors import InvalidInput
from cooptrack.services.documents import DEFAULT_MAX_MB, read_document

MB = 1024 * 1024

ARTICLE = ("Kazakhstan and the Republic of Korea will implement a package of 40 Kazakh-Korean industrial and "
           "innovative projects worth about US$7 billion, the Ambassador of the Republic of Korea told reporters.")
SCRIPT = 'var headline = "Korea pledges $9 billion"; window.track("$9 billion");'
HTML = f"""<!DOCTYPE html>
<html><head><title>Fresh Wind</title>
<script>{SCRIPT}</script>
<style>body {{ font-family: sans-serif; }}</style></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/business">Business</a></li>
<li><a href="/sport">Sport news menu</a></li></ul></nav>
<article>
<h1>Kazakhstan and Korea to implement 40 projects worth US$7 billion</h1>
<p>{ARTICLE}</p>
<p>Of these, 19 projects worth US$2 billion have been implemented while six projects are being executed.</p>
</article>
<script>document.write("Korea will invest $9 billion more");</script>
<footer>Copyright 2019 Qazaq TV. All rights reserved.</footer>
</body></html>"""


def make_pdf(content: bytes) -> bytes:
    """A one-page PDF whose page draws ``content`` (a content stream) with Helvetica as /F1; the
    cross-reference table gives each object's true byte offset."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


TEXT_PDF = make_pdf(b"BT /F1 12 Tf 72 720 Td (Korea invested US$2 billion) Tj ET")
DRAWING_PDF = make_pdf(b"0 0 1 rg 72 72 200 200 re f")  # a blue square: no text at all


def refusal(path: Path, max_mb: int = DEFAULT_MAX_MB) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        read_document(path, max_mb)
    return info.value


@pytest.mark.parametrize(("text", "encoding"), [
    pytest.param(EN, "utf-8", id="english-utf8"),
    pytest.param(RU, "utf-8", id="russian-utf8"),
    pytest.param(RU, "utf-8-sig", id="russian-utf8-bom"),
    pytest.param(RU, "cp1251", id="russian-cp1251"),
])
def test_plain_text_is_decoded(tmp_path, text, encoding):
    path = tmp_path / "news.txt"
    path.write_bytes(text.encode(encoding))
    document = read_document(path)
    assert document.text == text
    assert (document.media_type, document.filename) == ("text/plain", "news.txt")


@pytest.mark.parametrize("name", ["page.html", "page.txt"])  # by suffix, and by its <!DOCTYPE html> start
def test_html_keeps_the_article_and_drops_scripts_and_menus(tmp_path, name):
    path = tmp_path / name
    path.write_text(HTML, encoding="utf-8")
    document = read_document(path)
    assert document.media_type == "text/html"
    assert ARTICLE in document.text
    assert "19 projects worth US$2 billion have been implemented" in document.text
    for leftover in ("$9 billion", "window.track", "document.write", "font-family", "Sport news menu"):
        assert leftover not in document.text, leftover


def test_html_with_only_scripts_and_a_menu_has_no_main_text(tmp_path):
    """Navigation is boilerplate: a page that is nothing but a menu and scripts has no main text."""
    path = tmp_path / "menu.html"
    path.write_text(HTML.split("<article>")[0] + "</body></html>", encoding="utf-8")
    exc = refusal(path)
    assert [f.code for f in exc.findings] == ["no_main_text"]
    assert "no main text found in the HTML" in exc.message


def test_handmade_pdf_is_valid_for_pypdf(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(TEXT_PDF)
    reader = PdfReader(path, strict=True)  # strict: a wrong xref offset would raise
    assert len(reader.pages) == 1
    assert reader.pages[0].extract_text() == "Korea invested US$2 billion"


@pytest.mark.parametrize("name", ["report.pdf", "report.bin"])  # by suffix, and by its %PDF start
def test_pdf_text_layer_is_read(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(TEXT_PDF)
    document = read_document(path)
    assert document.text == "Korea invested US$2 billion"
    assert document.media_type == "application/pdf"


def test_pdf_without_text_layer_is_refused(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(DRAWING_PDF)
    exc = refusal(path)
    assert [f.code for f in exc.findings] == ["no_text_layer"]
    assert "no text layer" in exc.message and "OCR" in exc.message and str(path) in exc.message


def test_broken_pdf_is_refused(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not really a PDF\n")
    exc = refusal(path)
    assert exc.findings[0].code in ("bad_pdf", "no_text_layer")
    assert str(path) in exc.message


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n  "], ids=["zero-bytes", "whitespace"])
def test_empty_file_is_refused(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    exc = refusal(path)
    assert [f.code for f in exc.findings] == ["empty"]
    assert exc.message == f"{path} is empty; nothing to read"


def test_binary_file_is_refused(tmp_path):
    noise = random.Random(7).randbytes(4096)
    path = tmp_path / "data.txt"
    path.write_bytes(b"\x01\x02\x00\x03" + noise + b"\x00" * 16)
    exc = refusal(path)
    assert [f.code for f in exc.findings] == ["binary_input"]
    assert "binary data" in exc.message and "NUL bytes" in exc.message and "not text" in exc.message


@pytest.mark.parametrize(("magic", "what"), [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"PK\x03\x04", "a ZIP archive"),
])
def test_known_binary_formats_are_named(tmp_path, magic, what):
    path = tmp_path / "upload.txt"
    path.write_bytes(magic + b"abc" * 100)
    exc = refusal(path)
    assert what in exc.message and "not text" in exc.message


def test_file_above_the_limit_is_refused(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"a" * (MB + 1))
    exc = refusal(path, max_mb=1)
    assert [f.code for f in exc.findings] == ["too_large"]
    assert "above the 1 MB limit" in exc.message and "--max-mb" in exc.message and str(path) in exc.message


def test_file_at_the_limit_is_read(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"Kazakhstan and Korea.\n" * (MB // 22) + b"." * (MB % 22))
    assert path.stat().st_size == MB
    assert read_document(path, max_mb=1).text.startswith("Kazakhstan and Korea.")


def test_default_limit_applies(tmp_path):
    path = tmp_path / "sparse.txt"
    with path.open("wb") as f:  # a sparse file: big by size, nothing to write to disk
        f.seek(DEFAULT_MAX_MB * MB)
        f.write(b"a")
    exc = refusal(path)
    assert f"above the {DEFAULT_MAX_MB} MB limit" in exc.message and "--max-mb" in exc.message


def test_missing_file_is_refused(tmp_path):
    path = tmp_path / "nowhere.txt"
    exc = refusal(path)
    assert [f.code for f in exc.findings] == ["unreadable"]
    assert exc.message.startswith(f"cannot read {path}")
    assert "No such file" in exc.message
