"""UN Comtrade files: the Comtrade+ CSV export, the Comtrade+ API JSON (records in ``data[]``,
bare or wrapped by an SDK) and the legacy bulk CSV of comtrade.un.org (about 2012).

The format is told from the content, not the file name: JSON starts with ``{``; a CSV header
with ``reporterCode``/``flowCode``/``primaryValue`` is Comtrade+, one with ``Reporter Code``/
``Trade Flow Code`` is the legacy bulk layout. The encoding is told from the bytes: UTF-8 with or
without a byte order mark, else Windows-1252 when it uses the 0x80-0x9F range, else Latin-1
(Comtrade+ CSV downloads are Latin-1: "Curaçao").

Rows come out in chunks: the rows as read (lists of text), each row's line number (CSV) or
record number (JSON), and where each of ``FIELDS`` sits in a row (None where the layout lacks
it). The service picks the fields with ``operator.itemgetter`` and checks a chunk in a few passes
running in C (``map``, ``zip``, dict lookups) rather than Python code per row; chunks are small
enough to stay in the processor's cache. Nothing here knows the database.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import compress, islice
from operator import itemgetter
from pathlib import Path
from typing import Any

from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding

# The fields every reader gives, in this order.
FIELDS = ("freq", "period", "year", "month", "reporter", "partner", "partner2", "transport", "customs", "flow",
          "classification", "cmd", "unit_code", "unit", "qty", "qty_estimated", "net_weight",
          "weight_estimated", "estimation", "cif", "fob", "primary", "reported")

COMTRADEPLUS_COLUMNS = {
    "freq": "freqCode", "period": "period", "year": "refYear", "month": "refMonth", "reporter": "reporterCode",
    "partner": "partnerCode", "partner2": "partner2Code", "transport": "motCode", "customs": "customsCode",
    "flow": "flowCode", "classification": "classificationCode", "cmd": "cmdCode", "unit_code": "qtyUnitCode",
    "unit": "qtyUnitAbbr", "qty": "qty", "qty_estimated": "isQtyEstimated", "net_weight": "netWgt",
    "weight_estimated": "isNetWgtEstimated", "cif": "cifvalue", "fob": "fobvalue", "primary": "primaryValue",
    "reported": "isReported",
}
COMTRADEPLUS_REQUIRED = ("reporterCode", "partnerCode", "flowCode", "cmdCode", "primaryValue")
LEGACY_COLUMNS = {
    "year": "Year", "reporter": "Reporter Code", "partner": "Partner Code", "flow": "Trade Flow Code",
    "classification": "Classification", "cmd": "Commodity Code", "unit_code": "Quantity Unit Code",
    "qty": "Supplementary Quantity", "net_weight": "Netweight (kg)", "primary": "Value",
    "estimation": "Estimation Code",
}
LEGACY_REQUIRED = ("Year", "Reporter Code", "Trade Flow Code", "Partner Code", "Commodity Code", "Value")

# Trade flows to cooptrack indicators. Comtrade+ flowCode:
COMTRADEPLUS_FLOWS = {"M": "imports", "X": "exports", "RM": "re_imports", "RX": "re_exports"}
# Parts of a flow some countries report beside (or instead of) the whole: domestic exports are
# exports without re-exports, foreign imports are imports without re-imports.
PART_FLOWS = {"DX": ("exports", "domestic exports"), "FM": ("imports", "foreign imports")}
# Processing trade, also a part of imports or exports; cooptrack has no indicator for it.
PROCESSING_FLOWS = {"MIP": "imports for inward processing", "MOP": "imports after outward processing",
                    "XIP": "exports after inward processing", "XOP": "exports for outward processing"}
# Legacy bulk "Trade Flow Code".
LEGACY_FLOWS = {"1": "imports", "2": "exports", "3": "re_exports", "4": "re_imports"}

# Quantity units by UN Comtrade code, as WCO abbreviations. From measurement_data.csv of the
# legacy bulk download (codes 1-12; code 1 means "no quantity"). Code 13 is not in that file but
# the legacy data uses it for diamonds and precious stones (HS 7102, 7103): the metric carat.
# Comtrade+ uses the same numbers in qtyUnitCode, and -1 for "N/A".
QUANTITY_UNITS: dict[str, str | None] = {
    "-1": None, "1": None, "2": "m2", "3": "1000 kWh", "4": "m", "5": "u", "6": "2u", "7": "l", "8": "kg",
    "9": "1000u", "10": "U (jeu/pack)", "11": "12u", "12": "m3", "13": "carat",
}
NO_UNIT = frozenset({"", "N/A", "-", "NA"})

# Legacy "Estimation Code": which of quantity and net weight UN Comtrade estimated.
ESTIMATION_CODES = {"": (False, False), "0": (False, False), "2": (True, False), "4": (False, True),
                    "6": (True, True)}

# Classification codes of the Harmonized System editions ("HS": as reported, any edition).
HS_EDITIONS = {"H0": "HS 1992", "H1": "HS 1996", "H2": "HS 2002", "H3": "HS 2007", "H4": "HS 2012",
               "H5": "HS 2017", "H6": "HS 2022", "HS": "HS"}
# The codes of a row that is a total over second partner, mode of transport and customs procedure.
TOTALS = {"partner2": ("", "0"), "transport": ("", "0"), "customs": ("", "C00")}

HEAD_BYTES = 65536
# bytes.translate(None, delete) runs in C: deleting every byte but 0x80-0x9F leaves the bytes
# only Windows-1252 gives characters to (Latin-1 has control codes there).
_NOT_C1 = bytes(b for b in range(256) if not 0x80 <= b <= 0x9F)
_DEFINED_IN_CP1252 = bytes(b for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D))


@dataclass(frozen=True)
class Layout:
    name: str  # comtradeplus-csv, comtradeplus-json, legacy-csv
    label: str
    flows: dict[str, str]


COMTRADEPLUS_CSV = Layout("comtradeplus-csv", "Comtrade+ CSV", COMTRADEPLUS_FLOWS)
COMTRADEPLUS_JSON = Layout("comtradeplus-json", "Comtrade+ JSON", COMTRADEPLUS_FLOWS)
LEGACY_CSV = Layout("legacy-csv", "legacy Comtrade bulk CSV", LEGACY_FLOWS)

CHUNK = 2_000  # rows per chunk: measured, larger chunks fall out of the processor's cache


@dataclass
class Chunk:
    """Rows of a file, their line (or record) numbers, and the rows that could not be read."""

    lines: list[int]
    rows: list[Sequence[str]]
    findings: list[Finding]


@dataclass
class TradeFile:
    """An opened Comtrade file: what it is, and its rows in chunks."""

    name: str
    layout: Layout
    encoding: str
    sha256: str
    size: int
    chunks: Generator[Chunk, None, None]
    estimated_rows: int  # for a progress bar: the lines after the header, or the records
    positions: dict[str, int | None]  # where each of FIELDS is in a row
    inspected: Inspected  # to open the file again without hashing it again (``reopen``)

    def record(self, row: Sequence[str]) -> dict[str, str]:
        """A row's fields by name ("" for a field the layout lacks)."""
        return {f: "" if p is None else row[p] for f, p in self.positions.items()}


