"""Spreadsheets in and out: CSV and XLSX read into rows of text cells, written back with
formula-injection escaping, and the cell syntaxes the project template uses (dates, lists,
``21020:60; 21030:40`` sectors, ``Name (role, country)`` participants).

Nothing here knows the database: readers give text, writers take text, numbers and dates.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from difflib import get_close_matches
from pathlib import Path, PurePosixPath
from typing import IO, Any

from lxml import etree

from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.formats.zipsafe import ZipLimits, size_problem, unsafe_members, zip_limits

Cell = str | None
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _refuse(message: str, source: str, code: str, row: int | None = None, field: str | None = None,
            value: str | None = None) -> InvalidInput:
    return InvalidInput(message, [Finding(code, message, field=field, value=value, row=row, source=source)])


@dataclass
class Sheet:
    """A table read from a file: the header cells, then numbered data rows (blank rows
    skipped). ``row`` numbers are the ones a spreadsheet program shows (header = 1)."""

    name: str
    header: list[str]
    rows: Iterator[tuple[int, list[Cell]]]
    findings: list[Finding] = field(default_factory=list)  # problems found while opening
    blank_rows: int = 0
    # A CSV file's decoded text, from which ``csv_sheet`` makes the same sheet again (a second
    # process reading the rows: services/tabular_pipeline.py); None for a workbook.
    text: str | None = None


# --- reading -----------------------------------------------------------------------------


def read_sheet(path: Path, encoding: str | None = None, sheet: str | None = None,
               prefer: str = "projects", limits: ZipLimits | None = None) -> Sheet:
    """Open a ``.csv`` or ``.xlsx`` file. A file that cannot be read at all raises
    InvalidInput with the fix; cell-level problems are the caller's to find. A workbook's ZIP
    that would unpack past ``limits`` (None: COOPTRACK_MAX_UNZIPPED_MB and
    COOPTRACK_MAX_ZIP_RATIO) raises TooLarge before it is opened."""
    if not path.is_file():
        raise _refuse(f"{path} does not exist or is not a file", path.name, "no_file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet, prefer, limits or zip_limits())
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path, encoding)
    if suffix == ".xls":
        raise _refuse(f"{path.name} is an old Excel 97-2003 workbook; save it as .xlsx (Excel Workbook) "
                      "or as CSV UTF-8", path.name, "unsupported_format")
    raise _refuse(f"{path.name}: cooptrack reads .csv and .xlsx files; save the table in one of them",
                  path.name, "unsupported_format")


def _decode(data: bytes, name: str, encoding: str | None) -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise _refuse(f"--encoding '{encoding}' is not an encoding Python knows; try utf-8, cp1251 or latin-1",
                          name, "bad_encoding") from None
        except UnicodeDecodeError as exc:
            raise _refuse(f"{name} is not valid {encoding} (byte 0x{data[exc.start]:02X} at offset {exc.start}); "
                          "check --encoding", name, "bad_encoding") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(f"{name} is UTF-16 (Excel's 'Unicode Text'); save it as 'CSV UTF-8 (comma delimited)' "
                      "instead", name, "bad_encoding")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        guess = _guess_encoding(data)
        raise _refuse(
            f"{name} is not UTF-8 (byte 0x{data[exc.start]:02X} on line {line}); it looks like {guess[1]}. "
            f"Save it from Excel as 'CSV UTF-8 (comma delimited)', or pass --encoding {guess[0]} "
            "if you are sure of the encoding", name, "bad_encoding", row=line) from None


def _guess_encoding(data: bytes) -> tuple[str, str]:
    """Cyrillic text in Windows-1251 or Western text in Latin-1/Windows-1252: the two legacy
    encodings spreadsheets of this field come in."""
    high = [b for b in data if b >= 0x80]
    cyrillic = sum(1 for b in high if b >= 0xC0)  # cp1251 letters А..я sit at 0xC0-0xFF
    if high and cyrillic / len(high) > 0.6 and len(high) > 0.2 * sum(1 for b in data if 0x41 <= b <= 0x7A):
        return "cp1251", "Windows-1251 (Cyrillic)"
    return "cp1252", "Windows-1252 / Latin-1 (Western European)"


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(path: Path, encoding: str | None) -> Sheet:
    text = _decode(path.read_bytes(), path.name, encoding)
    if not text.strip():
        raise _refuse(f"{path.name} is empty; it needs a header row (see `cooptrack template projects`)",
                      path.name, "empty_file")
    return csv_sheet(path.name, text)


def csv_sheet(name: str, text: str) -> Sheet:
    """The sheet of a CSV file's decoded ``text`` (not empty), named ``name``."""
    csv.field_size_limit(1 << 30)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0]))
    numbered = ((i, [c.strip() or None for c in cells]) for i, cells in enumerate(reader, start=1))
    sheet = _split_header(name, numbered, [])
    sheet.text = text
    return sheet


