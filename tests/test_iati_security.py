"""Hostile XML: an external entity pointing at a local file (XXE), entity expansion (billion
laughs), any DTD, a huge text node and a huge attribute. Each is refused with a finding and
nothing is written; the parser settings alone would not read the file or expand entities either."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import count_rows
from lxml import etree

from cooptrack.formats import iati_read, xmlsafe
from cooptrack.formats.iati_read import IatiFile
from cooptrack.services.iati import ImportOptions, import_iati

MB = 1024 * 1024
MARKER = "TOP-SECRET-7f3a9c"
HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n'
BODY = """<iati-activities version="2.03">
 <iati-activity default-currency="USD">
  <iati-identifier>XM-EVIL-1</iati-identifier>
  <reporting-org ref="XM-EVIL" type="10"><narrative>Evil</narrative></reporting-org>
  <title><narrative>{title}</narrative></title>
  <description><narrative>d</narrative></description>
  <participating-org role="1"><narrative>Evil</narrative></participating-org>
  <activity-status code="2"/>
  <activity-date type="2" iso-date="2020-01-01"/>
 </iati-activity>
</iati-activities>
"""
DTD_MESSAGE = ("the file declares a DTD (<!DOCTYPE...); cooptrack never reads DTDs or entities (XXE and "
               "entity-expansion attacks): remove the DOCTYPE declaration")
LAUGHS = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(MARKER)
    return path


def _write(path: Path, prolog: str, title: str) -> Path:
    path.write_bytes(HEAD + prolog.encode() + b"\n" + BODY.format(title=title).encode())
    return path


def _xxe(tmp_path: Path, secret: Path) -> Path:
    return _write(tmp_path / "xxe.xml", f'<!DOCTYPE iati-activities [<!ENTITY s SYSTEM "file://{secret}">]>', "&s;")


def _laughs(tmp_path: Path) -> Path:
    return _write(tmp_path / "laughs.xml", f'<!DOCTYPE iati-activities [<!ENTITY lol0 "lol">{LAUGHS}]>', "&lol9;")


def _refused(write, store, path: Path, code: str) -> list:
    before = count_rows(store)
    with write() as ctx:
        result = import_iati(ctx, [path], ImportOptions())
    assert not result.written and count_rows(store) == before
    assert [(f.code, f.source) for f in result.report.errors] == [(code, str(path))]
    assert MARKER not in str(result.report.as_dict())
    return result.report.errors


def test_external_entity_is_refused_and_never_read(write, store, tmp_path, secret):
    [finding] = _refused(write, store, _xxe(tmp_path, secret), "dtd_refused")
    assert (finding.row, finding.message) == (2, DTD_MESSAGE)


def test_billion_laughs_is_refused(write, store, tmp_path):
    [finding] = _refused(write, store, _laughs(tmp_path), "dtd_refused")
    assert finding.row == 2


@pytest.mark.parametrize("prolog", [
    '<!DOCTYPE iati-activities SYSTEM "http://127.0.0.1:9/iati.dtd">',
    "<!DOCTYPE iati-activities>",
    "<!-- a comment first -->\n<?pi x?>\n<!DOCTYPE iati-activities [<!ELEMENT iati-activities ANY>]>",
])
def test_any_dtd_is_refused(write, store, tmp_path, prolog):
    [finding] = _refused(write, store, _write(tmp_path / "dtd.xml", prolog, "t"), "dtd_refused")
    assert finding.row == prolog.count("\n") + 2


def _texts(path: Path) -> str:
    with path.open("rb") as handle:
        return "".join(el.text or "" for _, el in etree.iterparse(handle, events=("end",), **xmlsafe.PARSER_OPTIONS))


def test_the_parser_settings_alone_neither_read_files_nor_expand_entities(tmp_path, secret):
    assert MARKER not in _texts(_xxe(tmp_path, secret))
    with pytest.raises(etree.XMLSyntaxError, match="Maximum entity amplification factor exceeded"):
        _texts(_laughs(tmp_path))


def test_the_root_check_refuses_a_dtd_the_prolog_scan_missed(tmp_path, secret, monkeypatch):
    monkeypatch.setattr(iati_read.xmlsafe, "check_prolog", lambda path: None)
    file = IatiFile(_xxe(tmp_path, secret))
    assert list(file) == []
    assert [(f.code, f.row) for f in file.findings] == [("dtd_refused", 1)]


def _big(path: Path, before: bytes, filler: bytes, size_mb: int, after: bytes) -> Path:
    chunk = filler * (MB // len(filler))
    with path.open("wb") as handle:
        handle.write(before)
        for _ in range(size_mb):
            handle.write(chunk)
        handle.write(after)
    return path


@pytest.fixture(scope="module")
def huge_text(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 300 MB text node, written in 1 MB chunks."""
    head, tail = BODY.format(title="\0").encode().split(b"\0")
    path = _big(tmp_path_factory.mktemp("huge") / "huge-text.xml", HEAD + head, b"x", 300, tail)
    yield path
    path.unlink()


@pytest.fixture(scope="module")
def huge_attribute(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 100 MB attribute value."""
    head, tail = BODY.replace('default-currency="USD"', 'default-currency="\0"').format(title="t").encode().split(b"\0")
    path = _big(tmp_path_factory.mktemp("huge") / "huge-attribute.xml", HEAD + head, b"y", 100, tail)
    yield path
    path.unlink()


def test_a_huge_text_node_is_refused_after_reading_a_few_mb(write, store, huge_text):
    [finding] = _refused(write, store, huge_text, "not_well_formed")
    assert finding.message == ("not well-formed XML: Resource limit exceeded: Text node too long, try "
                               "XML_PARSE_HUGE; fix the file at that line")
    assert finding.row == 6
    file = IatiFile(huge_text)
    assert list(file) == [] and file.fatal
    assert file.bytes_read < 32 * MB  # libxml2 stopped at its 10 MB text limit; the rest was never read


def test_a_huge_attribute_is_refused_after_reading_a_few_mb(write, store, huge_attribute):
    [finding] = _refused(write, store, huge_attribute, "node_too_large")
    assert finding.message == ("more than 16 MB without a tag (one huge text or attribute value); cooptrack refuses "
                               "such files to keep memory bounded")
    file = IatiFile(huge_attribute)
    assert list(file) == [] and file.bytes_read < 32 * MB


class _Unseekable:
    """A stream that cannot be read again (a pipe)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)

    def seekable(self) -> bool:
        return False


@pytest.mark.parametrize("stream", [io.BytesIO, _Unseekable])
def test_a_run_without_a_tag_is_refused_at_its_line(stream):
    """The line of the chunk that went over the limit: counted from the file's start when it can be
    read again, else as the chunks went by."""
    data = b"<a>\n<b>\n\n" + b"y" * 64 + b"\n</b></a>"
    reader = xmlsafe.BoundedReader(stream(data), max_run=20)
    read = 0
    with pytest.raises(xmlsafe.XmlRefused) as refused:
        while reader.read(8):
            read += 8
    assert refused.value.code == "node_too_large"
    assert refused.value.line == data[:read].count(b"\n") + 1 == 4
