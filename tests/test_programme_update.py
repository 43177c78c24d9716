"""Editing a programme's parties and industries, on both databases: through the service and
`PATCH /api/v1/programmes/{code}` with If-Match; checked as on registration; a party or an
industry that other records rely on is refused with what relies on it; the audit event holds
them before and after; the dashboards and lists cached before the edit are recomputed after it."""

from __future__ import annotations

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from sqlalchemy import select

from cooptrack.errors import InvalidInput, StaleVersion
from cooptrack.services.context import Context
from cooptrack.services.editing import update_programme
from cooptrack.services.programmes import ProgrammeSpec, get_programme, register_programme
from cooptrack.services.projects import ProjectSpec, get_project, register_project
from cooptrack.services.targets import TargetSpec, define_target, get_target, update_target
from cooptrack.services.users import add_user, create_token
from cooptrack.store.changes import EVERYTHING, read_tokens
from cooptrack.store.models import AuditEvent, Industry, IndustrySector
from cooptrack.web import create_app

PROGRAMME = "/api/v1/programmes/fresh-wind"
OVERVIEW = "/api/v1/programmes/fresh-wind/overview"
PROJECTS = "/api/v1/projects?programme=fresh-wind"
DEMO_INDUSTRIES = ["Information and communication technologies", "Digitalisation", "Fourth Industrial Revolution",
                   "Transport and logistics centres", "Infrastructure", "Oil and gas", "Mining", "Construction",
                   "Tourism", "Health care", "Education"]


@pytest.fixture
def world(demo_db, write, prepare):
    """The demo, a viewer's and an editor's tokens; a client reading anonymously (a --public-read
    server: its answers are cached) and the editor's and the viewer's headers."""
    def users():
        tokens = {}
        with write() as ctx:
            for role in ("viewer", "editor"):
                add_user(ctx, f"{role}-user", role)
                tokens[role] = create_token(ctx, f"{role}-user").token
        return tokens

    tokens = prepare("demo, then a viewer and an editor with tokens (programme edits)", users)
    client = TestClient(create_app(demo_db, public_read=True))
    return client, {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}


def patch(client, headers, body, if_match):
    return client.patch(PROGRAMME, json=body, headers=headers | {"If-Match": if_match})


def findings(response):
    assert response.status_code == 422, response.text
    return [(f["code"], f["field"], f["value"], f["message"]) for f in response.json()["error"]["findings"]]


def programme_events(read):
    with read() as ctx:
        return list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.entity == "programme",
                                                                 AuditEvent.action == "update")
                                        .order_by(AuditEvent.id)))


def industries_of(store):
    """The demo programme's industries: (name, DAC codes, row id), in order."""
    with store.read() as session:
        programme = get_programme(Context(session, "tester"), "fresh-wind")
        return [(i.name, i.dac_codes, i.id) for i in programme.industries]


def industry_of(store, project):
    with store.read() as session:
        found = get_project(Context(session, "tester"), project)
        return found.industry.name if found.industry else None


def tokens(store):
    with store.engine.connect() as conn:
        return read_tokens(conn)


def changed(before, after):
    return {a for a in after if before.get(a) != after[a]}


# -- parties --------------------------------------------------------------------------------------


def test_parties_are_added_reordered_and_removed(world, demo_db, read):
    client, who = world
    shown = client.get(PROGRAMME)
    assert shown.headers["etag"] == '"1"' and shown.json()["parties"] == ["KAZ", "KOR"]
    before = tokens(demo_db)
    added = patch(client, who["editor"], {"parties": ["Republic of Korea", "KAZ", "Uzbekistan"]}, '"1"')
    assert added.status_code == 200, added.text
    assert added.json()["parties"] == ["KOR", "KAZ", "UZB"] and added.headers["etag"] == '"2"'
    assert added.json()["version"] == 2
    moved = changed(before, tokens(demo_db))
    assert {EVERYTHING, "programmes", "programme_parties"} <= moved and "projects.listed" not in moved, moved
    assert client.get(PROGRAMME).json()["parties"] == ["KOR", "KAZ", "UZB"]

    removed = patch(client, who["editor"], {"parties": ["KAZ", "KOR"]}, '"2"')
    assert removed.status_code == 200, removed.text
    assert removed.json()["parties"] == ["KAZ", "KOR"] and removed.headers["etag"] == '"3"'

    first, second = programme_events(read)
    assert (first.actor, first.request_id) == ("editor-user", added.headers["x-request-id"])
    assert (first.before["parties"], first.after["parties"]) == (["KAZ", "KOR"], ["KOR", "KAZ", "UZB"])
    assert first.before["version"] == 1 and first.after["version"] == 2
    assert first.before["industries"] == first.after["industries"]
    assert {"name": "Infrastructure", "dac_codes": ["21020", "21030"]} in first.after["industries"]
    assert (second.before["parties"], second.after["parties"]) == (["KOR", "KAZ", "UZB"], ["KAZ", "KOR"])


