"""Bytes to text: UTF-8 (with or without a byte-order mark), UTF-16 with a mark, and the
8-bit encodings of Russian (Windows-1251, KOI8-R, CP866) and Western (Windows-1252,
Latin-1) text. Binary files are refused."""

from __future__ import annotations

from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a .docx/.xlsx file)"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "an executable"),
    (b"\xd0\xcf\x11\xe0", "an old MS Office file"),
    (b"SQLite format 3", "an SQLite database"),
)
_RUSSIAN_COMMON = "оеаинтсрвлкм"


def _binary(what: str) -> InvalidInput:
    msg = f"the file is {what}, not text; extract reads plain text or HTML in English or Russian"
    return InvalidInput(msg, [Finding("binary_input", msg)])


def _utf16(data: bytes) -> str | None:
    """UTF-16 without a mark: every other byte zero in mostly ASCII text."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_zero = sample[0::2].count(0)
    odd_zero = sample[1::2].count(0)
    half = len(sample) // 2
    codec = (
        "utf-16-le"
        if odd_zero > 0.6 * half and even_zero < 0.1 * half
        else ("utf-16-be" if even_zero > 0.6 * half and odd_zero < 0.1 * half else None)
    )
    if codec is None:
        return None
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def decode(data: bytes) -> str:
    """The text of ``data``; raises InvalidInput for a binary file."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise _binary(what)
    sample = data[:65536]
    if b"\x00" in sample:
        text = _utf16(data)
        if text is not None:
            return text
        raise _binary("binary data (it contains NUL bytes)")
    controls = sum(sample.count(bytes([b])) for b in range(32) if b not in (9, 10, 12, 13, 27))
    if controls * 100 > len(sample):
        raise _binary("binary data (it contains many control bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return data.decode(_guess_8bit(sample))


def _guess_8bit(sample: bytes) -> str:
    high = [i for i, b in enumerate(sample) if b >= 0x80]
    if not high:
        return "ascii"
    # Cyrillic text is made of high bytes side by side; Western text has single accented letters.
    paired = sum(
        1 for i in high if (i > 0 and sample[i - 1] >= 0x80) or (i + 1 < len(sample) and sample[i + 1] >= 0x80)
    )
    if paired * 2 >= len(high):
        best, best_score = "cp1251", -1
        for codec in ("cp1251", "koi8_r", "cp866"):
            text = sample.decode(codec, errors="replace")
            score = sum(text.count(ch) for ch in _RUSSIAN_COMMON)
            if score > best_score:
                best, best_score = codec, score
        return best
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"