def _split_header(name: str, numbered: Iterator[tuple[int, list[Cell]]], findings: list[Finding]) -> Sheet:
    header_row = 0
    header: list[Cell] = []
    for number, cells in numbered:
        if any(cells):
            header_row, header = number, cells
            break
    if not header_row:
        raise _refuse(f"{name} has no header row; start from `cooptrack template projects`", name, "empty_file")
    while header and header[-1] is None:
        header.pop()
    sheet = Sheet(name, [h or "" for h in header], iter(()), findings)

    def data() -> Iterator[tuple[int, list[Cell]]]:
        for number, cells in numbered:
            if any(cells):
                yield number, cells
            else:
                sheet.blank_rows += 1

    sheet.rows = data()
    return sheet


# A workbook is a ZIP of XML parts, read as hostile (formats/zipsafe.py) before openpyxl opens it:
# its directory is checked against the unpacking caps, and a part that declares a DTD (which
# Excel never writes; its entities can expand without limit, an XML bomb) is refused. openpyxl
# parses with defusedxml (a dependency), which refuses entities: the guard for a DTD further in.
_PROLOG_BYTES = 4096
_DTD_MARKS = (b"<!DOCTYPE", b"<!ENTITY", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))


def _xml_bomb(name: str, where: str, part: str | None = None) -> InvalidInput:
    return _refuse(f"{where} of {name} declares a DTD or entities (<!DOCTYPE>/<!ENTITY>), which Excel never "
                   "writes and which can expand without limit (an XML bomb); nothing was imported. Save the table "
                   "again from Excel or LibreOffice as 'Excel Workbook (.xlsx)'", name, "unsafe_xml",
                   value=part or where)


