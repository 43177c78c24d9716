"""Text edits of a project (title, description, aliases alone: the team's most frequent write,
``PATCH /api/v1/projects/{code}``), on both databases: every outcome exactly as the previous
implementation's (kept below as the oracle), run on the same database state rolled back between
the two: the projects row afterwards (every column), the audit events written (every column; their
``before``/``after`` as data and as the JSON text stored, key order included), what the call
returned or raised (findings, the stale refusal's current record, the not-found message), the
aspects of the data the write is noted to have changed (store/changes.py), the session's view of
the project afterwards; a concurrent edit between the read and the write refused as before; the
number of statements one edit sends; and the API's PATCH with If-Match."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from test_project_detail_one_statement import EMPTY, FULL, REAL, REAL_FILES, _hand_built

import cooptrack.store.types as store_types
from cooptrack.errors import CooptrackError, InvalidInput, StaleVersion
from cooptrack.services import audit, validate
from cooptrack.services.browse import project_detail
from cooptrack.services.context import Checks, Context
from cooptrack.services.editing import PROJECT_FIELDS, _bad, _unknown, check_version, update_project
from cooptrack.services.iati import ImportOptions, import_iati
from cooptrack.services.projects import LocationSpec, ParticipantSpec, ProjectSpec, get_project, register_project
from cooptrack.services.users import add_user, create_token
from cooptrack.store import Store
from cooptrack.store.changes import KEY
from cooptrack.store.models import AuditEvent, Location, Organisation, Participant, Project, ProjectSector
from cooptrack.web import create_app

# -- the previous implementation, kept as the oracle ---------------------------------------------
# Copied verbatim from cooptrack/services/editing.py before the text edit was made without the
# ORM: update_project's path for an edit of texts alone (its checks of participants, locations
# and sectors do not apply to such an edit and are left out), and _edit_texts.

_REF_TEXTS = frozenset({"title", "description", "aliases"})
_REF_SECTOR_STATE = (select(ProjectSector.dac_code, ProjectSector.percent)
                     .where(ProjectSector.project_id == bindparam("pid")).order_by(ProjectSector.dac_code))
_REF_PARTICIPANT_STATE = (select(Organisation.name, Participant.role)
                          .join(Organisation, Organisation.id == Participant.organisation_id)
                          .where(Participant.project_id == bindparam("pid")).order_by(Participant.id))
_REF_LOCATION_STATE = select(Location.name).where(Location.project_id == bindparam("pid")).order_by(Location.id)


def _reference_update_project(ctx: Context, code: str, changes: dict[str, Any],
                              expected_version: int) -> tuple[Project, str]:
    project = get_project(ctx, code)
    check_version("project", code, project.version, expected_version, lambda: audit.jsonable(project_detail(ctx, code)))
    _unknown(changes, PROJECT_FIELDS, "a project")
    given = dict(changes)
    if "aliases" in given and not isinstance(given["aliases"], list):
        raise _bad("aliases", "aliases must be a list of names")
    assert given and given.keys() <= _REF_TEXTS
    return _reference_edit_texts(ctx, project, given)


def _reference_edit_texts(ctx: Context, project: Project, given: dict[str, Any]) -> tuple[Project, str]:
    checks = Checks()
    values: dict[str, Any] = {}
    if "title" in given:
        values["title"] = checks.run(validate.text, given["title"], "title")
    if "description" in given:
        values["description"] = given["description"]
    if "aliases" in given:
        values["aliases"] = list(given["aliases"])
    checks.done()
    conn, pid = ctx.session.connection(), {"pid": project.id}
    children = {
        "sectors": {dac: percent for dac, percent in conn.execute(_REF_SECTOR_STATE, pid)},
        "participants": [{"name": name, "role": role} for name, role in conn.execute(_REF_PARTICIPANT_STATE, pid)],
        "locations": list(conn.scalars(_REF_LOCATION_STATE, pid)),
    }
    before = audit.snapshot(project, **children)
    for key, value in values.items():
        if getattr(project, key) != value:
            setattr(project, key, value)
    ctx.session.flush()
    after = audit.snapshot(project, **children)
    if not {k for k in after if before.get(k) != after.get(k)} - {"updated_at", "version"}:
        return project, "unchanged"
    audit.record(ctx, "update", "project", project.code, before, after)
    return project, "updated"


# -- the database ---------------------------------------------------------------------------------

HAND = "text-edit-hand"
NOW = datetime(2031, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)  # the edit's ctx.now (the audit event's time)
CLOCK = datetime(2031, 2, 3, 4, 5, 7, 123456, tzinfo=UTC)  # utcnow(): what updated_at's onupdate gives
Edit = Callable[[Context, str, dict[str, Any], int], tuple[Any, str]]


def _hand_made(ctx: Context) -> None:
    """A project registered as the API registers one, with sectors, participants (one with an empty
    role: the column allows no NULL), locations, aliases and a value."""
    register_project(ctx, ProjectSpec(
        code=HAND, title="Hand-made «text» project", programme="fresh-wind", description="Before\nthe edit",
        aliases=["HM", "Ручной", "HM"], host_country="KAZ", partner_country="KOR", value="12345.678900",
        currency="USD", value_date="2020-06-30", sectors={"23210": "60.5", "21020": "39.5"},
        participants=[ParticipantSpec("Hand Org «A»", "funding", "KOR"),
                      ParticipantSpec("Hand Org B", "implementing", None)],
        locations=[LocationSpec("Turkistan", "KAZ"), LocationSpec("Nowhere «x»")]))
    ctx.session.flush()
    project = get_project(ctx, HAND)
    org = Organisation(name="Hand Org without a role", country=None)
    ctx.session.add(org)
    ctx.session.flush()
    ctx.session.add(Participant(project_id=project.id, organisation_id=org.id, role=""))
    project.narratives = {"title": [{"lang": "kk", "text": "Қолдан"}, {"lang": "en", "text": "Hand"}], "a": 1}
    project.iati = {"z": 1, "a": {"y": [1, 2], "b": None}}


@pytest.fixture
def edits_db(demo_db: Store, write: Any, prepare: Any, shared_data: Any) -> Store:
    def build() -> None:
        with write() as ctx:
            import_iati(ctx, [shared_data / REAL / name for name in REAL_FILES], ImportOptions(skip_invalid=True))
        with write() as ctx:
            _hand_built(ctx)
        with write() as ctx:
            _hand_made(ctx)

    prepare("demo, real IATI files, hand-built projects and a hand-made one (text edits)", build)
    return demo_db


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """utcnow() (updated_at's onupdate) stopped at CLOCK."""

    class Stopped(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return CLOCK if tz is UTC else CLOCK.astimezone(tz)

    monkeypatch.setattr(store_types, "datetime", Stopped)
    assert store_types.utcnow() == CLOCK


# -- running an edit and recording what it did ----------------------------------------------------

def _row(conn: Any, code: str) -> dict[str, Any] | None:
    found = conn.execute(select(Project.__table__).where(Project.code == code)).first()
    return None if found is None else dict(found._mapping)


def _raw_row(conn: Any, code: str) -> Any:
    """The row as the database gives it: PostgreSQL's text form of it, SQLite's stored values."""
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql("SELECT p::text FROM projects p WHERE code = %(c)s", {"c": code}).scalar()
    return tuple(conn.exec_driver_sql("SELECT * FROM projects WHERE code = ?", (code,)).first() or ())


def _events(conn: Any, after_id: int) -> list[dict[str, Any]]:
    rows = [dict(r._mapping) for r in conn.execute(select(AuditEvent.__table__).where(AuditEvent.id > after_id)
                                                   .order_by(AuditEvent.id))]
    cast = "::text" if conn.dialect.name == "postgresql" else ""
    mark = "%(i)s" if conn.dialect.name == "postgresql" else "?"
    texts = conn.exec_driver_sql(f"SELECT id, before{cast}, after{cast} FROM audit_events WHERE id > {mark} "
                                 "ORDER BY id", {"i": after_id} if mark != "?" else (after_id,)).all()
    for row, (eid, before, after) in zip(rows, texts, strict=True):
        assert row["id"] == eid
        row["before_text"], row["after_text"] = before, after
        # the stored text is the data's JSON, keys in the order written
        assert json.loads(before) == row["before"] and list(json.loads(before)) == list(row["before"])
        assert json.loads(after) == row["after"] and list(json.loads(after)) == list(row["after"])
    return rows


def _raised(exc: BaseException) -> dict[str, Any]:
    found: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, InvalidInput):
        found["findings"] = [(f.code, f.message, f.field, f.value) for f in exc.findings]
    if isinstance(exc, StaleVersion):
        found["current"] = exc.current
        found["current_json"] = json.dumps(exc.current)
    if isinstance(exc, CooptrackError):
        found["status"] = exc.http_status
    return found


def _sequence(conn: Any) -> tuple[int, bool] | None:
    if conn.dialect.name != "postgresql":
        return None
    row = conn.exec_driver_sql("SELECT last_value, is_called FROM audit_events_id_seq").first()
    return row[0], row[1]


@contextmanager
def _rolled_back(store: Store) -> Iterator[tuple[Context, Any]]:
    """A write transaction (as Store.write opens it) rolled back at the end; on PostgreSQL the audit
    events' sequence is put back too, so that the next run gives its event the same id."""
    with store.engine.connect() as conn:
        conn.execution_options(cooptrack_write=True)
        with Session(bind=conn, expire_on_commit=False) as session:
            session.begin()
            sequence = _sequence(session.connection())
            try:
                yield Context(session, actor="editor «é»", request_id="req-text-edit", now=NOW), conn
            finally:
                session.rollback()
        if sequence is not None:
            conn.exec_driver_sql(f"SELECT setval('audit_events_id_seq', {sequence[0]}, {sequence[1]})")
            conn.commit()


def _outcome(store: Store, edit: Edit, code: str, changes: dict[str, Any], version: int | None = None,
             loaded: bool = False, meanwhile: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """What ``edit`` does to the project ``code`` (at its version, or at ``version``), rolled back.
    ``loaded``: the session holds the project already (as an ORM object) when the edit is called;
    ``meanwhile(dbapi_connection)`` runs just before the projects row is written (another writer's change)."""
    with _rolled_back(store) as (ctx, conn):
        session = ctx.session
        last = session.scalar(select(func.max(AuditEvent.id))) or 0
        current = session.scalar(select(Project.version).where(Project.code == code))
        if loaded:
            held = get_project(ctx, code)
        hooked = []

        def before_write(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if meanwhile and not hooked and statement.lstrip().upper().startswith("UPDATE PROJECTS"):
                hooked.append(statement)
                meanwhile(_conn.connection.dbapi_connection)

        event.listen(store.engine, "before_cursor_execute", before_write)
        try:
            returned, action = edit(ctx, code, dict(changes), version if version is not None else (current or 1))
            session.flush()
        except (CooptrackError, StaleDataError) as exc:
            found: dict[str, Any] = {"raised": _raised(exc), "aspects": sorted(conn.info.get(KEY, ()))}
            if isinstance(exc, StaleDataError):
                return found  # the session cannot be used after it (it was raised by the ORM's flush)
        else:
            found = {"returned": (returned.code, returned.version, action)}
        finally:
            event.remove(store.engine, "before_cursor_execute", before_write)
        found["aspects"] = sorted(conn.info.get(KEY, ()))
        found["row"] = _row(conn, code)
        found["raw_row"] = _raw_row(conn, code)
        found["events"] = _events(conn, last)
        if loaded:
            found["held"] = audit.snapshot(held)  # the object the session held, as it holds it now
        if found["row"] is not None:
            # what the session shows afterwards, to the ORM and to the API's answer
            found["seen"] = audit.snapshot(get_project(ctx, code))
            found["detail"] = json.dumps(audit.jsonable(project_detail(ctx, code)))
        return found


def _scenarios(title: str, description: str | None, aliases: list[Any]) -> list[tuple[str, dict[str, Any], int]]:
    """(name, changes, version offset from the current one)."""
    return [
        ("description", {"description": "A new description «ü»\n\tsecond line"}, 0),
        ("title", {"title": "  A new title «ü»  "}, 0),
        ("aliases", {"aliases": ["New alias", "Новый", "New alias"]}, 0),
        ("all three", {"title": "Every text", "description": "every text", "aliases": ["E"]}, 0),
        ("the same values", {"title": title, "description": description, "aliases": list(aliases)}, 0),
        ("the same description", {"description": description}, 0),
        ("the same title, spaced", {"title": f" {title} "}, 0),
        ("the same title, another description", {"title": title, "description": f"{description} (more)"}, 0),
        ("description removed", {"description": None}, 0),
        ("description empty", {"description": ""}, 0),
        ("no aliases", {"aliases": []}, 0),
        ("aliases of any JSON", {"aliases": [1, None, {"b": 2, "a": [True]}]}, 0),
        ("blank title", {"title": "   "}, 0),
        ("empty title", {"title": "", "description": "not written"}, 0),
        ("no title", {"title": None}, 0),
        ("title too long", {"title": "x" * 501}, 0),
        ("aliases not a list", {"aliases": "A, B", "title": ""}, 0),
        ("stale", {"description": "lost"}, -1),
        ("ahead", {"description": "lost"}, 1),
        ("stale and blank", {"title": ""}, -1),
    ]


def _compare(store: Store, code: str, changes: dict[str, Any], offset: int = 0, **options: Any) -> dict[str, Any]:
    with store.read() as session:
        version = session.scalar(select(Project.version).where(Project.code == code))
    version = (version or 1) + offset
    old = _outcome(store, _reference_update_project, code, changes, version, **options)
    new = _outcome(store, update_project, code, changes, version, **options)
    assert new == old, (code, changes)
    assert repr(new) == repr(old), (code, changes)
    for o, n in zip(old.get("events", []), new.get("events", []), strict=True):
        assert list(n["before"]) == list(o["before"]) and list(n["after"]) == list(o["after"])
        assert n["before_text"] == o["before_text"] and n["after_text"] == o["after_text"]
    return new


def _texts(store: Store, code: str) -> tuple[str, str | None, list[Any]]:
    with store.read() as session:
        found = session.execute(select(Project.title, Project.description, Project.aliases)
                                .where(Project.code == code)).one()
    return found[0], found[1], found[2]


def _sample(store: Store) -> list[str]:
    """The demo's projects, the hand-built and hand-made ones, and every 20th of the others'."""
    with store.read() as session:
        codes = list(session.scalars(select(Project.code).order_by(Project.code)))
        demo = list(session.scalars(select(Project.code).where(Project.iati_identifier.is_(None))
                                    .order_by(Project.code)))
    return sorted({*demo, FULL, EMPTY, HAND, *codes[::20]})


def test_every_scenario_as_before(edits_db: Store, clock: None) -> None:
    kinds: dict[str, int] = {}
    sample = _sample(edits_db)
    assert {FULL, EMPTY, HAND, "bakad"} <= set(sample) and len(sample) > 30
    for code in sample:
        title, description, aliases = _texts(edits_db, code)
        for name, changes, offset in _scenarios(title, description, aliases):
            found = _compare(edits_db, code, changes, offset)
            kind = (found["raised"]["type"] if "raised" in found else found["returned"][2])
            kinds[f"{name}: {kind}"] = kinds.get(f"{name}: {kind}", 0) + 1
    print(f"\n{edits_db.dialect}: {len(sample)} projects, {kinds}")
    # the scenarios do what they are meant to
    assert kinds["description: updated"] == len(sample)
    assert kinds["the same values: unchanged"] == len(sample)
    assert kinds["the same title, spaced: unchanged"] == len(sample)
    assert kinds["blank title: InvalidInput"] == kinds["aliases not a list: InvalidInput"] == len(sample)
    assert kinds["stale: StaleVersion"] == kinds["ahead: StaleVersion"] == kinds["stale and blank: StaleVersion"]


def test_the_hand_made_project(edits_db: Store, clock: None) -> None:
    """Its audit event holds everything the edit leaves as it was, and what it changed."""
    found = _compare(edits_db, HAND, {"description": "After the edit", "aliases": ["HM2"]})
    (event,) = found["events"]
    assert event["at"] == NOW and event["actor"] == "editor «é»" and event["request_id"] == "req-text-edit"
    assert (event["action"], event["entity"], event["entity_id"]) == ("update", "project", HAND)
    before, after = event["before"], event["after"]
    assert list(before) == [*(a.key for a in Project.__mapper__.column_attrs), "sectors", "participants",
                            "locations"]
    assert before["sectors"] == {"21020": "39.5", "23210": "60.5"}
    assert before["participants"] == [{"name": "Hand Org «A»", "role": "funding"},
                                      {"name": "Hand Org B", "role": "implementing"},
                                      {"name": "Hand Org without a role", "role": ""}]
    assert before["locations"] == ["Turkistan", "Nowhere «x»"]
    assert before["value_amount"] == "12345.6789" and before["aliases"] == ["HM", "Ручной", "HM"]
    assert list(before["iati"]) == ["z", "a"]
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"description", "aliases", "version", "updated_at"}
    assert after["updated_at"] == CLOCK.isoformat() and after["version"] == before["version"] + 1
    assert found["row"]["updated_at"] == CLOCK and found["row"]["description"] == "After the edit"


def test_every_project_description_as_before(edits_db: Store, clock: None) -> None:
    """The most frequent edit on every project of the register (its snapshot of every kind of row)."""
    with edits_db.read() as session:
        codes = list(session.scalars(select(Project.code).order_by(Project.code)))
    assert len(codes) > 500
    for code in codes:
        found = _compare(edits_db, code, {"description": f"edited: {code}"})
        assert found["returned"][2] == "updated", code


def test_not_found_as_before(edits_db: Store, clock: None) -> None:
    found = _compare(edits_db, "no-such-project", {"description": "x"}, 0)
    assert found["raised"]["type"] == "NotFound" and found["row"] is None


def test_a_project_the_session_holds(edits_db: Store, clock: None) -> None:
    """The session's object of the project is kept right (the web pages or another caller may have
    loaded it before the edit)."""
    for changes in ({"description": "held"}, {"title": "Held"}, {"title": ""}, {"aliases": ["a"]}):
        found = _compare(edits_db, HAND, changes, loaded=True)
        if "returned" in found:
            assert found["held"] == found["seen"]
    for changes in ({"description": "held"},):
        _compare(edits_db, HAND, changes, offset=-1, loaded=True)


def _bump(code: str) -> Callable[[Any], None]:
    """Another writer's edit of the project, in the transaction of the edit (its connection): the
    row's version moves between the edit's read and its write, as when a concurrent edit commits
    in between on PostgreSQL."""

    def run(dbapi: Any) -> None:
        mark = "?" if "sqlite" in type(dbapi).__module__ else "%s"
        cursor = dbapi.cursor()
        try:
            cursor.execute(f"UPDATE projects SET version = version + 1 WHERE code = {mark}", (code,))
        finally:
            cursor.close()

    return run


def test_a_write_between_the_read_and_the_write_as_before(edits_db: Store, clock: None) -> None:
    for code in (HAND, FULL, "bakad"):
        for changes in ({"description": "racing"}, {"title": "Racing", "aliases": []}):
            found = _compare(edits_db, code, changes, meanwhile=_bump(code))
            assert found["raised"]["type"] == "StaleDataError", found
            assert found["raised"]["message"] == ("UPDATE statement on table 'projects' expected to update "
                                                  "1 row(s); 0 were matched.")
    # an edit to the same values writes nothing, so finds no race
    title, description, aliases = _texts(edits_db, HAND)
    found = _compare(edits_db, HAND, {"title": title}, meanwhile=_bump(HAND))
    assert found["returned"][2] == "unchanged"


def test_two_concurrent_edits_with_one_version(edits_db: Store, clock: None, write: Any) -> None:
    """Another writer's edit based on the same version starts while the first is between its read
    and its write. PostgreSQL: the other commits first; the first's write is refused (the row is no
    longer at the version it read), nothing of it written. SQLite: a writer takes the database's
    lock when it begins, so the other waits for the first's commit, then reads the new version and
    is refused. Either way one of the two is written, the other refused."""
    version = edits_db_version(edits_db, HAND)
    other_raised: list[BaseException] = []

    def edit() -> None:
        try:
            with write("other") as ctx:
                update_project(ctx, HAND, {"description": "the other writer's"}, version)
        except BaseException as exc:  # kept for the assertions below
            other_raised.append(exc)

    worker = threading.Thread(target=edit)  # its own connection and transaction
    hooked: list[str] = []

    def before_write(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not hooked and statement.lstrip().upper().startswith("UPDATE PROJECTS"):
            hooked.append(statement)
            worker.start()
            if edits_db.dialect == "postgresql":
                worker.join()  # committed before the first writes
            else:
                worker.join(0.5)  # waiting for the database's lock
                assert worker.is_alive()

    with edits_db.read() as session:
        last = session.scalar(select(func.max(AuditEvent.id)))
    first_raised: BaseException | None = None
    try:
        with edits_db.write() as session, _listening(edits_db, before_write):
            update_project(Context(session, actor="first"), HAND, {"description": "the first writer's"}, version)
    except StaleDataError as exc:
        first_raised = exc
    worker.join()
    with edits_db.read() as session:
        row = session.execute(select(Project.description, Project.version).where(Project.code == HAND)).one()
        events = list(session.scalars(select(AuditEvent.actor).where(AuditEvent.id > last)))
    assert hooked
    if edits_db.dialect == "postgresql":
        assert isinstance(first_raised, StaleDataError) and not other_raised
        assert (tuple(row), events) == (("the other writer's", version + 1), ["other"])
    else:
        assert first_raised is None and len(other_raised) == 1 and isinstance(other_raised[0], StaleVersion)
        assert (tuple(row), events) == (("the first writer's", version + 1), ["first"])


def edits_db_version(store: Store, code: str) -> int:
    with store.read() as session:
        found = session.scalar(select(Project.version).where(Project.code == code))
    assert found is not None
    return found


@contextmanager
def _listening(store: Store, listener: Callable[..., None]) -> Iterator[None]:
    event.listen(store.engine, "before_cursor_execute", listener)
    try:
        yield
    finally:
        event.remove(store.engine, "before_cursor_execute", listener)


# -- statements -----------------------------------------------------------------------------------

def _statements(store: Store, edit: Edit, code: str, changes: dict[str, Any]) -> tuple[list[str], set[str]]:
    """The statements one edit sends in its write transaction (begun already: SQLite's BEGIN is not
    the edit's), and the aspects its commit marks changed (one upsert of data_changes each, sent
    at commit on the driver's connection, below SQLAlchemy's events)."""
    seen: list[str] = []
    with store.write() as session:
        conn = session.connection()
        ctx = Context(session, actor="tester")
        version = session.scalar(select(Project.version).where(Project.code == code))
        assert version is not None
        with _listening(store, lambda _c, _k, statement, *_: seen.append(statement)):
            edit(ctx, code, changes, version)
            session.flush()
        aspects = set(conn.info.get(KEY, ()))
    return seen, aspects


def test_statements_of_one_edit(edits_db: Store) -> None:
    """The edit: one read (the project with what its audit event records of its rows), one UPDATE
    (with the version it was based on), one INSERT of the audit event: 3 (the previous
    implementation: 6; the project, its sectors, participants and locations read one by one). At
    commit, data_changes gets one upsert per aspect changed: 2 for a description ('*' and
    'projects'), 3 for a title (and 'projects.listed'), as before. The API's answer adds
    project_detail's one statement."""
    for code in (HAND, FULL, EMPTY, "bakad"):
        old, old_aspects = _statements(edits_db, _reference_update_project, code, {"description": f"old {code}"})
        new, new_aspects = _statements(edits_db, update_project, code, {"description": f"new {code}"})
        assert len(old) == 6, old
        assert len(new) == 3, new
        assert [s.split()[0].upper() for s in new] == ["SELECT", "UPDATE", "INSERT"], new
        assert new_aspects == old_aspects == {"*", "projects"}
        old, old_aspects = _statements(edits_db, _reference_update_project, code, {"title": f"Old {code}"})
        new, new_aspects = _statements(edits_db, update_project, code, {"title": f"New {code}"})
        assert (len(old), len(new)) == (6, 3)
        assert new_aspects == old_aspects == {"*", "projects", "projects.listed"}
    unchanged, aspects = _statements(edits_db, update_project, HAND, {"title": _texts(edits_db, HAND)[0]})
    assert len(unchanged) == 1 and not aspects  # the read alone


# -- the API --------------------------------------------------------------------------------------

@pytest.fixture
def editor_token(edits_db: Store, write: Any, prepare: Any) -> str:
    def build() -> str:
        with write() as ctx:
            add_user(ctx, "text-editor", "editor")
            return create_token(ctx, "text-editor").token

    return str(prepare("demo, IATI files, hand-built, hand-made, an editor (text edits)", build))


def test_patch_with_if_match(edits_db: Store, editor_token: str) -> None:
    client = TestClient(create_app(edits_db, public_read=False))
    headers = {"Authorization": f"Bearer {editor_token}"}
    for code in (HAND, "bakad", FULL):
        first = client.get(f"/api/v1/projects/{code}", headers=headers)
        tag = first.headers["etag"]
        for changes in ({"description": "Edited through the API"}, {"title": "API title", "aliases": ["API"]}):
            ok = client.patch(f"/api/v1/projects/{code}", json=changes, headers=headers | {"If-Match": tag})
            assert ok.status_code == 200, ok.text
            got = client.get(f"/api/v1/projects/{code}", headers=headers)
            assert ok.json() == got.json() and ok.content == got.content
            assert ok.headers["etag"] == got.headers["etag"] == f'"{got.json()["version"]}"' != tag
            assert all(got.json()[k] == v for k, v in changes.items())
            stale = client.patch(f"/api/v1/projects/{code}", json={"description": "lost"},
                                 headers=headers | {"If-Match": tag})
            assert stale.status_code == 412
            error = stale.json()["error"]
            assert error["code"] == "stale_version" and error["current"] == got.json()
            assert client.get(f"/api/v1/projects/{code}", headers=headers).content == got.content
            tag = ok.headers["etag"]
        same = client.patch(f"/api/v1/projects/{code}", json={"title": "API title"},
                            headers=headers | {"If-Match": tag})
        assert same.status_code == 200 and same.headers["etag"] == tag
        blank = client.patch(f"/api/v1/projects/{code}", json={"title": " "}, headers=headers | {"If-Match": tag})
        assert blank.status_code == 422 and [f["field"] for f in blank.json()["error"]["findings"]] == ["title"]
    with edits_db.read() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.entity_id == HAND)
                                      .order_by(AuditEvent.id)))
    assert [e.actor for e in events][-2:] == ["text-editor", "text-editor"]
    assert events[-1].after["title"] == "API title" and events[-1].before["description"] == "Edited through the API"
    assert isinstance(Decimal(events[-1].before["value_amount"]), Decimal)
