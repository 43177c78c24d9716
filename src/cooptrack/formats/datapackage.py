"""Frictionless Data Package for the whole database: a Table Schema for every table of the
SQLAlchemy metadata, one CSV per table, and the canonical text of every value, so that the
same data always gives the same bytes.

Canonical cells: integers in decimal digits; exact decimals (``number``) without exponent or
trailing zeros; ``true``/``false``; ISO dates; UTC timestamps as ``2019-04-22T10:15:00.000000Z``;
JSON columns serialised with sorted keys and no spaces; NULL as an empty cell. UTF-8, ``,``,
``"`` quoting only where needed, ``\\n`` line ends.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, Integer, String, Table
from sqlalchemy.orm import DeclarativeBase

from cooptrack.store.types import Amount, UTCDateTime, plain

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
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid text
            raise CellError("bad_number", "is not a decimal number") from None
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


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> tuple[int, int, str]:
    """Write one table; returns (rows, bytes, sha256 hex)."""
    n = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            n += 1
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return n, size, digest.hexdigest()


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


def write_descriptor(path: Path, descriptor: dict[str, Any]) -> None:
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8", newline="\n")


def resource(table: Table, schema: dict[str, Any], rows: int, size: int, sha256: str) -> dict[str, Any]:
    return {
        "name": table.name, "path": f"{table.name}.csv", "profile": "tabular-data-resource",
        "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
        "dialect": {"delimiter": ",", "lineTerminator": "\n", "quoteChar": "\"", "header": True},
        "bytes": size, "hash": f"sha256:{sha256}", "rows": rows, "schema": schema,
    }