def check_workbook_zip(path: Path, limits: ZipLimits) -> None:
    """Refuse a workbook whose ZIP is not safe to open: unsafe or encrypted members
    (InvalidInput), more unpacked bytes than ``limits`` allow (TooLarge), a part declaring a DTD
    (InvalidInput). Only the directory and each XML part's first bytes are read."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse(f"{path.name} is not a readable .xlsx workbook ({exc}); save it again from Excel as "
                      "'Excel Workbook (.xlsx)'", path.name, "bad_workbook") from None
    with archive:
        infos = archive.infolist()
        findings = unsafe_members(infos, path.name, "a workbook")
        if findings:
            raise InvalidInput.from_findings(findings)
        too_large = size_problem(infos, path.name, limits, "nothing was imported. Save the table again from Excel "
                                 "or LibreOffice, or as CSV UTF-8", sizes=True)
        if too_large is not None:
            raise too_large
        for info in infos:
            if info.filename.endswith((".xml", ".rels", ".vml")):
                try:
                    with archive.open(info) as stream:
                        head = stream.read(_PROLOG_BYTES)
                except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, zlib.error) as exc:
                    raise _refuse(f"part '{info.filename}' of {path.name} cannot be unpacked ({exc}); save it again "
                                  "from Excel as 'Excel Workbook (.xlsx)'", path.name, "bad_workbook",
                                  value=info.filename) from None
                if any(mark in head for mark in _DTD_MARKS):
                    raise _xml_bomb(path.name, f"part '{info.filename}'", info.filename)


def _read_xlsx(path: Path, wanted: str | None, prefer: str, limits: ZipLimits) -> Sheet:
    import openpyxl
    from defusedxml import DefusedXmlException
    from openpyxl.utils.exceptions import InvalidFileException

    check_workbook_zip(path, limits)
    try:
        values_book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formula_book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (DefusedXmlException, ValueError) as exc:  # openpyxl wraps what its parser raised in a ValueError
        if isinstance(exc, DefusedXmlException) or isinstance(exc.__cause__, DefusedXmlException):
            raise _xml_bomb(path.name, "a part") from None
        raise _refuse(f"{path.name} is not a readable .xlsx workbook ({exc.__cause__ or exc}); save it again from "
                      "Excel as 'Excel Workbook (.xlsx)'", path.name, "bad_workbook") from None
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise _refuse(f"{path.name} is not a readable .xlsx workbook ({exc}); save it again from Excel as "
                      "'Excel Workbook (.xlsx)'", path.name, "bad_workbook") from None
    names = values_book.sheetnames
    if wanted is not None:
        match = [n for n in names if n.lower() == wanted.lower()]
        if not match:
            raise _refuse(f"{path.name} has no sheet '{wanted}'; its sheets are: {', '.join(names)}",
                          path.name, "no_sheet", value=wanted)
        title = match[0]
    else:
        title = next((n for n in names if n.lower() == prefer), None) or next(
            (n for n in names if n.lower() != "readme"), names[0])
    source = f"{path.name}:{title}" if len(names) > 1 else path.name
    findings = [Finding("merged_cells", f"cells {ref} are merged: a merged cell keeps its value only in its "
                        "first cell; unmerge them and give each cell its own value", row=_first_row(ref),
                        value=ref, source=source)
                for ref in _merged_ranges(path, title)]

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        pairs = zip(values_book[title].iter_rows(), formula_book[title].iter_rows(), strict=False)
        for number, (cells, formulas) in enumerate(pairs, start=1):
            out: list[Cell] = []
            for cell, formula in zip(cells, formulas, strict=False):
                value = getattr(cell, "value", None)
                if value is None and getattr(formula, "data_type", None) == "f":
                    findings.append(Finding(
                        "formula_not_computed",
                        f"cell {formula.coordinate} holds the formula {formula.value} but no computed value "
                        "(the file was written by a program that does not calculate); open and save it in "
                        "Excel or LibreOffice, or replace the formula by its value", row=number,
                        value=str(formula.value), source=source))
                out.append(cell_text(value))
            yield number, out
        values_book.close()
        formula_book.close()

    sheet = _split_header(source, rows(), findings)
    return sheet


def _first_row(ref: str) -> int | None:
    m = re.match(r"^[A-Z]+(\d+)", ref)
    return int(m.group(1)) if m else None


def _merged_ranges(path: Path, title: str) -> list[str]:
    """The merged ranges of one sheet, from the package XML (openpyxl's read-only mode does
    not report them)."""
    with zipfile.ZipFile(path) as z:
        book = etree.fromstring(z.read("xl/workbook.xml"), _SAFE_XML)
        rel_id = next((s.get(f"{_NS_REL}id") for s in book.iter(f"{_NS_MAIN}sheet") if s.get("name") == title), None)
        rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"), _SAFE_XML)
        target = next((r.get("Target") for r in rels.iter(f"{_NS_PKG_REL}Relationship") if r.get("Id") == rel_id),
                      None)
        if target is None:
            return []
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        with z.open(part) as stream:
            return [el.get("ref", "") for _, el in etree.iterparse(stream, tag=f"{_NS_MAIN}mergeCell",
                                                                   resolve_entities=False, no_network=True)]


def cell_text(value: Any) -> Cell:
    """A spreadsheet cell as text. Numbers keep their decimal digits (never a binary float in
    money: 1250000.5 -> '1250000.5'), dates become ISO dates."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        number = Decimal(str(value)).normalize()
        return format(number, "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip() or None


# --- headers -------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def match_header(header: Sequence[str], known: Sequence[str], required: Iterable[str],
                 source: str) -> tuple[list[str | None], list[Finding]]:
    """Map each header cell to a known column name. Missing required columns and unexpected
    ones make one finding that names both, with the likely match ("titel → title?")."""
    names = [normalise_name(h) for h in header]
    mapped: list[str | None] = [n if n in known else None for n in names]
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    for i, n in enumerate(mapped):
        if n is None:
            continue
        if n in seen:
            findings.append(Finding("duplicate_column", f"column '{n}' appears twice (columns {seen[n] + 1} and "
                                    f"{i + 1}); keep one", row=1, field=n, source=source))
        seen.setdefault(n, i)
    unexpected = [(header[i], names[i]) for i, n in enumerate(mapped) if n is None]
    missing = [k for k in required if k not in seen]
    if unexpected or missing:
        free = [k for k in known if k not in seen]
        guesses = []
        for raw, norm in unexpected:
            close = get_close_matches(norm, free, n=1, cutoff=0.6)
            guesses.append(f"'{raw}' → {close[0]}?" if close else f"'{raw}'" if raw else "(a blank header cell)")
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unexpected:
            parts.append("unexpected " + ", ".join(guesses))
        message = (f"the header does not match the template: {'; '.join(parts)}. Rename the columns to "
                   f"the template's names ({', '.join(known)}); `cooptrack template projects` writes one")
        findings.append(Finding("bad_header", message, row=1, source=source,
                                value=", ".join(raw or "" for raw, _ in unexpected) or None))
    return mapped, findings


# --- cell syntaxes -------------------------------------------------------------------------

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_PARTICIPANT = re.compile(r"^(?P<name>.+)\((?P<inner>[^()]*)\)$")


def bad_cell(code: str, message: str, field: str, value: str) -> InvalidInput:
    return InvalidInput(message, [Finding(code, message, field=field, value=value)])