def _refuse(name: str, code: str, message: str, row: int | None = None, field: str | None = None,
            value: str | None = None) -> InvalidInput:
    return InvalidInput(message, [Finding(code, message, field=field, value=value, row=row, source=name)])


@dataclass
class Inspected:
    """What one pass over a file's bytes tells: its hash, size, encoding, first bytes and lines."""

    sha256: str
    size: int
    encoding: str
    head: bytes
    lines: int


def _inspect(path: Path) -> Inspected:
    """Hash the file and tell its encoding in one pass, without holding it in memory."""
    name = path.name
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8, cp1252_bytes, undefined_in_cp1252, size, lines = True, False, False, 0, 0
    head = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            if not head:
                head = chunk[:HEAD_BYTES]
                if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                    raise _refuse(name, "bad_encoding", f"{name} is UTF-16 text; save it as UTF-8 (or download "
                                  "the CSV again from Comtrade) and import that file")
                if b"\x00" in head:
                    raise _refuse(name, "binary_file", f"{name} is a binary file, not a Comtrade CSV or JSON "
                                  "file; export the data as CSV or JSON and import that")
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
            if is_utf8 and not (chunk.isascii() and not utf8.getstate()[0]):
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
            if not chunk.isascii():  # every chunk, in case a later one turns out not to be UTF-8
                c1 = chunk.translate(None, _NOT_C1)
                cp1252_bytes = cp1252_bytes or bool(c1)
                undefined_in_cp1252 = undefined_in_cp1252 or bool(c1.translate(None, _DEFINED_IN_CP1252))
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if not head.lstrip(codecs.BOM_UTF8).strip():
        raise _refuse(name, "empty_file", f"{name} is empty; a Comtrade file starts with a header row (CSV) "
                      "or with {\"data\": [...]} (JSON)")
    if is_utf8:
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    else:
        encoding = "cp1252" if cp1252_bytes and not undefined_in_cp1252 else "latin-1"
    return Inspected(digest.hexdigest(), size, encoding, head, lines)