def test_the_same_parties_again_change_nothing(world, demo_db, read):
    client, who = world
    same = patch(client, who["editor"], {"parties": ["KAZ", "South Korea"]}, '"1"')
    assert same.status_code == 200, same.text
    assert same.headers["etag"] == '"1"' and programme_events(read) == []


@pytest.mark.parametrize("parties, expected", [
    (["KAZ"], [("too_few_parties", "parties", None, 'a programme needs at least two parties, e.g. KAZ and KOR')]),
    ([], [("too_few_parties", "parties", None, 'a programme needs at least two parties, e.g. KAZ and KOR')]),
    (["KAZ", "KOR", "Kazakhstan"], [("duplicate_party", "parties[2]", "Kazakhstan",
                                      "party 'Kazakhstan' is listed twice")]),
    (["KAZ", "KOR", "Atlantis"], [("unknown_country", "parties[2]", "Atlantis",
                                    "parties[2] 'Atlantis' is not a known country; use an ISO 3166 code (KAZ, KOR) "
                                    "or a name such as 'Kazakhstan' or 'South Korea'")]),
])
def test_invalid_parties_are_refused_as_on_registration(world, demo_db, parties, expected):
    client, who = world
    before = count_rows(demo_db)
    refused = patch(client, who["editor"], {"parties": parties}, '"1"')
    assert findings(refused) == expected
    assert count_rows(demo_db) == before
    assert client.get(PROGRAMME).json()["version"] == 1


def test_a_party_the_targets_and_commodities_name_stays(world, demo_db):
    client, who = world
    before = count_rows(demo_db)
    refused = patch(client, who["editor"], {"parties": ["KAZ", "UZB"]}, '"1"')
    assert findings(refused) == [(
        "party_in_use", "parties", "KOR",
        "party KOR cannot be removed: programme 'fresh-wind' names it as reporter or partner in target 1 and 8 "
        "commodities of its trade; keep KOR among the parties, or first give those targets another reporter "
        "and partner")]
    assert count_rows(demo_db) == before
    assert client.get(PROGRAMME).json()["parties"] == ["KAZ", "KOR"]


def test_a_party_freed_from_its_targets_can_go(store, write, read):
    """A programme without commodities: its targets alone tie a party; once they name another,
    the party can be removed."""
    with write() as ctx:
        register_programme(ctx, ProgrammeSpec("uz-kr", "Uzbekistan-Korea", ["UZB", "KOR", "KAZ"]))
        target = define_target(ctx, TargetSpec("uz-kr", "trade_turnover", "UZB", "2022", "USD", value="9000000000",
                                               partner="KOR"))
        other = define_target(ctx, TargetSpec("uz-kr", "enterprises", "KOR", "2022", "enterprise", value="300",
                                              partner="UZB"))
        ids = (target.id, other.id)
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        update_programme(ctx, "uz-kr", {"parties": ["UZB", "KAZ"]}, 1)
    assert [(f.code, f.field, f.value) for f in refused.value.findings] == [("party_in_use", "parties", "KOR")]
    assert refused.value.findings[0].message == (
        f"party KOR cannot be removed: programme 'uz-kr' names it as reporter or partner in targets {ids[0]}, "
        f"{ids[1]}; keep KOR among the parties, or first give those targets another reporter and partner")
    with write() as ctx:
        update_target(ctx, ids[0], {"partner": "KAZ"}, get_target(ctx, ids[0]).version)
        update_target(ctx, ids[1], {"reporter": "KAZ"}, get_target(ctx, ids[1]).version)
    with write() as ctx:
        programme = update_programme(ctx, "uz-kr", {"parties": ["UZB", "KAZ"]}, 1)
        assert [p.country for p in programme.parties] == ["UZB", "KAZ"] and programme.version == 2


# -- industries -----------------------------------------------------------------------------------


