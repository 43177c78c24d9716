"""Safe XML reading, shared by every XML format cooptrack reads.

Three layers, each enough on its own for the attacks it names:

1. :func:`check_prolog` reads the bytes before the root element and refuses any DOCTYPE
   (hence any DTD, internal entity, external entity: XXE, billion laughs) before the parser
   sees the content.
2. The parser runs with entities, DTD loading and network access off and without
   ``huge_tree``: libxml2 then refuses a text node longer than 10,000,000 bytes
   ("Text node too long") having buffered at most that much, so a 1 GB text node costs
   about 30 MB of memory, not 1 GB (tests/test_iati_security.py generates such a file).
3. :class:`BoundedReader` feeds the parser and refuses a run of more than
   :data:`MAX_RUN` bytes without a ``<``. libxml2 has no such limit for attribute values
   (a 300 MB attribute was read whole, at about 950 MB of memory, before libxml2 failed on
   the next buffer), and ``<`` cannot appear raw in a text node or an attribute value, so
   the run length bounds both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lxml import etree

# The options every cooptrack XML parse uses; huge_tree stays off so libxml2's limits apply.
PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
}
MAX_RUN = 16 * 1024 * 1024  # bytes without a '<': above libxml2's own 10 MB text-node limit
PROLOG_LIMIT = 1024 * 1024  # a root element must start within the first MB
CHUNK = 256 * 1024

_NAME_START = re.compile(rb"<[A-Za-z_:]")


class XmlRefused(Exception):
    """The document is refused before or while parsing; ``code``/``line`` say why and where."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line


def parser() -> etree.XMLParser:
    """A whole-document parser with the safe options (for small documents such as schemas)."""
    return etree.XMLParser(**PARSER_OPTIONS)


def _decode_head(head: bytes) -> bytes:
    """The prolog as ASCII-compatible bytes (UTF-16 files are rare but legal XML)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head[: len(head) - len(head) % 2].decode("utf-16", errors="replace")
        return text.encode("utf-8", errors="replace")
    return head


def check_prolog(path: Path) -> None:
    """Refuse a DOCTYPE (or anything but the XML declaration, comments and processing
    instructions) before the root element. Raises XmlRefused."""
    with path.open("rb") as handle:
        head = handle.read(PROLOG_LIMIT)
    data = _decode_head(head)
    pos = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while pos < len(data) and data[pos : pos + 1] in b" \t\r\n":
            pos += 1
        if pos >= len(data):
            if len(head) >= PROLOG_LIMIT:
                raise XmlRefused("prolog_too_long", "no root element in the first MB of the file; "
                                 "cooptrack refuses a prolog that long", _line(data, pos))
            return  # empty or only a prolog: the parser reports it
        if data.startswith(b"<?", pos):
            end, close = data.find(b"?>", pos), 2
        elif data.startswith(b"<!--", pos):
            end, close = data.find(b"-->", pos), 3
        elif data.startswith(b"<!", pos):
            word = data[pos : pos + 9].decode("ascii", errors="replace")
            raise XmlRefused(
                "dtd_refused",
                f"the file declares a DTD ({word.strip()}...); cooptrack never reads DTDs or entities "
                "(XXE and entity-expansion attacks): remove the DOCTYPE declaration",
                _line(data, pos),
            )
        elif _NAME_START.match(data, pos):
            return
        else:
            return  # not XML at all: the parser reports it with its own message
        if end < 0:
            return  # unterminated: the parser reports it
        pos = end + close


def _line(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


class BoundedReader:
    """A binary file for lxml that refuses more than ``max_run`` bytes without a ``<``
    (one huge attribute value or text node), so memory stays bounded whatever the input."""

    def __init__(self, handle: IO[bytes], max_run: int = MAX_RUN) -> None:
        self._handle = handle
        self._max_run = max_run
        self._run = 0
        # The refusal's line: counted when it is needed, from the start of a file that can be read
        # again (counting every chunk's newlines as it is read cost a twentieth of a reading process).
        self._again = _seekable(handle)
        self._lines = 1
        self.bytes_read = 0

    def read(self, size: int = CHUNK) -> bytes:
        chunk = self._handle.read(CHUNK if size < 0 else size)
        self.bytes_read += len(chunk)
        last = chunk.rfind(b"<")
        if last < 0:
            self._run += len(chunk)
            if self._run > self._max_run:
                raise XmlRefused(
                    "node_too_large",
                    f"more than {self._max_run // (1024 * 1024)} MB without a tag (one huge text or "
                    "attribute value); cooptrack refuses such files to keep memory bounded",
                    self._line_at(self.bytes_read - len(chunk)),
                )
        else:
            self._run = len(chunk) - last - 1
        if not self._again:
            self._lines += chunk.count(b"\n")
        return chunk

    def _line_at(self, offset: int) -> int:
        """The line at which the byte ``offset`` of the file stands."""
        if not self._again:
            return self._lines
        self._handle.seek(0)
        lines = 1
        while offset > 0:
            data = self._handle.read(min(CHUNK, offset))
            if not data:
                break
            lines += data.count(b"\n")
            offset -= len(data)
        return lines


def _seekable(handle: IO[bytes]) -> bool:
    try:
        return handle.seekable()
    except (AttributeError, OSError, ValueError):
        return False


@dataclass
class ParseError:
    line: int | None
    message: str


def syntax_error(exc: etree.XMLSyntaxError) -> ParseError:
    """lxml's error as a line and a message without lxml's own file/line suffix."""
    message = str(exc.msg if getattr(exc, "msg", None) else exc).strip()
    message = re.sub(r"\s*\([^()]*, line \d+\)$", "", message)
    message = re.sub(r", line \d+, column \d+$", "", message.replace("\n", " ").strip())
    return ParseError(exc.lineno or None, message)


def iterparse(reader: BoundedReader, tag: str) -> Any:
    """``lxml.etree.iterparse`` over ``reader``: 'end' events of ``tag`` only, with the safe
    options (its ``root`` is the document's root once the parse is done)."""
    return etree.iterparse(reader, events=("end",), tag=tag, **PARSER_OPTIONS)
