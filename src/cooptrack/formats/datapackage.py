"""Frictionless Data Package for the whole database: a Table Schema for every table of the
SQLAlchemy metadata, one CSV per table, and the canonical text of every value, so that the
same data always gives the same bytes.

Canonical cells: integers in decimal digits; exact decimals (``number``) without exponent or
trailing zeros; ``true``/``false``; ISO dates; UTC timestamps as ``2019-04-22T10:15:00.000000Z``;
JSON columns serialised with sorted keys and no spaces; NULL as an empty cell. UTF-8, ``,``,
``"`` quoting only where needed, ``\\n`` line ends.

A package is a folder, or a ZIP file holding the same files (read as hostile: see below).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from sqlalchemy import JSON, Boolean, Column, Date, Integer, String, Table
from sqlalchemy.orm import DeclarativeBase

from cooptrack.decimals import INTEGER_DIGITS, too_large
from cooptrack.errors import InvalidInput, TooLarge, WrongType
from cooptrack.findings import Finding
from cooptrack.formats.zipsafe import ZipLimits, size_problem, unsafe_members
from cooptrack.store.types import Amount, UTCDateTime, plain

DESCRIPTOR = "datapackage.json"
PROFILE = "tabular-data-package"
FORMAT = "cooptrack-backup/1"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class CellError(ValueError):
    """A cell that does not hold a value of its field's type; the message says what to write."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def json_kinds(base: type[DeclarativeBase]) -> dict[tuple[str, str], str]:
    """``object`` or ``array`` for every JSON column, from the mapped classes' annotations
    (``Mapped[list[str]]`` is an array, ``Mapped[dict[str, Any]]`` an object)."""
    kinds: dict[tuple[str, str], str] = {}
    for mapper in base.registry.mappers:
        table = mapper.local_table
        for attr in mapper.column_attrs:
            column = attr.columns[0]
            if not isinstance(column.type, JSON) or not isinstance(table, Table):
                continue
            annotation = next((str(vars(c)["__annotations__"][attr.key]) for c in mapper.class_.__mro__
                               if attr.key in vars(c).get("__annotations__", {})), "")
            kinds[(table.name, column.name)] = "array" if "list[" in annotation else "object"
    return kinds


def field_type(column: Column[Any], kinds: dict[tuple[str, str], str]) -> str:
    kind = column.type
    if isinstance(kind, Amount):
        return "number"
    if isinstance(kind, UTCDateTime):
        return "datetime"
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, JSON):
        return kinds.get((column.table.name, column.name), "object")
    if isinstance(kind, String):
        return "string"
    raise TypeError(f"column {column.table.name}.{column.name} has type {kind!r}, which the backup does not know")


def table_schema(table: Table, kinds: dict[tuple[str, str], str]) -> dict[str, Any]:
    fields = []
    for column in table.columns:
        ftype = field_type(column, kinds)
        spec: dict[str, Any] = {"name": column.name, "type": ftype}
        if ftype == "datetime":
            spec["format"] = DATETIME_FORMAT
        if ftype == "boolean":
            spec["trueValues"], spec["falseValues"] = ["true"], ["false"]
        constraints: dict[str, Any] = {}
        # An empty cell is a missing value; a NOT NULL text column can hold '' so it is not
        # marked required (the restore reads '' there).
        if not column.nullable and ftype != "string":
            constraints["required"] = True
        length = getattr(column.type, "length", None)
        if ftype == "string" and length:
            constraints["maxLength"] = length
        if constraints:
            spec["constraints"] = constraints
        fields.append(spec)
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""],
                              "primaryKey": [c.name for c in table.primary_key.columns]}
    foreign = []
    for fk in sorted(table.foreign_key_constraints, key=lambda c: [e.parent.name for e in c.elements]):
        foreign.append({"fields": [e.parent.name for e in fk.elements],
                        "reference": {"resource": fk.referred_table.name,
                                      "fields": [e.column.name for e in fk.elements]}})
    if foreign:
        schema["foreignKeys"] = foreign
    return schema