def test_industries_are_renamed_recoded_added_and_removed(world, demo_db, read):
    client, who = world
    rows = {name: row for name, _, row in industries_of(demo_db)}
    assert industry_of(demo_db, "bakad") == "Infrastructure"
    assert client.get(PROGRAMME).json()["industry_dac_codes"]["Infrastructure"] == ["21020", "21030"]
    before = tokens(demo_db)
    new = [{"name": "Roads and bridges", "renamed_from": "Infrastructure", "dac_codes": ["21020"]},
           {"name": "Tourism", "dac_codes": ["33210", "33120"]},
           {"name": "Green energy", "dac_codes": ["23210"]}]
    done = patch(client, who["editor"], {"industries": new}, '"1"')
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["industries"] == ["Roads and bridges", "Tourism", "Green energy"]
    assert body["industry_dac_codes"] == {"Roads and bridges": ["21020"], "Tourism": ["33120", "33210"],
                                          "Green energy": ["23210"]}
    assert body["version"] == 2 and done.headers["etag"] == '"2"'
    saved = industries_of(demo_db)
    assert saved[0] == ("Roads and bridges", ["21020"], rows["Infrastructure"])  # the same row: its projects stay
    assert saved[1] == ("Tourism", ["33120", "33210"], rows["Tourism"])
    assert saved[2][:2] == ("Green energy", ["23210"])
    assert saved[2][2] not in (rows["Infrastructure"], rows["Tourism"])  # a row of its own (SQLite may reuse an id)
    assert industry_of(demo_db, "bakad") == "Roads and bridges"
    with read() as ctx:  # the industries removed went with their sectors
        assert ctx.session.scalar(select(Industry.id).where(Industry.name == "Mining")) is None
        assert ({s for (s,) in ctx.session.execute(select(IndustrySector.industry_id))}
                == {row for _, _, row in saved})
    moved = changed(before, tokens(demo_db))
    assert {"programmes", "programme_industries", "programme_industry_sectors"} <= moved
    assert "projects.listed" not in moved and "programme_parties" not in moved, moved

    (event,) = programme_events(read)
    assert event.actor == "editor-user" and event.entity_id == "fresh-wind"
    assert [i["name"] for i in event.before["industries"]] == DEMO_INDUSTRIES
    assert event.after["industries"] == [{"name": "Roads and bridges", "dac_codes": ["21020"]},
                                         {"name": "Tourism", "dac_codes": ["33120", "33210"]},
                                         {"name": "Green energy", "dac_codes": ["23210"]}]
    assert event.before["parties"] == event.after["parties"] == ["KAZ", "KOR"]
    assert (event.before["version"], event.after["version"]) == (1, 2)


def test_an_industry_projects_are_filed_under_stays(world, demo_db):
    client, who = world
    before = count_rows(demo_db)
    keep = [{"name": n} for n in DEMO_INDUSTRIES if n != "Infrastructure"]
    refused = patch(client, who["editor"], {"industries": keep}, '"1"')
    assert findings(refused) == [(
        "industry_in_use", "industries", "Infrastructure",
        "industry 'Infrastructure' cannot be removed: 1 project is filed under it (bakad); file them under another "
        "industry first, or keep it (a rename keeps them: renamed_from in the API, --rename-industry on the command "
        "line)")]
    # a new name without renamed_from is another industry: the old one would go
    renamed = patch(client, who["editor"], {"industries": [{"name": "Roads", "dac_codes": ["21020"]}]}, '"1"')
    assert [(c, v) for c, _, v, _ in findings(renamed)] == [("industry_in_use", "Infrastructure")]
    assert count_rows(demo_db) == before and industry_of(demo_db, "bakad") == "Infrastructure"


def test_every_project_filed_under_an_industry_is_counted(store, write):
    with write() as ctx:
        register_programme(ctx, ProgrammeSpec("uz-kr", "Uzbekistan-Korea", ["UZB", "KOR"], industries=[]))
    with write() as ctx:
        update_programme(ctx, "uz-kr", {"industries": [{"name": "Roads", "dac_codes": ["21020"]}]}, 1)
        for i in range(7):
            register_project(ctx, ProjectSpec(f"road-{i}", f"Road {i}", programme="uz-kr", sectors={"21020": 100}))
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        update_programme(ctx, "uz-kr", {"industries": []}, 2)
    assert refused.value.findings[0].message == (
        "industry 'Roads' cannot be removed: 7 projects are filed under it (road-0, road-1, road-2, road-3, road-4 "
        "and 2 more); file them under another industry first, or keep it (a rename keeps them: renamed_from in the "
        "API, --rename-industry on the command line)")


