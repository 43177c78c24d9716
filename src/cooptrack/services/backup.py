"""Full backup and restore: every table of the store as a Frictionless Data Package, in a
folder or in one ZIP file (the same files, the same bytes).

Export reads one consistent snapshot and writes rows ordered by primary key in canonical
text, so exporting, restoring and exporting again gives the same bytes. Restore goes only
into an empty database at the migration the package was written at: it checks every file
first (header, each cell against its field, primary keys, references) and writes nothing
unless all of it is valid, then inserts in one transaction in foreign-key order.

"Empty" allows what it takes to restore through the web: the accounts an admin signs in with
(users, their API tokens and the audit events that recorded them) and the server's own
bookkeeping (import jobs, sessions, failed sign-ins, caches: never backed up). The restore
replaces those accounts with the backup's: afterwards the backup's people and tokens sign in,
everyone signed in before signs in again, and the database holds exactly what the backup
holds. Deleting the account audit events is the one time anything lifts the audit log's
append-only guard, within the restore's own transaction, on a database that holds no data.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Integer, Table, delete, func, select, text, update

from cooptrack.errors import AlreadyExists, InvalidInput
from cooptrack.findings import Finding, Report
from cooptrack.formats import datapackage as dp
from cooptrack.formats import zipsafe
from cooptrack.store import Store
from cooptrack.store.db import redact
from cooptrack.store.migrate import current_revision
from cooptrack.store.models import Base

DESCRIPTOR = dp.DESCRIPTOR
# Tables a migration fills in every new database: restore replaces their rows, provided the
# database holds nothing the package lacks.
SEEDED = ("indicators",)
# Who may sign in: a database holding only these (and the audit events recording them) is empty.
ACCOUNTS = ("users", "api_tokens")
ACCOUNT_ENTITIES = ("user", "api_token")
CHUNK = 2000
# The audit log's guards (migration 0005), lifted only to delete an empty database's account events.
PG_AUDIT_TRIGGER = "audit_events_append_only"
SQLITE_AUDIT_TRIGGER = "audit_events_no_delete"
Progress = Callable[[int], AbstractContextManager[Callable[[int], Any]]]


class NotEmpty(AlreadyExists):
    """The database to restore into holds data (HTTP 409, exit 1): nothing was written."""

    code = "not_empty"

    def __init__(self, message: str, findings: list[Finding]) -> None:
        super().__init__(message)
        self.findings = findings


def _refuse(message: str, code: str, source: str | None = None) -> InvalidInput:
    return InvalidInput(message, [Finding(code, message, source=source)])


# Not data, or not this data's: sessions expire (a restored database starts with nobody signed
# in), caches and their bookkeeping, a server's import jobs and failed sign-ins.
NOT_BACKED_UP = frozenset({"web_sessions", "data_changes", "response_cache", "import_jobs", "sign_in_failures"})


def _tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_BACKED_UP]


def zip_limits(environ: dict[str, str] | None = None) -> dp.ZipLimits:
    """How far a backup's ZIP may unpack: COOPTRACK_MAX_UNZIPPED_MB in all (default 1000) and
    COOPTRACK_MAX_ZIP_RATIO times a member's packed size (default 200), read when asked, like
    the upload limit (COOPTRACK_MAX_UPLOAD_MB)."""
    return zipsafe.zip_limits(environ)


def export_datapackage(store: Store, directory: Path, overwrite: bool = False) -> dict[str, int]:
    """Write ``datapackage.json`` and one CSV per table into ``directory``; returns the row
    count of each table."""
    if directory.exists() and not directory.is_dir():
        raise _refuse(f"{directory} is a file; give a folder to write the data package into", "not_a_folder")
    if (directory / DESCRIPTOR).exists() and not overwrite:
        raise _refuse(f"{directory} already holds a data package; pass --force to overwrite it, or choose an "
                      "empty folder", "package_exists")
    directory.mkdir(parents=True, exist_ok=True)
    return _export(store, dp.FolderWriter(directory))


def export_datapackage_zip(store: Store, path: Path, overwrite: bool = False) -> dict[str, int]:
    """The same files as `export_datapackage`, as the members of one ZIP file, written next to
    ``path`` and renamed into place once complete."""
    if path.is_dir():
        raise _refuse(f"{path} is a folder; give a file name ending in .zip, or drop --zip to write the "
                      "folder", "not_a_file")
    if path.exists() and not overwrite:
        raise _refuse(f"{path} already exists; pass --force to overwrite it", "package_exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
            counts = _export(store, dp.ZipWriter(archive))
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)
    return counts


def _export(store: Store, writer: dp.FolderWriter | dp.ZipWriter) -> dict[str, int]:
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
                with writer.open(f"{table.name}.csv") as out:
                    n, size, sha = dp.write_csv(out, [c.name for c in table.columns], rows)
                counts[table.name] = n
                resources.append(dp.resource(table, schema, n, size, sha))
    with writer.open(DESCRIPTOR) as out:
        out.write(dp.descriptor_bytes({
            "profile": dp.PROFILE, "name": "cooptrack-backup", "title": "cooptrack database backup",
            "cooptrack": {"format": dp.FORMAT, "alembic_revision": revision},
            "resources": resources,
        }))
    return counts


@contextmanager
def open_package(source: Path, limits: dp.ZipLimits | None = None,
                 label: str | None = None) -> Iterator[dp.PackageFiles]:
    """A package to restore: a folder as `export datapackage` wrote it, or a ZIP file (told by
    its first bytes, not its name), unpacked safely for the time of the block."""
    if source.is_dir():
        yield dp.folder_package(source)
        return
    if not source.is_file():
        raise _refuse(f"{source} does not exist; give the folder or the .zip that `cooptrack export datapackage` "
                      "wrote", "no_package")
    with dp.zip_package(source, limits or zip_limits(), label) as package:
        yield package


def _read_descriptor(package: dp.PackageFiles) -> dict[str, Any]:
    path, where = package.descriptor, package.label
    if path is None:
        raise _refuse(f"{where} holds no {DESCRIPTOR}; give the folder `cooptrack export datapackage` wrote",
                      "no_descriptor", DESCRIPTOR)
    if path.stat().st_size > dp.DESCRIPTOR_LIMIT:
        raise _refuse(f"{DESCRIPTOR} in {where} is {path.stat().st_size:,} bytes; a backup's is a few hundred kB",
                      "bad_descriptor", DESCRIPTOR)
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _refuse(f"{DESCRIPTOR} in {where} is not valid JSON ({exc})", "bad_descriptor", DESCRIPTOR) from None
    meta = descriptor.get("cooptrack") if isinstance(descriptor, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != dp.FORMAT or not isinstance(
            descriptor.get("resources"), list):
        raise _refuse(f"{DESCRIPTOR} in {where} is not a cooptrack backup (it needs \"cooptrack\": {{\"format\": "
                      f"\"{dp.FORMAT}\"}} and a list of resources)", "bad_descriptor", DESCRIPTOR)
    return descriptor


def _check_target(store: Store, conn: Connection, revision: str | None) -> dict[str, int]:
    """The rows of each backed-up table; refused unless the database is at ``revision`` and
    empty (accounts and seeded tables aside)."""
    current = current_revision(conn)
    if revision != current:
        raise _refuse(f"the backup was written at migration {revision}, database {redact(store.url)} is at "
                      f"{current}; restore into a database at {revision} (with the cooptrack version that wrote "
                      "the backup), then run `cooptrack db upgrade`", "wrong_revision", DESCRIPTOR)
    counts = {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in _tables()}
    busy = {name: n for name, n in counts.items() if n and name not in SEEDED + ACCOUNTS}
    audit = Base.metadata.tables["audit_events"]
    if busy.get(audit.name):
        busy[audit.name] = int(conn.execute(select(func.count()).select_from(audit).where(
            audit.c.entity.not_in(ACCOUNT_ENTITIES))).scalar_one())
    busy = {name: n for name, n in busy.items() if n}
    if busy:
        listed = ", ".join(f"{name} ({n:,} rows)" for name, n in sorted(busy.items()))
        message = (f"database {redact(store.url)} is not empty: {listed}. A backup is restored only into an "
                   "empty database: create a new one, run `cooptrack init` on it, and restore there (users and "
                   "their tokens may be there already: the backup's replace them)")
        raise NotEmpty(message, [Finding("not_empty", message, value=", ".join(sorted(busy)))])
    return counts


class _Checker:
    """Pass one: every file, row and cell checked; primary keys kept to check references."""

    def __init__(self, package: dp.PackageFiles, descriptor: dict[str, Any], report: Report,
                 advance: Callable[[int], Any]) -> None:
        self.package, self.report, self.advance = package, report, advance
        self.resources = {r.get("name"): r for r in descriptor["resources"] if isinstance(r, dict)}
        self.keys: dict[str, set[tuple[Any, ...]]] = {}
        self.kinds = dp.json_kinds(Base)
        self.pending_refs: list[tuple[str, int, str, tuple[Any, ...], str]] = []
        self.readable: set[str] = set()  # tables whose header was right: their keys are known

    def structure(self) -> list[Table]:
        names = {t.name for t in _tables()}
        for name in sorted(str(n) for n in self.resources if n not in names):
            if name in NOT_BACKED_UP:  # written by an earlier cooptrack: a server's own bookkeeping
                self.report.add(Finding("not_restored", f"resource '{name}' is not restored (it is this server's "
                                        "own bookkeeping, not data)", source=DESCRIPTOR, value=name,
                                        severity="warning"))
                continue
            self.report.add(Finding("unknown_table", f"resource '{name}' is not a table of this database; remove "
                                    "it from datapackage.json", source=DESCRIPTOR, value=name))
        ready = []
        for table in _tables():
            res = self.resources.get(table.name)
            declared = res.get("path") if res else None
            if res is None:
                self.report.add(Finding("missing_resource", f"datapackage.json has no resource for table "
                                        f"'{table.name}'", source=DESCRIPTOR, value=table.name))
            elif not isinstance(declared, str) or not dp.SAFE_NAME.match(declared):
                self.report.add(Finding("bad_path", f"resource '{table.name}' has the path {json.dumps(declared)}; "
                                        f"a backup's files sit next to {DESCRIPTOR}, named like {table.name}.csv",
                                        source=DESCRIPTOR, field="path", value=str(declared)[:100]))
            elif declared not in self.package.files:
                self.report.add(Finding("missing_file", f"{declared} is missing from {self.package.label}",
                                        source=declared))
            else:
                ready.append(table)
        return ready

    def rows(self, table: Table, verify_hash: bool = True) -> Iterator[tuple[int, dict[str, Any] | None]]:
        """(row number, the row's values or None when a cell was bad), findings reported."""
        res = self.resources[table.name]
        name = str(res["path"])
        path = self.package.files[name]
        expected = str(res.get("hash", "")).removeprefix("sha256:")
        if verify_hash and expected and dp.file_digest(path) != expected:
            self.report.add(Finding("changed_file", f"{name} differs from the file that was exported (SHA-256); "
                                    "its rows are checked like any other", source=name, severity="warning"))
        columns = {c.name: c for c in table.columns}
        types = {c.name: dp.field_type(c, self.kinds) for c in table.columns}
        reader = dp.read_csv(path)
        number = 1
        try:
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
                yield number, self._row(name, number, header, cells, columns, types)
        except UnicodeDecodeError as exc:
            self.readable.discard(table.name)
            self.report.add(Finding("bad_encoding", f"{name} is not UTF-8 (byte 0x{exc.object[exc.start]:02X}); a "
                                    "backup's files are UTF-8", row=number + 1, source=name))
        except csv.Error as exc:
            self.readable.discard(table.name)
            self.report.add(Finding("bad_csv", f"{name} is not CSV as the export writes it ({exc})", row=number + 1,
                                    source=name))

    def _row(self, name: str, number: int, header: list[str], cells: list[str], columns: dict[str, Any],
             types: dict[str, str]) -> dict[str, Any] | None:
        row: dict[str, Any] | None = {}
        for head, cell in zip(header, cells, strict=True):
            column = columns[head]
            try:
                value = dp.decode(cell, types[head], column.nullable is True, getattr(column.type, "length", None))
            except dp.CellError as exc:
                shown = cell.replace("\x00", "")
                self.report.add(Finding(exc.code, f"{head} '{shown[:60]}' {exc}", field=head, value=shown[:100],
                                        row=number, source=name))
                row = None
                continue
            if row is not None:
                row[head] = value
        return row

    def check(self, table: Table) -> None:
        name = str(self.resources[table.name]["path"])
        pk = [c.name for c in table.primary_key.columns]
        keys = self.keys.setdefault(table.name, set())
        refs = [(fk.referred_table.name, [e.parent.name for e in fk.elements]) for fk in table.foreign_key_constraints
                if [e.column.name for e in fk.elements] == [c.name for c in fk.referred_table.primary_key.columns]]
        seen = 0
        for number, row in self.rows(table):
            seen += 1
            if seen % 1000 == 0:
                self.advance(1000)
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
        self.advance(seen % 1000)

    def check_references(self) -> None:
        for name, number, fields, value, target in self.pending_refs:
            if target in self.readable and value not in self.keys[target]:
                shown = ",".join(map(str, value))
                self.report.add(Finding("broken_reference", f"{fields} {shown} refers to a row of {target} that "
                                        "is not in the package", field=fields, value=shown, row=number, source=name))


def check_restore(store: Store, source: Path, limits: dp.ZipLimits | None = None, label: str | None = None,
                  need_admin: bool = False) -> None:
    """What can be told before a restore starts: the package opens safely, its descriptor is a
    cooptrack backup of this migration, and the database is empty. Raises what the restore would.
    ``need_admin``: a restore through the web, which replaces the accounts it was made with, is
    refused unless the backup holds an admin who can sign in afterwards."""
    store.check()
    with open_package(source, limits, label) as package:
        descriptor = _read_descriptor(package)
        with store.engine.connect() as conn:
            _check_target(store, conn, descriptor["cooptrack"].get("alembic_revision"))
        if need_admin and not _has_admin(package, descriptor):
            raise _refuse(f"{package.label} holds no active admin who can sign in (with a password or a token that "
                          "is not revoked): restored through the web, it would lock everyone out. Restore it with "
                          "`cooptrack import datapackage` on the server, then add an admin with `cooptrack user "
                          "add`", "no_admin", "users.csv")


def _has_admin(package: dp.PackageFiles, descriptor: dict[str, Any]) -> bool:
    """Whether the package's users and tokens hold an active admin with a password or a token
    that is not revoked (read as text: the restore checks every cell later)."""
    paths = {r.get("name"): r.get("path") for r in descriptor["resources"] if isinstance(r, dict)}

    def records(table: str) -> Iterator[dict[str, str]]:
        path = package.files.get(str(paths.get(table)))
        if path is None:
            return
        try:
            rows = dp.read_csv(path)
            header = next(rows, (1, []))[1]
            for _, cells in rows:
                yield dict(zip(header, cells, strict=False))
        except (UnicodeDecodeError, csv.Error):
            return

    admins = {u.get("id"): u.get("password_hash") for u in records("users")
              if u.get("role") == "admin" and u.get("active") == "true"}
    if any(admins.values()):
        return True
    return any(t.get("user_id") in admins and not t.get("revoked_at") for t in records("api_tokens"))


def restore_datapackage(store: Store, source: Path, max_findings: int = 100, dry_run: bool = False,
                        limits: dp.ZipLimits | None = None, label: str | None = None,
                        progress: Progress | None = None) -> tuple[Report, dict[str, int]]:
    """Check the whole package (a folder or a ZIP file), then restore it in one transaction;
    returns the findings and the rows restored per table (nothing is written when the report
    has an error, or on a dry run)."""
    store.check()
    with open_package(source, limits, label) as package:
        descriptor = _read_descriptor(package)
        revision = descriptor["cooptrack"].get("alembic_revision")
        with store.engine.connect() as conn:
            _check_target(store, conn, revision)
        declared = sum(r["rows"] for r in descriptor["resources"]
                       if isinstance(r, dict) and isinstance(r.get("rows"), int) and r.get("name") not in NOT_BACKED_UP)
        passes = 1 if dry_run else 2  # checked, then inserted
        with progress(declared * passes) if progress else nullcontext(lambda n: None) as advance:
            report = Report(limit=max_findings)
            checker = _Checker(package, descriptor, report, advance)
            tables = checker.structure()
            for table in tables:
                checker.check(table)
            checker.check_references()
            if not report.valid or len(tables) != len(_tables()) or dry_run:
                return report, {}
            with store.engine.connect() as conn:
                conn = conn.execution_options(cooptrack_write=True)
                with conn.begin():
                    present = _check_target(store, conn, revision)  # again, now that we hold the write lock
                    seeded = {t: present[t] for t in SEEDED if present.get(t)}
                    _check_seeded(conn, checker, seeded, report)
                    if not report.valid:
                        return report, {}
                    _clear_accounts(store, conn)
                    return report, _insert(store, conn, checker, seeded, advance)


def _clear_accounts(store: Store, conn: Connection) -> None:
    """The accounts of the empty database go, for the backup's: everyone signs in again."""
    tables = Base.metadata.tables
    for name in ("web_sessions", "api_tokens", "users"):
        conn.execute(delete(tables[name]))
    audit = tables["audit_events"]
    if conn.execute(select(func.count()).select_from(audit)).scalar_one() == 0:
        return
    # _check_target let only account events through; they go with their accounts.
    gone = delete(audit).where(audit.c.entity.in_(ACCOUNT_ENTITIES))
    if store.dialect == "postgresql":
        conn.execute(text(f"ALTER TABLE audit_events DISABLE TRIGGER {PG_AUDIT_TRIGGER}"))
        conn.execute(gone)
        conn.execute(text(f"ALTER TABLE audit_events ENABLE TRIGGER {PG_AUDIT_TRIGGER}"))
        return
    guard = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
                         {"name": SQLITE_AUDIT_TRIGGER}).scalar()
    if guard:
        conn.execute(text(f"DROP TRIGGER {SQLITE_AUDIT_TRIGGER}"))
    conn.execute(gone)
    if guard:
        conn.exec_driver_sql(str(guard))  # the guard as the migration created it, word for word


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


def _insert(store: Store, conn: Connection, checker: _Checker, seeded: dict[str, int],
            advance: Callable[[int], Any]) -> dict[str, int]:
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
                advance(len(chunk))
                chunk = []
        if chunk:
            conn.execute(table.insert(), chunk)
            advance(len(chunk))
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