def open_trade_file(path: Path) -> TradeFile:
    """Open a Comtrade file. A file that cannot be read at all raises InvalidInput with the fix;
    problems in its rows are found by the service as it reads them."""
    name = path.name
    if not path.is_file():
        raise _refuse(name, "no_file", f"{path} does not exist or is not a file")
    return reopen(path, _inspect(path))


def reopen(path: Path, info: Inspected) -> TradeFile:
    """Open a file as ``open_trade_file`` did before (in another process, say), from what its
    pass over the bytes told (``TradeFile.inspected``), without that pass: the same layout,
    encoding and rows."""
    start = info.head.lstrip(codecs.BOM_UTF8).lstrip()
    if start[:1] in (b"{", b"["):
        return _open_json(path, info)
    return _open_csv(path, info)


def _positions(header: list[str], columns: dict[str, str]) -> dict[str, int | None]:
    index = {h: i for i, h in enumerate(header)}
    return {f: index.get(columns.get(f, "")) for f in FIELDS}


def _missing(name: str, header: list[str], required: tuple[str, ...], layout: Layout) -> None:
    missing = [c for c in required if c not in header]
    if layout is not LEGACY_CSV and "period" not in header and "refYear" not in header:
        missing.append("period")
    if missing:
        findings = [Finding("missing_column", f"{name}: the {layout.label} header has no column '{c}'; "
                            "download the file again with all columns", field=c, row=1, source=name)
                    for c in missing]
        raise InvalidInput.from_findings(findings)


def _layout_of(name: str, header: list[str]) -> Layout:
    cells = set(header)
    if cells & {"reporterCode", "flowCode", "primaryValue", "cmdCode"}:
        return COMTRADEPLUS_CSV
    if cells & {"Reporter Code", "Trade Flow Code", "Commodity Code"}:
        return LEGACY_CSV
    shown = ",".join(header[:6])[:80]
    raise _refuse(name, "unknown_format", f"{name} is not a UN Comtrade file: its header ({shown}...) has neither "
                  "the Comtrade+ columns (reporterCode, flowCode, cmdCode, primaryValue...) nor the legacy bulk "
                  "columns (Year, Reporter Code, Trade Flow Code, Commodity Code, Value...)", row=1)


def _open_csv(path: Path, info: Inspected) -> TradeFile:
    name = path.name
    fh = path.open(encoding=info.encoding, newline="")
    reader = csv.reader(fh)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        fh.close()
        raise _refuse(name, "unknown_format", f"{name}: cannot read a CSV header ({exc})", row=1) from None
    if header and not header[-1]:  # a trailing comma on the header line too
        header.pop()
    layout = _layout_of(name, header)
    try:
        _missing(name, header, COMTRADEPLUS_REQUIRED if layout is COMTRADEPLUS_CSV else LEGACY_REQUIRED, layout)
    except InvalidInput:
        fh.close()
        raise
    positions = _positions(header, COMTRADEPLUS_COLUMNS if layout is COMTRADEPLUS_CSV else LEGACY_COLUMNS)
    chunks = _csv_chunks(fh, reader, len(header), name)
    return TradeFile(name, layout, info.encoding, info.sha256, info.size, chunks, max(info.lines - 1, 0), positions,
                     info)