@pytest.mark.parametrize("industries, expected", [
    ([{"name": "Roads", "dac_codes": ["99999"]}],
     [("unknown_sector", "industries[0].dac_codes", "99999",
       "industries[0].dac_codes '99999' is not a DAC 5-digit sector code; see `cooptrack codes sectors` "
       "(e.g. 21020 Road transport)")]),
    ([{"name": "Infrastructure"}, {"name": "Infrastructure"}],
     [("duplicate_industry", "industries[1].name", "Infrastructure", "industry 'Infrastructure' is listed twice")]),
    ([{"name": " "}], [("missing", "industries[0].name", None, "industries[0].name is required")]),
    ([{"name": "x" * 201}], [("too_long", "industries[0].name", "x" * 40, "industries[0].name is 201 characters; "
                                                                          "at most 200")]),
    ([*({"name": n} for n in DEMO_INDUSTRIES if n != "Mining"), {"name": "Roads", "renamed_from": "Highways"}],
     [("unknown_industry", "industries[10].renamed_from", "Highways",
       f"renamed_from 'Highways' is not one of programme 'fresh-wind' industries ({'; '.join(DEMO_INDUSTRIES)}); "
       "give the current name of the industry to rename")]),
    ([*({"name": n} for n in DEMO_INDUSTRIES), {"name": "Roads", "renamed_from": "Infrastructure"}],
     [("industry_twice", "industries[11]", "Infrastructure",
       "industries[4] and industries[11] both stand for the industry 'Infrastructure'; keep it once (renamed_from "
       "renames it; another name beside it adds a new industry)")]),
])
def test_invalid_industries_are_refused(world, demo_db, industries, expected):
    client, who = world
    before = count_rows(demo_db)
    assert findings(patch(client, who["editor"], {"industries": industries}, '"1"')) == expected
    assert count_rows(demo_db) == before
    assert [n for n, _, _ in industries_of(demo_db)] == DEMO_INDUSTRIES


def test_two_industries_swap_names_and_one_takes_a_removed_ones(world, demo_db):
    """Names are unique within a programme, row by row: a swap, and a rename into the name of an
    industry removed in the same edit, each go through."""
    client, who = world
    rows = {name: row for name, _, row in industries_of(demo_db)}
    swap = [{"name": "Oil and gas", "renamed_from": "Infrastructure", "dac_codes": ["32262"]},
            {"name": "Infrastructure", "renamed_from": "Oil and gas", "dac_codes": ["21020", "21030"]},
            {"name": "Tourism", "renamed_from": "Health care", "dac_codes": ["33210"]}]
    done = patch(client, who["editor"], {"industries": swap}, '"1"')
    assert done.status_code == 200, done.text
    assert industries_of(demo_db) == [("Oil and gas", ["32262"], rows["Infrastructure"]),
                                      ("Infrastructure", ["21020", "21030"], rows["Oil and gas"]),
                                      ("Tourism", ["33210"], rows["Health care"])]
    assert industry_of(demo_db, "bakad") == "Oil and gas"  # its row was renamed, it stays filed under it
    assert done.json()["version"] == 2


def test_parties_and_industries_in_one_edit_move_the_version_once(store, write, read):
    with write() as ctx:
        register_programme(ctx, ProgrammeSpec("uz-kr", "Uzbekistan-Korea", ["UZB", "KOR"]))
    with write() as ctx:
        programme = update_programme(ctx, "uz-kr", {
            "name": "Uzbekistan-Korea programme", "parties": ["UZB", "KOR", "KAZ"],
            "industries": [{"name": "Textiles", "dac_codes": ["32163"]}]}, 1)
        assert programme.version == 2
    with read() as ctx:
        (event,) = ctx.session.scalars(select(AuditEvent).where(AuditEvent.entity == "programme",
                                                                AuditEvent.action == "update")).all()
    assert (event.before["name"], event.after["name"]) == ("Uzbekistan-Korea", "Uzbekistan-Korea programme")
    assert (event.before["parties"], event.after["parties"]) == (["UZB", "KOR"], ["UZB", "KOR", "KAZ"])
    assert (event.before["industries"], event.after["industries"]) == (
        [], [{"name": "Textiles", "dac_codes": ["32163"]}])
    with pytest.raises(StaleVersion) as stale, write() as ctx:
        update_programme(ctx, "uz-kr", {"parties": ["UZB", "KAZ"]}, 1)
    assert stale.value.current["parties"] == ["UZB", "KOR", "KAZ"] and stale.value.current["version"] == 2


