"""What a write changed, by aspect (store/changes.py), and the read API's caches built on it
(web/cache.py): an edit of a project's description leaves the programme dashboards cached, a
status event or an observation's value does not, ``cooptrack db changed`` throws everything
away; on PostgreSQL a dashboard computed by one worker is served by another."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cooptrack.services.backup import NOT_BACKED_UP
from cooptrack.services.context import Context
from cooptrack.services.editing import update_observation, update_project
from cooptrack.services.observations import list_observations
from cooptrack.services.programmes import ProgrammeSpec, register_programme
from cooptrack.services.projects import ProjectSpec, StatusSpec, add_status_event, get_project, register_project
from cooptrack.services.sources import SourceSpec, add_source, get_source
from cooptrack.services.users import add_user, create_token
from cooptrack.store.changes import ALL_ASPECTS, EVERYTHING, aspects_of, mark_everything_changed, read_tokens
from cooptrack.store.db import make_engine
from cooptrack.web import create_app

OVERVIEW = "/api/v1/programmes/fresh-wind/overview"
TARGETS = "/api/v1/programmes/fresh-wind/targets"
PROJECTS = "/api/v1/projects?programme=fresh-wind"
BAKAD = "/api/v1/projects/bakad"

# -- 1. classification --------------------------------------------------------------------------

T = frozenset({EVERYTHING})
NOTHING: frozenset[str] = frozenset()
EVERY = frozenset({ALL_ASPECTS})

CLASSIFIED = [
    # projects: a description (and the version the ORM moves with it) is not the listed part
    ("UPDATE projects SET description=?, updated_at=?, version=? WHERE projects.id = ? AND projects.version = ?",
     T | {"projects"}),
    ("UPDATE projects SET description=%(description)s, updated_at=%(updated_at)s, version=%(version)s "
     "WHERE projects.id = %(projects_id)s AND projects.version = %(projects_version)s", T | {"projects"}),
    ("UPDATE projects SET planned_start=?, actual_end=?, aliases=?, national_id=? WHERE projects.id = ?",
     T | {"projects"}),
    ("UPDATE projects SET title=?, updated_at=?, version=? WHERE projects.id = ? AND projects.version = ?",
     T | {"projects", "projects.listed"}),
    ("UPDATE projects SET description=?, title=? WHERE projects.id = ?", T | {"projects", "projects.listed"}),
    ("UPDATE projects SET status=?, status_effective=?, status_start=?, updated_at=?, version=? "
     "WHERE projects.id = ?", T | {"projects", "projects.listed"}),
    ("UPDATE projects SET source_id=?, value_source_id=? WHERE projects.id = ?", T | {"projects", "projects.listed"}),
    ("INSERT INTO projects (code, title) VALUES (?, ?)", T | {"projects", "projects.listed"}),
    ("DELETE FROM projects WHERE projects.id = ?", T | {"projects", "projects.listed"}),
    # observations: a note is not a value
    ("INSERT INTO observations (indicator_id, reporter, partner, period, value, unit) VALUES (?, ?, ?, ?, ?, ?)",
     T | {"observations", "observations.values"}),
    ("UPDATE observations SET note=?, updated_at=?, version=? WHERE observations.id = ? "
     "AND observations.version = ?", T | {"observations"}),
    ("UPDATE observations SET value=?, updated_at=?, version=? WHERE observations.id = ?",
     T | {"observations", "observations.values"}),
    ("UPDATE observations SET note=?, flags=? WHERE observations.id = ?", T | {"observations", "observations.values"}),
    ("DELETE FROM observations WHERE observations.id = ?", T | {"observations", "observations.values"}),
    # other tables: their own name only; quoted, schema-qualified, SQLite's OR-clauses, any case
    ("INSERT INTO status_events (project_id, status) VALUES (?, ?)", T | {"status_events"}),
    ('UPDATE "projects" SET "description"=? WHERE "projects"."id" = ?', T | {"projects"}),
    ('UPDATE "projects" SET "title"=? WHERE "projects"."id" = ?', T | {"projects", "projects.listed"}),
    ('INSERT INTO "public"."status_events" (project_id) VALUES (%s)', T | {"status_events"}),
    ("INSERT OR IGNORE INTO project_sectors (project_id, dac_code, percent) VALUES (?, ?, ?)",
     T | {"project_sectors"}),
    ("INSERT OR REPLACE INTO exchange_rates (currency) VALUES (?)", T | {"exchange_rates"}),
    ("UPDATE OR ROLLBACK targets SET note=? WHERE id = ?", T | {"targets"}),
    ("REPLACE INTO claims (id) VALUES (?)", T | {"claims"}),
    ("  insert into Programmes (code) values (?)", T | {"programmes"}),
    ("delete from reported_figures where id = ?", T | {"reported_figures"}),
    # reads and transaction control
    ("SELECT projects.id FROM projects WHERE projects.code = ?", NOTHING),
    ("  select 1", NOTHING),
    ("WITH ranked AS (SELECT id FROM observations) SELECT * FROM ranked", NOTHING),
    ("WITH gone AS (DELETE FROM observations WHERE id = 1 RETURNING id) SELECT * FROM gone", {"**"}),
    ("UPDATE projects SET description=(SELECT title FROM sources WHERE id = 1), title=? WHERE projects.id = ?",
     {"*", "projects", "projects.listed"}),
    ("PRAGMA foreign_keys=ON", NOTHING),
    ("PRAGMA data_version", NOTHING),
    ("SAVEPOINT sa_savepoint_1", NOTHING),
    ("RELEASE SAVEPOINT sa_savepoint_1", NOTHING),
    ("ROLLBACK TO SAVEPOINT sa_savepoint_1", NOTHING),
    ("BEGIN IMMEDIATE", NOTHING),
    ("SET LOCAL session_replication_role = replica", NOTHING),
    ("SHOW server_version", NOTHING),
    # untracked tables: authorization and bookkeeping
    ("INSERT INTO audit_events (at, actor, action) VALUES (?, ?, ?)", NOTHING),
    ("UPDATE api_tokens SET last_used_at=? WHERE api_tokens.id = ?", NOTHING),
    # users and tokens: the access aspect alone
    ("INSERT INTO users (name, role) VALUES (?, ?)", {"access"}),
    ("INSERT INTO api_tokens (user_id, hash) VALUES (?, ?)", {"access"}),
    ("UPDATE api_tokens SET revoked_at=? WHERE api_tokens.id = ?", {"access"}),
    ("UPDATE api_tokens SET last_used_at=?, revoked_at=? WHERE api_tokens.id = ?", {"access"}),
    ("UPDATE users SET role=%(role)s, version=%(version)s WHERE users.id = %(users_id)s", {"access"}),
    ("DELETE FROM api_tokens WHERE id = ?", {"access"}),
    ("DELETE FROM web_sessions WHERE expires_at < ?", NOTHING),
    ('INSERT INTO sign_in_failures ("key", failures, window_ends, held_until) VALUES (?, ?, ?, ?) '
     'ON CONFLICT ("key") DO UPDATE SET failures = sign_in_failures.failures + ?', NOTHING),
    ("DELETE FROM sign_in_failures WHERE sign_in_failures.key = %(key_1)s::VARCHAR", NOTHING),
    ("UPDATE import_jobs SET state=? WHERE id = ?", NOTHING),
    ("INSERT INTO data_changes (aspect, changes) VALUES (?, ?)", NOTHING),
    ("INSERT INTO response_cache (key, version, body) VALUES (%s, %s, %s)", NOTHING),
    ("UPDATE alembic_version SET version_num='0008'", NOTHING),
    # statements of unknown effect: every aspect
    ("CREATE TABLE scratch (id INTEGER PRIMARY KEY)", EVERY),
    ("TRUNCATE projects, observations RESTART IDENTITY CASCADE", EVERY),
    ("ALTER TABLE projects ADD COLUMN extra TEXT", EVERY),
    ("DROP TABLE scratch", EVERY),
    ("COPY observations FROM STDIN", EVERY),
]


@pytest.mark.parametrize(("statement", "expected"), CLASSIFIED, ids=[s[:60] for s, _ in CLASSIFIED])
def test_statements_are_classified_into_aspects(statement, expected):
    assert aspects_of(statement) == expected, statement


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def demo(demo_db):
    """The store with the demo loaded."""
    return demo_db


def tokens(store):
    with store.engine.connect() as conn:
        return read_tokens(conn)


def changed(before, after):
    """The aspects whose token differs (or appeared)."""
    return {a for a in after if before.get(a) != after[a]}


def version_of(store, code):
    with store.read() as session:
        return get_project(Context(session, "tester"), code).version


def first_observation(store, indicator="trade_turnover"):
    with store.read() as session:
        found = [o for o in list_observations(Context(session, "tester")) if o.indicator.code == indicator]
    assert found, f"the demo has no {indicator} observation"
    return found[0]


class Boom(Exception):
    pass


# -- 2. tokens ----------------------------------------------------------------------------------


def test_a_description_edit_changes_projects_but_not_the_listed_part(demo, write):
    before = tokens(demo)
    assert {EVERYTHING, "projects", "projects.listed", "observations", "observations.values", "status_events",
            "programmes", "sources"} <= set(before), before
    with write() as ctx:
        update_project(ctx, "bakad", {"description": "A ring road around Almaty."}, version_of(demo, "bakad"))
    after = tokens(demo)
    assert changed(before, after) == {EVERYTHING, "projects"}, changed(before, after)
    assert after["projects.listed"] == before["projects.listed"]
    assert after["observations.values"] == before["observations.values"]


def test_a_title_edit_and_a_status_event_change_the_listed_part(demo, write):
    before = tokens(demo)
    with write() as ctx:
        update_project(ctx, "bakad", {"title": "BAKAD ring road"}, version_of(demo, "bakad"))
    middle = tokens(demo)
    assert changed(before, middle) == {EVERYTHING, "projects", "projects.listed"}
    with write() as ctx:
        add_status_event(ctx, StatusSpec("car-assembly-plant", "in_execution", "2020"))
    after = tokens(demo)
    assert {EVERYTHING, "status_events", "projects", "projects.listed"} <= changed(middle, after)
    assert "observations.values" not in changed(middle, after)


def test_an_observation_note_is_not_its_value(demo, write):
    o = first_observation(demo)
    before = tokens(demo)
    with write() as ctx:
        update_observation(ctx, o.id, {"note": "checked again"}, o.version)
    middle = tokens(demo)
    assert changed(before, middle) == {EVERYTHING, "observations"}
    with write() as ctx:
        update_observation(ctx, o.id, {"value": "2600000000"}, o.version + 1)
    after = tokens(demo)
    assert changed(middle, after) == {EVERYTHING, "observations", "observations.values"}


def test_one_token_per_commit_and_every_touched_aspect_gets_it(demo, write):
    before = tokens(demo)
    with write() as ctx:
        add_status_event(ctx, StatusSpec("car-assembly-plant", "in_execution", "2020"))
    after = tokens(demo)
    moved = changed(before, after)
    assert len({after[a] for a in moved}) == 1, "one commit gives its aspects one token"


def test_a_rolled_back_write_changes_nothing(demo, write):
    before = tokens(demo)
    with pytest.raises(Boom), write() as ctx:
        update_project(ctx, "bakad", {"title": "Never written"}, version_of(demo, "bakad"))
        add_status_event(ctx, StatusSpec("car-assembly-plant", "in_execution", "2020"))
        ctx.session.flush()
        raise Boom
    assert tokens(demo) == before
    with write() as ctx:  # the next transaction on the same connection does not inherit the forgotten aspects
        update_project(ctx, "bakad", {"description": "after the rollback"}, version_of(demo, "bakad"))
    assert changed(before, tokens(demo)) == {EVERYTHING, "projects"}


def test_a_read_transaction_changes_nothing(demo, read):
    before = tokens(demo)
    with read() as ctx:
        assert get_project(ctx, "bakad").title == "Big Almaty Ring Road (BAKAD)"
        assert len(list_observations(ctx)) == 4
    with demo.engine.begin() as conn:  # a Core transaction that only reads
        conn.exec_driver_sql("SELECT count(*) FROM projects").scalar()
    assert tokens(demo) == before


def test_users_and_tokens_change_the_access_aspect_alone(demo, write):
    before = tokens(demo)
    with write() as ctx:
        add_user(ctx, "vera", "viewer")
        create_token(ctx, "vera")
    after = tokens(demo)
    assert after.pop("access") != before.pop("access", before[ALL_ASPECTS])
    assert after == before  # every cached answer still holds


def test_mark_everything_changed_changes_every_aspect(demo):
    before = tokens(demo)
    mark_everything_changed(demo.engine)
    after = tokens(demo)
    assert set(after) >= set(before)
    unchanged = {a for a in before if after[a] == before[a]}
    assert unchanged == set(), f"aspects not changed by mark_everything_changed: {unchanged}"


# -- 3. through the API -------------------------------------------------------------------------


def get(client, url, expected):
    response = client.get(url)
    assert response.status_code == 200, (url, response.text)
    assert response.headers.get("x-cache") == expected, (url, response.headers.get("x-cache"), expected)
    return response


def statuses(overview):
    return {b["key"]: b["count"] for b in overview["by_status"]}


def headline(overview):
    return {r["key"]: r["count"] for r in overview["headline"]["rows"]}


def test_the_dashboard_stays_cached_through_a_description_edit_and_not_a_status_event(demo, write):
    with write() as ctx:
        add_user(ctx, "edna", "editor")
        token = create_token(ctx, "edna").token
    client = TestClient(create_app(demo, public_read=True))
    first = get(client, OVERVIEW, "miss")
    assert statuses(first.json()) == {"in_execution": 1, "pipeline": 1}
    assert get(client, OVERVIEW, "hit").content == first.content
    get(client, TARGETS, "miss")
    get(client, TARGETS, "hit")
    project = get(client, BAKAD, "miss")
    get(client, BAKAD, "hit")
    get(client, PROJECTS, "miss")

    # A description edit through the write API: the dashboards stay, the project is recomputed.
    editor = {"Authorization": f"Bearer {token}", "If-Match": project.headers["etag"]}
    edited = client.patch(BAKAD, json={"description": "A ring road around Almaty."}, headers=editor)
    assert edited.status_code == 200, edited.text
    again = get(client, OVERVIEW, "hit")
    assert again.content == first.content
    get(client, TARGETS, "hit")
    shown = get(client, BAKAD, "miss").json()
    assert shown["description"] == "A ring road around Almaty."
    assert shown["version"] == project.json()["version"] + 1
    get(client, PROJECTS, "miss")  # the list shows versions: it reads all of projects

    # A status event: every dashboard is recomputed with the new counts.
    with write() as ctx:
        add_status_event(ctx, StatusSpec("car-assembly-plant", "in_execution", "2020"))
    after = get(client, OVERVIEW, "miss").json()
    assert statuses(after) == {"in_execution": 2}
    assert headline(after)["in_execution"] == 2 and headline(after)["not_started"] == 0
    assert headline(first.json())["in_execution"] == 1 and headline(first.json())["not_started"] == 1
    assert after["timeline"][0]["project"] == "car-assembly-plant" and after["timeline"][0]["status"] == "in_execution"
    get(client, OVERVIEW, "hit")
    get(client, BAKAD, "miss")  # its history did not change, but status_events did: recomputed


def test_an_observation_note_leaves_the_dashboard_cached_and_its_value_does_not(demo, write):
    o = first_observation(demo)
    one = f"/api/v1/observations/{o.id}"
    client = TestClient(create_app(demo, public_read=True))
    first = get(client, OVERVIEW, "miss")
    get(client, one, "miss")
    get(client, one, "hit")
    get(client, "/api/v1/observations", "miss")
    with write() as ctx:
        update_observation(ctx, o.id, {"note": "checked again"}, o.version)
    assert get(client, OVERVIEW, "hit").content == first.content
    shown = get(client, one, "miss").json()
    assert (shown["note"], shown["version"]) == ("checked again", o.version + 1)
    listed = get(client, "/api/v1/observations", "miss").json()
    assert [i["note"] for i in listed["items"] if i["id"] == o.id] == ["checked again"]

    with write() as ctx:
        update_observation(ctx, o.id, {"value": "2600000000"}, o.version + 1)
    after = get(client, OVERVIEW, "miss").json()
    turnover = [p for s in after["series"] if s["indicator"] == "trade_turnover" for p in s["points"]]
    assert "2600000000" in [str(p["value"]) for p in turnover], turnover


def test_everything_misses_after_mark_everything_changed(demo):
    client = TestClient(create_app(demo, public_read=True))
    o = first_observation(demo)
    urls = [OVERVIEW, TARGETS, BAKAD, PROJECTS, "/api/v1/programmes", "/api/v1/programmes/fresh-wind",
            "/api/v1/observations", f"/api/v1/observations/{o.id}", "/api/v1/sources", "/api/v1/claims"]
    for url in urls:
        get(client, url, "miss")
        get(client, url, "hit")
    mark_everything_changed(demo.engine)
    for url in urls:
        get(client, url, "miss")


def test_mark_everything_changed_reaches_answers_of_aspects_never_written(store):
    """`cooptrack db changed` after an edit made outside cooptrack (psql) must throw away every cached
    answer, also one computed from tables cooptrack never wrote to (no data_changes row yet)."""
    client = TestClient(create_app(store, public_read=True))
    assert get(client, "/api/v1/programmes", "miss").json() == []
    get(client, "/api/v1/programmes", "hit")
    outside = make_engine(store.url)  # an engine without cooptrack's tracking: as psql would write
    try:
        with Session(outside) as session, session.begin():
            register_programme(Context(session, "psql"), ProgrammeSpec("uz-kr", "Uzbekistan-Korea", ["UZB", "KOR"]))
    finally:
        outside.dispose()
    mark_everything_changed(store.engine)
    after = client.get("/api/v1/programmes")
    assert after.headers["x-cache"] == "miss" and [p["code"] for p in after.json()] == ["uz-kr"], (
        "BUG (store/changes.py _commit / mark_everything_changed): `UPDATE data_changes SET changes = token` "
        "changes only aspects that already have a row; a cached answer whose aspects all have no row "
        f"(version '0.0...') stays valid after `cooptrack db changed`: got x-cache={after.headers['x-cache']!r}, "
        f"body {after.text}")


# -- 4. the shared cache (PostgreSQL) -----------------------------------------------------------


def test_a_second_worker_serves_the_first_workers_dashboard(demo, write):
    if demo.dialect != "postgresql":
        # SQLite shares nothing (a cache fill would take the one writer's lock): each worker computes
        one, two = (TestClient(create_app(demo, public_read=True)) for _ in range(2))
        assert not one.app.state.cache.shared.enabled
        assert get(two, OVERVIEW, "miss").content == get(one, OVERVIEW, "miss").content
        get(two, OVERVIEW, "hit")
        return
    one = TestClient(create_app(demo, public_read=True))
    two = TestClient(create_app(demo, public_read=True))
    first = get(one, OVERVIEW, "miss")
    shared = get(two, OVERVIEW, "shared")
    assert shared.content == first.content
    get(two, OVERVIEW, "hit")  # kept in the second worker's memory too
    get(one, OVERVIEW, "hit")
    # a project answer is not shared (only the dashboards are)
    get(one, BAKAD, "miss")
    get(two, BAKAD, "miss")
    with write() as ctx:
        add_status_event(ctx, StatusSpec("car-assembly-plant", "in_execution", "2020"))
    recomputed = get(one, OVERVIEW, "miss")
    assert statuses(recomputed.json()) == {"in_execution": 2}
    assert get(two, OVERVIEW, "shared").content == recomputed.content  # the first worker's new answer
    with write() as ctx:
        add_status_event(ctx, StatusSpec("bakad", "implemented", "2021"))
    assert get(two, OVERVIEW, "miss").json() != recomputed.json()
    assert statuses(get(one, OVERVIEW, "shared").json()) == {"in_execution": 1, "implemented": 1}


# -- 5. a project's sources survive an edit ------------------------------------------------------


@pytest.fixture
def sourced(store, write):
    with write() as ctx:
        add_source(ctx, SourceSpec("Project register", code="register", published="2020"))
        add_source(ctx, SourceSpec("Ministry press release", code="ministry", published="2021"))
        register_project(ctx, ProjectSpec("plant", "A plant", value="1000000", currency="USD", value_date="2021-01-01",
                                          source="register", value_source="ministry"))
        register_project(ctx, ProjectSpec("unvalued", "A plant without a value's source", value="5", currency="USD",
                                          source="register", value_source=None))
    return store


def sources_of(store, code):
    with store.read() as session:
        ctx = Context(session, "tester")
        project = get_project(ctx, code)
        names = {s.id: s.code for s in (get_source(ctx, "register"), get_source(ctx, "ministry"))}
        return names.get(project.source_id), names.get(project.value_source_id), project.version


def test_an_edit_keeps_the_record_source_and_the_value_source(sourced, write):
    assert sources_of(sourced, "plant")[:2] == ("register", "ministry")
    assert sources_of(sourced, "unvalued")[:2] == ("register", None)
    for code in ("plant", "unvalued"):
        expected = sources_of(sourced, code)
        with write() as ctx:
            _, outcome = update_project(ctx, code, {"description": "x"}, expected[2])
        assert outcome == "updated"
        assert sources_of(sourced, code) == (expected[0], expected[1], expected[2] + 1), (
            f"{code}: a description edit must keep source_id and value_source_id")


def test_a_new_source_is_the_values_source_too(sourced, write):
    version = sources_of(sourced, "plant")[2]
    with write() as ctx:
        update_project(ctx, "plant", {"source": "ministry"}, version)
    assert sources_of(sourced, "plant")[:2] == ("ministry", "ministry")
    with write() as ctx:
        update_project(ctx, "plant", {"source": "register"}, version + 1)
    assert sources_of(sourced, "plant")[:2] == ("register", "register")


def test_the_write_api_edit_keeps_both_sources(sourced, write):
    with write() as ctx:
        add_user(ctx, "edna", "editor")
        token = create_token(ctx, "edna").token
    client = TestClient(create_app(sourced, public_read=True))
    shown = client.get("/api/v1/projects/plant")
    assert shown.json()["source"]["id"] == "register" and shown.json()["value"]["source"]["id"] == "ministry"
    edited = client.patch("/api/v1/projects/plant", json={"description": "x"},
                          headers={"Authorization": f"Bearer {token}", "If-Match": shown.headers["etag"]})
    assert edited.status_code == 200, edited.text
    again = client.get("/api/v1/projects/plant").json()
    assert (again["description"], again["source"]["id"], again["value"]["source"]["id"]) == (
        "x", "register", "ministry")


# -- 6. `cooptrack db changed` ------------------------------------------------------------------


def test_db_changed_marks_everything_changed(cli, db_url, store, write):
    with write() as ctx:
        add_source(ctx, SourceSpec("Anything", code="anything"))
    before = tokens(store)
    assert EVERYTHING in before and "sources" in before
    result = cli("db", "changed")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "marked every part of the data changed" in result.stdout
    after = tokens(store)
    assert after[EVERYTHING] != before[EVERYTHING]
    assert after["sources"] != before["sources"]


# -- 7. backups ---------------------------------------------------------------------------------


def test_the_caches_bookkeeping_is_not_backed_up():
    assert {"data_changes", "response_cache"} <= NOT_BACKED_UP


# -- the models agree with the migration ---------------------------------------------------------


def test_the_tables_exist_on_the_migrated_database(store):
    names = set(store.table_names())
    assert {"data_changes", "response_cache"} <= names
    with store.engine.connect() as conn:
        columns = {r[0] for r in conn.exec_driver_sql("SELECT aspect, changes FROM data_changes").cursor.description}
    assert columns == {"aspect", "changes"}
