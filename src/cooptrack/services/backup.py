"""Full backup and restore: every table of the store as a Frictionless Data Package.

Export reads one consistent snapshot and writes rows ordered by primary key in canonical
text, so exporting, restoring and exporting again gives the same bytes. Restore goes only
into an empty database at the migration the package was written at: it checks every file
first (header, each cell against its field, primary keys, references) and writes nothing
unless all of it is valid, then inserts in one transaction in foreign-key order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Integer, Table, func, select, text, update

from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding, Report
from cooptrack.formats import datapackage as dp
from cooptrack.store import Store
from cooptrack.store.db import redact
from cooptrack.store.migrate import current_revision
from cooptrack.store.models import Base

DESCRIPTOR = "datapackage.json"
# Tables a migration fills in every new database: restore replaces their rows, provided the
# database holds nothing the package lacks.
SEEDED = ("indicators",)
CHUNK = 2000


def _refuse(message: str, code: str, source: str | None = None) -> InvalidInput:
    return InvalidInput(message, [Finding(code, message, source=source)])


# Signed-in browsers are not data: a restored database starts with nobody signed in.
NOT_BACKED_UP = frozenset({"web_sessions", "data_changes", "response_cache"})  # sessions expire; caches


def _tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_BACKED_UP]


def export_datapackage(store: Store, directory: Path, overwrite: bool = False) -> dict[str, int]:
    """Write ``datapackage.json`` and one CSV per table into ``directory``; returns the row
    count of each table."""
    if directory.exists() and not directory.is_dir():
        raise _refuse(f"{directory} is a file; give a folder to write the data package into", "not_a_folder")
    if (directory / DESCRIPTOR).exists() and not overwrite:
        raise _refuse(f"{directory} already holds a data package; pass --force to overwrite it, or choose an "
                      "empty folder", "package_exists")
    directory.mkdir(parents=True, exist_ok=True)
    kinds = dp.json_kinds(Base)
    resources = []
    counts: dict[str, int] = {}
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":  # one snapshot for every table
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            revision = current_revision(conn)
            for table in _tables():
                schema = dp.table_schema(table, kinds)
                types = [f["type"] for f in schema["fields"]]
                result = conn.execution_options(yield_per=5000).execute(
                    select(table).order_by(*table.primary_key.columns))
                rows = ([dp.encode(v, t) for v, t in zip(row, types, strict=True)] for row in result)
                n, size, sha = dp.write_csv(directory / f"{table.name}.csv", [c.name for c in table.columns], rows)
                counts[table.name] = n
                resources.append(dp.resource(table, schema, n, size, sha))
    dp.write_descriptor(directory / DESCRIPTOR, {
        "profile": dp.PROFILE, "name": "cooptrack-backup", "title": "cooptrack database backup",
        "cooptrack": {"format": dp.FORMAT, "alembic_revision": revision},
        "resources": resources,
    })
    return counts


def _read_descriptor(directory: Path) -> dict[str, Any]:
    path = directory / DESCRIPTOR
    if not path.is_file():
        raise _refuse(f"{directory} holds no {DESCRIPTOR}; give the folder `cooptrack export datapackage` wrote",
                      "no_descriptor", DESCRIPTOR)
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _refuse(f"{path} is not valid JSON ({exc})", "bad_descriptor", DESCRIPTOR) from None
    meta = descriptor.get("cooptrack") if isinstance(descriptor, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != dp.FORMAT or not isinstance(
            descriptor.get("resources"), list):
        raise _refuse(f"{path} is not a cooptrack backup (it needs \"cooptrack\": {{\"format\": \"{dp.FORMAT}\"}} "
                      "and a list of resources)", "bad_descriptor", DESCRIPTOR)
    return descriptor


def _check_target(store: Store, conn: Connection, revision: str | None) -> dict[str, int]:
    current = current_revision(conn)
    if revision != current:
        raise _refuse(f"the backup was written at migration {revision}, database {redact(store.url)} is at "
                      f"{current}; restore into a database at {revision} (with the cooptrack version that wrote "
                      "the backup), then run `cooptrack db upgrade`", "wrong_revision", DESCRIPTOR)
    counts = {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in _tables()}
    busy = {name: n for name, n in counts.items() if n and name not in SEEDED}
    if busy:
        listed = ", ".join(f"{name} ({n:,} rows)" for name, n in sorted(busy.items()))
        raise _refuse(f"database {redact(store.url)} is not empty: {listed}. A backup is restored only into an "
                      "empty database: create a new one, run `cooptrack init` on it, and restore there",
                      "not_empty")
    return counts


class _Checker:
    """Pass one: every file, row and cell checked; primary keys kept to check references."""

    def __init__(self, directory: Path, descriptor: dict[str, Any], report: Report) -> None:
        self.directory, self.report = directory, report
        self.resources = {r.get("name"): r for r in descriptor["resources"] if isinstance(r, dict)}
        self.keys: dict[str, set[tuple[Any, ...]]] = {}
        self.kinds = dp.json_kinds(Base)
        self.pending_refs: list[tuple[str, int, str, tuple[Any, ...], str]] = []
        self.readable: set[str] = set()  # tables whose header was right: their keys are known

    def structure(self) -> list[Table]:
        names = {t.name for t in _tables()}
        for name in sorted(str(n) for n in self.resources if n not in names):
            self.report.add(Finding("unknown_table", f"resource '{name}' is not a table of this database; remove "
                                    "it from datapackage.json", source=DESCRIPTOR, value=name))
        ready = []
        for table in _tables():
            res = self.resources.get(table.name)
            path = self.directory / str(res.get("path", "")) if res else None
            if res is None or path is None:
                self.report.add(Finding("missing_resource", f"datapackage.json has no resource for table "
                                        f"'{table.name}'", source=DESCRIPTOR, value=table.name))
            elif not path.is_file():
                self.report.add(Finding("missing_file", f"{res.get('path')} is missing from {self.directory}",
                                        source=str(res.get("path"))))
            else:
                ready.append(table)
        return ready

    def rows(self, table: Table, verify_hash: bool = True) -> Iterator[tuple[int, dict[str, Any] | None]]:
        """(row number, the row's values or None when a cell was bad), findings reported."""
        res = self.resources[table.name]
        name = str(res["path"])
        path = self.directory / name
        expected = str(res.get("hash", "")).removeprefix("sha256:")
        if verify_hash and expected and dp.file_digest(path) != expected:
            self.report.add(Finding("changed_file", f"{name} differs from the file that was exported (SHA-256); "
                                    "its rows are checked like any other", source=name, severity="warning"))
        columns = {c.name: c for c in table.columns}
        types = {c.name: dp.field_type(c, self.kinds) for c in table.columns}
        reader = dp.read_csv(path)
        header = next(reader, (1, []))[1]
        missing = [c for c in columns if c not in header]
        unexpected = [h for h in header if h not in columns]
        if missing or unexpected or len(set(header)) != len(header):
            self.report.add(Finding("bad_header", f"the header of {name} must name the columns of table "
                                    f"{table.name}: missing {', '.join(missing) or 'none'}; unexpected "
                                    f"{', '.join(unexpected) or 'none'}", row=1, source=name))
            return
        self.readable.add(table.name)
        for number, cells in reader:
            if len(cells) != len(header):
                self.report.add(Finding("bad_row", f"row has {len(cells)} cells, the header {len(header)}",
                                        row=number, source=name))
                yield number, None
                continue
            row: dict[str, Any] | None = {}
            for head, cell in zip(header, cells, strict=True):
                column = columns[head]
                try:
                    value = dp.decode(cell, types[head], column.nullable is True,
                                      getattr(column.type, "length", None))
                except dp.CellError as exc:
                    self.report.add(Finding(exc.code, f"{head} '{cell[:60]}' {exc}", field=head, value=cell[:100],
                                            row=number, source=name))
                    row = None
                    continue
                if row is not None:
                    row[head] = value
            yield number, row

    def check(self, table: Table) -> None:
        name = str(self.resources[table.name]["path"])
        pk = [c.name for c in table.primary_key.columns]
        keys = self.keys.setdefault(table.name, set())
        refs = [(fk.referred_table.name, [e.parent.name for e in fk.elements]) for fk in table.foreign_key_constraints
                if [e.column.name for e in fk.elements] == [c.name for c in fk.referred_table.primary_key.columns]]
        for number, row in self.rows(table):
            if row is None:
                continue
            key = tuple(row[c] for c in pk)
            if key in keys:
                self.report.add(Finding("duplicate_key", f"primary key {', '.join(map(str, key))} appears twice",
                                        field=",".join(pk), value=",".join(map(str, key)), row=number, source=name))
            keys.add(key)
            for target, fields in refs:
                value = tuple(row[f] for f in fields)
                if None not in value:
                    self.pending_refs.append((name, number, ",".join(fields), value, target))

    def check_references(self) -> None:
        for name, number, fields, value, target in self.pending_refs:
            if target in self.readable and value not in self.keys[target]:
                shown = ",".join(map(str, value))
                self.report.add(Finding("broken_reference", f"{fields} {shown} refers to a row of {target} that "
                                        "is not in the package", field=fields, value=shown, row=number, source=name))


def restore_datapackage(store: Store, directory: Path, max_findings: int = 100) -> tuple[Report, dict[str, int]]:
    """Check the whole package, then restore it in one transaction; returns the findings and
    the rows restored per table (nothing is written when the report has an error)."""
    store.check()
    descriptor = _read_descriptor(directory)
    report = Report(limit=max_findings)
    with store.engine.connect() as conn:
        present = _check_target(store, conn, descriptor["cooptrack"].get("alembic_revision"))
    checker = _Checker(directory, descriptor, report)
    tables = checker.structure()
    for table in tables:
        checker.check(table)
    checker.check_references()
    if not report.valid or len(tables) != len(_tables()):
        return report, {}
    seeded = {t: n for t, n in present.items() if n}
    with store.engine.connect() as conn:
        conn = conn.execution_options(cooptrack_write=True)
        with conn.begin():
            _check_seeded(conn, checker, seeded, report)
            if not report.valid:
                return report, {}
            return report, _insert(store, conn, checker, seeded)


def _check_seeded(conn: Connection, checker: _Checker, seeded: dict[str, int], report: Report) -> None:
    for name in seeded:
        table = Base.metadata.tables[name]
        pk = [c.name for c in table.primary_key.columns]
        ours = {tuple(getattr(r, c) for c in pk): r._asdict() for r in conn.execute(select(table))}
        theirs = {tuple(r[c] for c in pk): r for _, r in checker.rows(table, verify_hash=False) if r is not None}
        strays = [k for k, row in ours.items() if theirs.get(k) != row]
        if strays:
            report.add(Finding("not_empty", f"table {name} holds rows the backup does not ({len(strays)}, e.g. key "
                               f"{strays[0]}); restore into a new database made with `cooptrack init`",
                               source=DESCRIPTOR))


def _insert(store: Store, conn: Connection, checker: _Checker, seeded: dict[str, int]) -> dict[str, int]:
    order = {t.name: i for i, t in enumerate(_tables())}
    for name in seeded:
        conn.execute(Base.metadata.tables[name].delete())
    counts: dict[str, int] = {}
    later: list[tuple[Table, dict[str, Any]]] = []
    for table in _tables():
        # A reference to a table not yet restored (the projects <-> claims cycle) is written
        # as NULL first and set once every row is in.
        deferred = [e.parent.name for fk in table.foreign_key_constraints for e in fk.elements
                    if order[fk.referred_table.name] >= order[table.name]]
        pk = [c.name for c in table.primary_key.columns]
        chunk: list[dict[str, Any]] = []
        n = 0
        for _, row in checker.rows(table, verify_hash=False):
            assert row is not None
            held = {c: row[c] for c in deferred if row[c] is not None}
            if held:
                # the restored values of columns with an onupdate default (updated_at) too,
                # or the deferred UPDATE would stamp them with the time of the restore
                kept = {c.name: row[c.name] for c in table.columns if c.onupdate is not None}
                later.append((table, {**{f"pk_{c}": row[c] for c in pk}, **held, **kept}))
                row = {**row, **dict.fromkeys(held)}
            chunk.append(row)
            n += 1
            if len(chunk) >= CHUNK:
                conn.execute(table.insert(), chunk)
                chunk = []
        if chunk:
            conn.execute(table.insert(), chunk)
        counts[table.name] = n
    for table, values in later:
        keys = {k: v for k, v in values.items() if k.startswith("pk_")}
        where = [table.c[k[3:]] == v for k, v in keys.items()]
        conn.execute(update(table).where(*where).values({k: v for k, v in values.items() if k not in keys}))
    if store.dialect == "postgresql":
        _reset_sequences(conn)
    return counts


def _reset_sequences(conn: Connection) -> None:
    """New rows after a restore get ids above the restored ones."""
    quote = conn.dialect.identifier_preparer.quote
    for table in _tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        t, c = quote(table.name), quote(pk[0].name)
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE(MAX({c}), 1), "
                          f"MAX({c}) IS NOT NULL) FROM {t}"), {"t": table.name, "c": pk[0].name})