@pytest.mark.parametrize("body, field", [
    ({"parties": "KAZ, KOR"}, "parties"),
    ({"parties": None}, "parties"),
    ({"industries": None}, "industries"),
    ({"industries": [{"name": "Roads", "colour": "red"}]}, "industries.0.colour"),
])
def test_malformed_lists_are_422(world, demo_db, body, field):
    client, who = world
    refused = patch(client, who["editor"], body, '"1"')
    assert refused.status_code == 422, refused.text
    assert field in {f["field"] for f in refused.json()["error"]["findings"]}
    assert client.get(PROGRAMME).json()["version"] == 1


# -- no lost updates ------------------------------------------------------------------------------


def test_a_stale_edit_is_412_with_the_programme_as_it_is_now(world, demo_db, read):
    client, who = world
    first = patch(client, who["editor"], {"parties": ["KAZ", "KOR", "UZB"]}, '"1"')
    assert first.status_code == 200, first.text
    before = count_rows(demo_db)
    stale = patch(client, who["editor"], {"industries": [{"name": "Infrastructure"}]}, '"1"')
    assert stale.status_code == 412
    error = stale.json()["error"]
    assert error["code"] == "stale_version"
    assert error["message"].startswith("programme 'fresh-wind' is at version 2, the edit was based on version 1")
    assert error["current"]["parties"] == ["KAZ", "KOR", "UZB"] and error["current"]["version"] == 2
    assert error["current"]["industries"] == DEMO_INDUSTRIES
    assert count_rows(demo_db) == before and len(programme_events(read)) == 1

    missing = client.patch(PROGRAMME, json={"parties": ["KAZ", "KOR"]}, headers=who["editor"])
    assert missing.status_code == 428 and "If-Match" in missing.json()["error"]["message"]
    viewer = patch(client, who["viewer"], {"parties": ["KAZ", "KOR"]}, '"2"')
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden"
    anonymous = client.patch(PROGRAMME, json={"parties": ["KAZ", "KOR"]}, headers={"If-Match": '"2"'})
    assert anonymous.status_code == 401
    assert count_rows(demo_db) == before


# -- caches ---------------------------------------------------------------------------------------


def get(client, url, expected):
    response = client.get(url)
    assert response.status_code == 200, (url, response.text)
    assert response.headers.get("x-cache") == expected, (url, response.headers.get("x-cache"), expected)
    return response


def test_an_overview_cached_before_a_party_edit_is_recomputed_after_it(world):
    client, who = world
    first = get(client, OVERVIEW, "miss")
    assert [p["code"] for p in first.json()["programme"]["parties"]] == ["KAZ", "KOR"]
    assert get(client, OVERVIEW, "hit").content == first.content
    get(client, PROGRAMME, "miss")
    get(client, PROGRAMME, "hit")
    get(client, "/api/v1/programmes", "miss")
    get(client, "/api/v1/programmes", "hit")
    done = patch(client, who["editor"], {"parties": ["KOR", "KAZ", "UZB"]}, '"1"')
    assert done.status_code == 200, done.text
    after = get(client, OVERVIEW, "miss").json()
    assert [p["code"] for p in after["programme"]["parties"]] == ["KOR", "KAZ", "UZB"]
    assert get(client, PROGRAMME, "miss").json()["parties"] == ["KOR", "KAZ", "UZB"]
    listed = get(client, "/api/v1/programmes", "miss").json()
    assert [p["code"] for p in listed[0]["parties"]] == ["KOR", "KAZ", "UZB"]
    get(client, OVERVIEW, "hit")