def _csv_chunks(fh: Any, reader: Any, width: int, name: str) -> Generator[Chunk, None, None]:
    with fh:
        while True:
            start = reader.line_num
            try:
                rows = list(islice(reader, CHUNK))
            except csv.Error as exc:
                line = reader.line_num
                yield Chunk([], [], [Finding("bad_csv", f"line {line} is not valid CSV ({exc}); check the quotes on "
                                             "that line (cooptrack stopped reading there)", row=line, source=name)])
                return
            if not rows:
                return
            if reader.line_num - start == len(rows):
                lines = list(range(start + 1, reader.line_num + 1))
            else:  # a quoted value spans lines: count them
                lines, line = [], start
                for row in rows:
                    line += 1
                    lines.append(line)
                    line += sum(cell.count("\n") for cell in row)
            findings: list[Finding] = []
            lengths = set(map(len, rows))
            if not (lengths == {width} or (lengths == {width + 1} and not any(map(itemgetter(width), rows)))):
                keep = [_row_ok(row, width, line, name, findings) for row, line in zip(rows, lines, strict=True)]
                rows, lines = list(compress(rows, keep)), list(compress(lines, keep))
            yield Chunk(lines, rows, findings)


def _row_ok(row: list[str], width: int, line: int, name: str, findings: list[Finding]) -> bool:
    """A row of the header's width, or one more when the extra field is empty (Comtrade+ ends
    every data row with a comma). Blank lines are dropped without a finding."""
    n = len(row)
    if n == width or (n == width + 1 and not row[-1]):
        return True
    if any(cell.strip() for cell in row):
        findings.append(Finding("bad_row", f"line {line} has {n} fields, the header has {width}; a value with a "
                                "comma must be in double quotes", row=line, source=name))
    return False


def _text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).strip()


def _open_json(path: Path, info: Inspected) -> TradeFile:
    name = path.name
    try:
        document = json.loads(path.read_text(encoding=info.encoding), parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise _refuse(name, "bad_json", f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                      f"{exc.colno}", row=exc.lineno) from None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        detail = ""
        if isinstance(document, dict) and document.get("error"):
            detail = f" (the response says: {_text(document['error'])[:200]})"
        raise _refuse(name, "no_data", f"{name} has no 'data' list{detail}: a Comtrade+ API response keeps its "
                      "records in data[]; save the whole response, not a part of it", field="data")
    if data:
        first = data[0] if isinstance(data[0], dict) else {}
        _missing(name, list(first), COMTRADEPLUS_REQUIRED, COMTRADEPLUS_JSON)
    names = [COMTRADEPLUS_COLUMNS.get(f) for f in FIELDS]
    positions: dict[str, int | None] = {f: i for i, f in enumerate(FIELDS)}

    def chunks() -> Generator[Chunk, None, None]:
        for first in range(0, len(data), CHUNK):
            lines: list[int] = []
            rows: list[Sequence[str]] = []
            findings: list[Finding] = []
            for number, record in enumerate(data[first:first + CHUNK], start=first + 1):
                if isinstance(record, dict):
                    lines.append(number)
                    rows.append(tuple(_text(record.get(c)) if c else "" for c in names))
                else:
                    findings.append(Finding("bad_record", f"record {number} of data[] is not an object",
                                            row=number, source=name))
            yield Chunk(lines, rows, findings)

    return TradeFile(name, COMTRADEPLUS_JSON, info.encoding, info.sha256, info.size, chunks(), len(data), positions,
                     info)


def period_code(freq: str, period: str, year: str, month: str = "") -> str:
    """The cooptrack period (``2019``, ``2019-07``) of a Comtrade row: annual (freqCode A, or the
    legacy files' Year) or monthly (M: period YYYYMM, or refYear and refMonth). ValueError says
    what is wrong."""
    freq = freq.strip().upper()
    text = period.strip()
    if freq not in ("", "A", "M"):
        raise ValueError(f"freqCode '{freq}' is neither A (annual) nor M (monthly)")
    if freq == "M":
        if not text and year.strip().isdigit() and month.strip().isdigit():
            text = f"{year.strip()}{int(month):02d}"
        if len(text) == 6 and text.isascii() and text.isdigit() and 1 <= int(text[4:]) <= 12:
            return f"{text[:4]}-{text[4:]}"
        raise ValueError(f"period '{text}' is not a month written YYYYMM, such as 201907")
    text = text or year.strip()
    if len(text) == 4 and text.isascii() and text.isdigit():
        return text
    raise ValueError(f"period '{text}' is not a year written YYYY, such as 2019")