def encode(value: Any, ftype: str) -> str:
    if value is None:
        return ""
    if ftype == "number":
        return format(plain(Decimal(value)), "f")
    if ftype == "datetime":
        return str(value.astimezone(UTC).strftime(DATETIME_FORMAT))
    if ftype == "boolean":
        return "true" if value else "false"
    if ftype == "date":
        return str(value.isoformat())
    if ftype in ("object", "array"):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def decode(text: str, ftype: str, nullable: bool, max_length: int | None = None) -> Any:
    """The value of one cell; raises CellError with what to write instead."""
    if "\x00" in text:
        raise CellError("nul_character", "contains a NUL character, which no database stores; remove it")
    if text == "":
        if ftype == "string" or nullable:
            return "" if ftype == "string" and not nullable else None
        raise CellError("missing_value", "is empty but the column is required")
    if ftype == "integer":
        if not _INTEGER.match(text):
            raise CellError("bad_integer", "is not an integer; write digits such as 42")
        return int(text)
    if ftype == "number":
        if not _NUMBER.match(text):
            raise CellError("bad_number", "is not a decimal number; write digits with a dot, such as 1250000.50")
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid text
            raise CellError("bad_number", "is not a decimal number") from None
        if too_large(number):
            raise CellError("too_large", f"is too large: cooptrack keeps at most {INTEGER_DIGITS} digits before the "
                            "decimal point")
        return number
    if ftype == "boolean":
        if text not in ("true", "false"):
            raise CellError("bad_boolean", "is not a boolean; write true or false")
        return text == "true"
    if ftype == "date":
        try:
            if len(text) != 10:
                raise ValueError(text)
            return date.fromisoformat(text)
        except ValueError:
            raise CellError("bad_date", "is not a date; write YYYY-MM-DD") from None
    if ftype == "datetime":
        try:
            return datetime.strptime(text, DATETIME_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise CellError("bad_datetime", "is not a UTC timestamp; write 2019-04-22T10:15:00.000000Z") from None
    if ftype in ("object", "array"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CellError("bad_json", f"is not JSON ({exc.msg} at character {exc.pos})") from None
        if not isinstance(value, dict if ftype == "object" else list):
            raise CellError("bad_json", f"is JSON but not an {ftype}")
        return value
    if max_length is not None and len(text) > max_length:
        raise CellError("too_long", f"is {len(text)} characters; the column holds at most {max_length}")
    return text


class _Sink:
    """Text written to a binary stream as UTF-8, in blocks, counted and hashed on the way."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.digest, self.size = out, hashlib.sha256(), 0
        self._parts: list[str] = []
        self._pending = 0

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._pending += len(text)
        if self._pending >= 1 << 16:
            self.flush()
        return len(text)

    def flush(self) -> None:
        data = "".join(self._parts).encode("utf-8")
        self._parts, self._pending = [], 0
        self.digest.update(data)
        self.size += len(data)
        self.out.write(data)


def write_csv(out: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[str]]) -> tuple[int, int, str]:
    """Write one table to ``out``; returns (rows, bytes, sha256 hex)."""
    sink = _Sink(out)
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
    sink.flush()
    return n, sink.size, sink.digest.hexdigest()


def read_csv(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells), the header being row 1."""
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8", newline="") as stream:
        yield from enumerate(csv.reader(stream), start=1)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def descriptor_bytes(descriptor: dict[str, Any]) -> bytes:
    return (json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def resource(table: Table, schema: dict[str, Any], rows: int, size: int, sha256: str) -> dict[str, Any]:
    return {
        "name": table.name, "path": f"{table.name}.csv", "profile": "tabular-data-resource",
        "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
        "dialect": {"delimiter": ",", "lineTerminator": "\n", "quoteChar": "\"", "header": True},
        "bytes": size, "hash": f"sha256:{sha256}", "rows": rows, "schema": schema,
    }


# --- where a package is written to and read from: a folder, or a ZIP file ----------------------
#
# A ZIP comes from elsewhere (an upload, a file someone mailed) and is read as hostile: members
# whose names could reach outside a folder (absolute, ``..``, backslashes), links and other special
# files, duplicate names, encrypted members, members its datapackage.json does not declare, and
# members that unpack to more than the caps allow (in all, or many times their packed size: a ZIP
# bomb) are refused before a byte is unpacked. Members are then unpacked into a private folder
# under names chosen here, never under their own; the sizes a ZIP declares bound what Python's
# zipfile unpacks (it stops there, and a member that holds more fails its CRC check), and the
# bytes are counted again as they are written.

# Plain file names: what the export writes (``projects.csv``), nothing that is a path.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a member first, or an empty archive
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # every member's date: the same data gives the same ZIP
DESCRIPTOR_LIMIT = 16 * 1024 * 1024  # a backup's datapackage.json is a few hundred kB
_S_IFREG = 0o100000


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


@dataclass(frozen=True)
class PackageFiles:
    """A package opened for reading: its descriptor's file, and the file holding each resource
    path it declares (absent: not in the package). ``label`` names it in messages."""

    label: str
    descriptor: Path | None
    files: dict[str, Path]


class FolderWriter:
    """Writes a package's files into a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        with (self.folder / name).open("wb") as out:
            yield out


class ZipWriter:
    """Writes a package's files as the members of a ZIP: deflated, dated ZIP_TIME, plain files."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (_S_IFREG | 0o644) << 16
        info.create_system = 3  # Unix, so the mode above is read as one
        with self.archive.open(info, "w", force_zip64=True) as out:
            yield out


def _refused(findings: list[Finding]) -> InvalidInput:
    return InvalidInput.from_findings(findings)


def declared_paths(descriptor: Any) -> list[str]:
    """The ``path`` of every resource of a descriptor that has one as text."""
    resources = descriptor.get("resources") if isinstance(descriptor, dict) else None
    return [r["path"] for r in resources or [] if isinstance(r, dict) and isinstance(r.get("path"), str)]


def folder_package(folder: Path) -> PackageFiles:
    descriptor = folder / DESCRIPTOR
    files: dict[str, Path] = {}
    if descriptor.is_file() and descriptor.stat().st_size <= DESCRIPTOR_LIMIT:
        try:
            declared = declared_paths(json.loads(descriptor.read_bytes()))
        except (json.JSONDecodeError, UnicodeDecodeError):
            declared = []
        # Only plain names next to datapackage.json: a declared path never leads elsewhere.
        files = {p: folder / p for p in declared if SAFE_NAME.match(p) and (folder / p).is_file()}
    return PackageFiles(str(folder), descriptor if descriptor.is_file() else None, files)


def _member_problems(infos: list[zipfile.ZipInfo], label: str) -> tuple[str, list[Finding]]:
    """The folder the package sits in within the ZIP ('' for the top, or the one folder the
    export's folder was zipped as), and every member that is not a plain, safe file."""
    findings = unsafe_members(infos, label, "a backup")
    seen = {i.filename for i in infos}
    root = ""
    if DESCRIPTOR not in seen:
        nested = [n for n in seen if n.count("/") == 1 and n.endswith("/" + DESCRIPTOR)]
        if len(nested) == 1:  # `zip -r backup.zip backup/`: the package in one folder
            root = nested[0][: -len(DESCRIPTOR)]
    return root, findings


def _size_problem(infos: list[zipfile.ZipInfo], label: str, limits: ZipLimits) -> TooLarge | None:
    return size_problem(infos, label, limits, "nothing was restored")


@contextmanager
def zip_package(path: Path, limits: ZipLimits, label: str | None = None) -> Iterator[PackageFiles]:
    """The package in the ZIP file ``path``, unpacked into a private folder that is removed
    afterwards; InvalidInput (every unsafe member), TooLarge or WrongType when it is not safe to
    unpack or not a ZIP at all."""
    label = label or str(path)
    with path.open("rb") as raw:
        head = raw.read(4)
    if not is_zip(head):
        raise WrongType(f"{label} is not a ZIP file; a backup is restored from the .zip that "
                        "`cooptrack export datapackage FILE.zip` or GET /api/v1/backup writes")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refused([Finding("bad_zip", f"{label} is not a readable ZIP file ({exc})", source=label)]) from None
    with archive, tempfile.TemporaryDirectory(prefix="cooptrack-restore-") as folder:
        infos = archive.infolist()
        root, findings = _member_problems(infos, label)
        if findings:
            raise _refused(findings)
        too_large = _size_problem(infos, label, limits)
        if too_large is not None:
            raise too_large
        members = {i.filename: i for i in infos}
        descriptor = members.get(root + DESCRIPTOR)
        if descriptor is None:
            raise _refused([Finding("no_descriptor", f"{label} holds no {DESCRIPTOR}; give the .zip that `cooptrack "
                                    "export datapackage` or GET /api/v1/backup wrote", source=label)])
        if descriptor.file_size > DESCRIPTOR_LIMIT:
            raise TooLarge(f"{DESCRIPTOR} in {label} is {descriptor.file_size:,} bytes; a backup's is a few hundred "
                           "kB")
        budget = [limits.max_bytes]
        target = Path(folder)
        descriptor_path = _unpack(archive, descriptor, target / "descriptor.json", label, budget)
        try:
            declared = set(declared_paths(json.loads(descriptor_path.read_bytes())))
        except (json.JSONDecodeError, UnicodeDecodeError):
            declared = set()  # the restore reports the descriptor itself
        extra = [Finding("undeclared_member", f"member '{i.filename}' of {label} is not a resource of its "
                         f"{DESCRIPTOR}; a backup holds {DESCRIPTOR} and the files it lists, nothing else",
                         source=label, value=i.filename)
                 for i in infos if i is not descriptor and not (i.is_dir() and root.startswith(i.filename))
                 and (not i.filename.startswith(root) or i.filename[len(root):] not in declared)]
        if extra:
            raise _refused(extra)
        files = {}
        for number, name in enumerate(sorted(declared)):
            info = members.get(root + name)
            if info is not None and SAFE_NAME.match(name):
                files[name] = _unpack(archive, info, target / f"member-{number:04d}.csv", label, budget)
        yield PackageFiles(label, descriptor_path, files)


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, to: Path, label: str, budget: list[int]) -> Path:
    """One member into the file ``to``, its bytes counted against what is left of the cap."""
    try:
        with archive.open(info) as stream, to.open("wb") as out:
            for block in iter(lambda: stream.read(1 << 20), b""):
                budget[0] -= len(block)
                if budget[0] < 0:  # pragma: no cover - zipfile stops at the declared sizes, checked above
                    raise TooLarge(f"{label} unpacks to more than the limit (COOPTRACK_MAX_UNZIPPED_MB); nothing "
                                   "was restored")
                out.write(block)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, zlib.error) as exc:
        raise _refused([Finding("bad_zip", f"member '{info.filename}' of {label} cannot be unpacked ({exc})",
                                source=label, value=info.filename)]) from None
    return to