def test_an_overview_cached_before_an_industry_edit_is_recomputed_after_it(world):
    client, who = world
    first = get(client, OVERVIEW, "miss").json()
    assert [i["name"] for i in first["programme"]["industries"]] == DEMO_INDUSTRIES
    assert {b["key"] for b in first["by_industry"]} == {"Infrastructure", "(no industry)"}
    get(client, OVERVIEW, "hit")
    projects = get(client, PROJECTS, "miss").json()
    assert {p["code"]: p["industry"] for p in projects["items"]}["bakad"] == "Infrastructure"
    get(client, "/api/v1/projects/bakad", "miss")

    # DAC codes alone: the programme's row (its version) and its industries' sectors
    recoded = [{"name": n, "dac_codes": ["21020"] if n == "Infrastructure" else []} for n in DEMO_INDUSTRIES]
    done = patch(client, who["editor"], {"industries": recoded}, '"1"')
    assert done.status_code == 200, done.text
    middle = get(client, OVERVIEW, "miss").json()
    codes = {i["name"]: [c["code"] for c in i["dac_codes"]] for i in middle["programme"]["industries"]}
    assert codes["Infrastructure"] == ["21020"] and codes["Mining"] == []
    get(client, OVERVIEW, "hit")

    renamed = [{"name": "Roads", "renamed_from": "Infrastructure", "dac_codes": ["21020"]}]
    done = patch(client, who["editor"], {"industries": renamed}, '"2"')
    assert done.status_code == 200, done.text
    after = get(client, OVERVIEW, "miss").json()
    assert [i["name"] for i in after["programme"]["industries"]] == ["Roads"]
    assert {b["key"]: b["count"] for b in after["by_industry"]} == {"Roads": 1, "(no industry)": 1}
    projects = get(client, PROJECTS, "miss").json()
    assert {p["code"]: p["industry"] for p in projects["items"]}["bakad"] == "Roads"
    assert get(client, "/api/v1/projects/bakad", "miss").json()["industry"] == "Roads"


# -- period ---------------------------------------------------------------------------------------


def registration_findings(write, start, end):
    """What registering a programme with this period is refused with."""
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        register_programme(ctx, ProgrammeSpec("other", "Other", ["KAZ", "KOR"], period_start=start, period_end=end))
    return [(f.code, f.field, f.value, f.message) for f in refused.value.findings]


@pytest.mark.parametrize("body, start, end", [
    ({"period_start": "2023"}, "2023", "2022"),  # the demo's period: 2019 to 2022; the end kept
    ({"period_end": "2018-H2"}, "2019", "2018-H2"),  # the start kept
    ({"period_start": "2024", "period_end": "2023-Q4"}, "2024", "2023-Q4"),
])
def test_a_period_ending_before_it_starts_is_refused_as_at_registration(world, demo_db, write, body, start, end):
    client, who = world
    before = count_rows(demo_db)
    refused = findings(patch(client, who["editor"], body, '"1"'))
    assert refused == registration_findings(write, start, end)
    assert [(c, f) for c, f, _, _ in refused] == [("end_before_start", "period end")]
    assert count_rows(demo_db) == before
    shown = client.get(PROGRAMME).json()
    assert (shown["period_start"], shown["period_end"], shown["version"]) == ("2019", "2022", 1)


def test_a_period_order_finding_names_both_dates(write, store):
    assert registration_findings(write, "2023", "2022") == [(
        "end_before_start", "period end", "2022-12-31",
        "period end 2022-12-31 is before period start 2023-01-01; swap them or fix the date")]
    with write() as ctx:
        register_programme(ctx, ProgrammeSpec("uz-kr", "Uzbekistan-Korea", ["UZB", "KOR"], period_start="2020",
                                              period_end="2021"))
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        update_programme(ctx, "uz-kr", {"period_end": "2019-12", "name": ""}, 1)
    assert [(f.code, f.field, f.message) for f in refused.value.findings] == [
        ("missing", "name", "name is required"),
        ("end_before_start", "period end", "period end 2019-12-31 is before period start 2020-01-01; swap them or "
                                           "fix the date")]


@pytest.mark.parametrize("body, expected", [
    ({"period_start": "2022-H2"}, ("2022-H2", "2022")),  # within the end's year
    ({"period_end": "2019-03"}, ("2019", "2019-03")),
    ({"period_start": "2023", "period_end": "2025"}, ("2023", "2025")),
    ({"period_start": "2030", "period_end": None}, ("2030", None)),  # no end: no order to check
    ({"period_end": "", "period_start": "2030"}, ("2030", None)),
])
def test_a_period_in_order_is_saved(world, demo_db, body, expected):
    client, who = world
    done = patch(client, who["editor"], body, '"1"')
    assert done.status_code == 200, done.text
    assert (done.json()["period_start"], done.json()["period_end"], done.json()["version"]) == (*expected, 2)


def test_an_invalid_side_is_refused_for_itself_alone(world, demo_db):
    client, who = world
    refused = findings(patch(client, who["editor"], {"period_start": "2023-13"}, '"1"'))
    assert [(c, f) for c, f, _, _ in refused] == [("bad_period", "period_start")]