def day_text(text: str, field: str) -> str:
    """Dates as ISO text. 2019-04-22 as is; 22.04.2019 (day first, as dots always are) to
    ISO; slashed dates are refused: 04/05/2019 is 4 May in Europe and April 5 in the US."""
    if _ISO_DAY.match(text):
        return text
    dotted = _DOTTED.match(text)
    if dotted:
        d, m, y = (int(x) for x in dotted.groups())
        try:
            return date(y, m, d).isoformat()
        except ValueError:
            raise bad_cell("bad_date", f"{field} '{text}' is not a real date (read as day.month.year); "
                           "write YYYY-MM-DD", field, text) from None
    slashed = _SLASHED.match(text)
    if slashed:
        a, b, y = (int(x) for x in slashed.groups())
        readings = []
        for m, d in ((a, b), (b, a)):
            with contextlib.suppress(ValueError):
                readings.append(date(y, m, d).isoformat())
        if len(set(readings)) == 1:
            how = f"write {readings[0]}"
        elif readings:
            how = f"write {readings[0]} (month first) or {readings[1]} (day first)"
        else:
            how = "write YYYY-MM-DD"
        raise bad_cell("ambiguous_date", f"{field} '{text}': dates with slashes are read month-first in the US "
                       f"and day-first elsewhere, so cooptrack does not guess; {how}", field, text)
    return text  # let the service's own date check name what is wrong


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def parse_sectors(text: str, field: str = "sectors") -> dict[str, str]:
    """``21020:60; 21030:40`` -> {"21020": "60", "21030": "40"}; a lone code means 100%."""
    result: dict[str, str] = {}
    parts = split_list(text)
    for part in parts:
        code, sep, pct = (x.strip() for x in part.partition(":"))
        if not sep and len(parts) == 1:
            pct = "100"
        elif not sep or not code or not pct:
            raise bad_cell("bad_sectors", f"{field} '{text}': each sector is CODE:PERCENT, separated by ';' "
                           "(e.g. 21020:60; 21030:40)", field, text)
        if code in result:
            raise bad_cell("bad_sectors", f"{field} '{text}' lists sector {code} twice", field, text)
        result[code] = pct.rstrip("%").strip()
    return result


def parse_participants(text: str, field: str = "participants") -> list[tuple[str, str, str | None]]:
    """``Name (role, country); Other (role)`` -> [(name, role, country or None), ...]."""
    result = []
    for part in split_list(text):
        m = _PARTICIPANT.match(part)
        inner = [x.strip() for x in m.group("inner").split(",")] if m else []
        if not m or not m.group("name").strip() or not inner[0] or len(inner) > 2:
            raise bad_cell("bad_participants", f"{field}: '{part}' must look like 'Name (role, country)' or "
                           "'Name (role)', several separated by ';'", field, part)
        result.append((m.group("name").strip(), inner[0].lower(), inner[1] if len(inner) > 1 and inner[1] else None))
    return result


def escape_formula(text: str) -> str:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(FORMULA_START) else text


def unescape_formula(text: str) -> str:
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_START else text


# --- writing -------------------------------------------------------------------------------

Value = str | int | Decimal | date | None


def _csv_cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return escape_formula(value)


def write_csv(stream: IO[str], header: Sequence[str], rows: Iterable[Sequence[Value]], bom: bool) -> int:
    """CSV with ``\\n`` line ends; ``bom`` writes the UTF-8 byte order mark Excel needs to
    recognise UTF-8. Returns the number of data rows."""
    if bom:
        stream.write("\ufeff")
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
        n += 1
    return n


def write_xlsx(path: Path, sheet_title: str, header: Sequence[str], rows: Iterable[Sequence[Value]],
               readme: Sequence[Sequence[str]] | None = None, widths: Sequence[int] | None = None) -> int:
    """An .xlsx in openpyxl's write-only mode (constant memory): the data sheet with a bold,
    frozen header, then an optional README sheet."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    for i, width in enumerate(widths or []):
        sheet.column_dimensions[_column_letter(i)].width = width
    head = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    n = 0
    for row in rows:
        out: list[Any] = []
        for value in row:
            if isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                out.append(cell)
            elif isinstance(value, str):
                out.append(escape_formula(value))
            else:
                out.append(value)
        sheet.append(out)
        n += 1
    if readme is not None:
        notes = book.create_sheet("README")
        for i, width in enumerate((22, 10, 60, 40)):
            notes.column_dimensions[_column_letter(i)].width = width
        wrap = Alignment(wrap_text=True, vertical="top")
        for j, line in enumerate(readme):
            cells = []
            for text in line:
                cell = WriteOnlyCell(notes, value=escape_formula(text))
                cell.alignment = wrap
                if j == 0:
                    cell.font = bold
                cells.append(cell)
            notes.append(cells)
    book.save(path)
    return n


def _column_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)
