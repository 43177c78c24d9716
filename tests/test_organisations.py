"""The organisation register on both databases: listing organisations with their project counts
by role (searched by name, alias or IATI identifier, filtered by country and kind), showing one
with its participations, and correcting one through the service, `cooptrack organisation` and
`PATCH /api/v1/organisations/{id}` (If-Match, 412, 422 with findings, roles), with one audit
event per real change and nothing written by a refused one."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from organisation_support import (
    AKIMAT,
    BAD_COUNTRY,
    BAD_KIND,
    KEXIM,
    KOTRA,
    NOT_FOUND,
    ROADS,
    SAMRUK,
    register_organisations,
)
from sqlalchemy import select
from web_support import add_test_user

from cooptrack.errors import InvalidInput, NotFound, StaleVersion
from cooptrack.findings import Finding
from cooptrack.services.organisations import list_organisations, organisation_detail, update_organisation
from cooptrack.services.users import create_token
from cooptrack.store.changes import EVERYTHING, read_tokens
from cooptrack.store.models import AuditEvent, Organisation
from cooptrack.web import create_app

STALE = ("organisation '{id}' is at version 1, the edit was based on version 2; someone changed it meanwhile: "
         "compare with the current record and reapply")


@pytest.fixture
def orgs(demo_db, write, prepare):
    """The demo, then three projects naming four organisations (one of them registered first
    with its kind, IATI identifier and aliases) and one organisation in no project; a viewer's
    and an editor's tokens. Returns the organisations' numbers by name and the tokens."""

    def build():
        with write() as ctx:
            register_organisations(ctx)
            ids = {o.name: o.id for o in ctx.session.scalars(select(Organisation))}
            tokens = {}
            for role in ("viewer", "editor"):
                add_test_user(ctx, role, role)
                tokens[role] = create_token(ctx, role).token
        return {"ids": ids, "tokens": tokens}

    return prepare("demo, then projects with participants, an organisation in none, a viewer and an editor", build)


def row(ids, name, kind, country, iati_ref, aliases, projects, roles):
    return {"id": ids[name], "name": name, "country": country, "kind": kind, "iati_ref": iati_ref,
            "aliases": aliases, "projects": projects, "roles": roles, "version": 1}


def register(ids):
    """Every organisation as the list gives it, by name in any case."""
    return [
        row(ids, AKIMAT, "11", "KAZ", None, [], 1, {"accountable": 1}),
        row(ids, KEXIM, "10", "KOR", "XI-TEST-KEXIM", ["KEXIM", "Korea Eximbank"], 2, {"funding": 2}),
        row(ids, ROADS, None, "KAZ", None, [], 1, {"implementing": 1}),
        row(ids, KOTRA, "10", "KOR", None, ["KOTRA"], 0, {}),
        row(ids, SAMRUK, "70", "KAZ", None, [], 2, {"accountable": 1, "implementing": 2}),
    ]


def events(read, action="update"):
    with read() as ctx:
        return list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.entity == "organisation",
                                                                 AuditEvent.action == action)
                                        .order_by(AuditEvent.id)))


def stored(store, org_id):
    with store.read() as session:
        found = session.get(Organisation, org_id)
        session.expunge(found)
        return found


# -- the service ----------------------------------------------------------------------------------


def test_the_list_counts_projects_by_role_and_sorts_by_name_in_any_case(orgs, read):
    with read() as ctx:
        listed = list_organisations(ctx)
    assert listed == register(orgs["ids"])
    # roles in the order of the project roles (funding, accountable, extending, implementing...)
    assert list(listed[-1]["roles"]) == ["accountable", "implementing"]


@pytest.mark.parametrize("search, country, kind, names", [
    pytest.param("eximbank", None, None, [KEXIM], id="an-alias"),
    pytest.param("xi-test-kex", None, None, [KEXIM], id="the-iati-identifier"),
    pytest.param("kotra", None, None, [KOTRA], id="an-alias-in-another-case"),
    pytest.param("KOREA", None, None, [KEXIM, KOTRA], id="names"),
    pytest.param("  energy ", None, None, [SAMRUK], id="trimmed"),
    pytest.param("zhambyl", None, None, [AKIMAT], id="lower-case-name"),
    pytest.param("nobody", None, None, [], id="nothing"),
    pytest.param(None, "Kazakhstan", None, [AKIMAT, ROADS, SAMRUK], id="a-country-by-name"),
    pytest.param(None, "kor", "10", [KEXIM, KOTRA], id="country-and-kind"),
    pytest.param(None, None, "70", [SAMRUK], id="a-kind"),
    pytest.param("korea", "KAZ", None, [], id="search-and-country"),
    pytest.param("", "", "", [AKIMAT, KEXIM, ROADS, KOTRA, SAMRUK], id="blank-filters"),
])
def test_search_and_filters(orgs, read, search, country, kind, names):
    with read() as ctx:
        found = list_organisations(ctx, search, country, kind)
    expected = [r for r in register(orgs["ids"]) if r["name"] in names]
    assert [r["name"] for r in found] == names and found == expected


@pytest.mark.parametrize("country, kind, field, message", [
    pytest.param("Atlantis", None, "country", "country 'Atlantis' is not a country name or ISO code", id="country"),
    pytest.param(None, "99", "kind", BAD_KIND, id="kind"),
])
def test_an_unknown_filter_is_refused(orgs, read, country, kind, field, message):
    with pytest.raises(InvalidInput) as refused, read() as ctx:
        list_organisations(ctx, None, country, kind)
    assert refused.value.findings == [Finding("bad_parameter", message, field, country or kind)]


def test_the_detail_lists_each_participation(orgs, read):
    ids = orgs["ids"]
    with read() as ctx:
        detail = organisation_detail(ctx, ids[SAMRUK])
        kotra = organisation_detail(ctx, ids[KOTRA])
    created, updated = detail.pop("created_at"), detail.pop("updated_at")
    assert isinstance(created, datetime) and isinstance(updated, datetime)
    assert detail == {
        "id": ids[SAMRUK], "name": SAMRUK, "country": "KAZ", "kind": "70", "iati_ref": None, "aliases": [],
        "version": 1, "projects": 2, "participations": [
            {"project": "solar-park", "title": "Solar park near Shymkent", "programme": None, "role": "accountable"},
            {"project": "solar-park", "title": "Solar park near Shymkent", "programme": None, "role": "implementing"},
            {"project": "wind-farm", "title": "Zhanatas wind farm", "programme": "fresh-wind",
             "role": "implementing"}]}
    assert (kotra["projects"], kotra["participations"], kotra["aliases"]) == (0, [], ["KOTRA"])
    with pytest.raises(NotFound) as missing, read() as ctx:
        organisation_detail(ctx, 999)
    assert missing.value.message == NOT_FOUND


def test_an_edit_moves_the_version_once_and_records_one_event(orgs, store, write, read):
    org_id = orgs["ids"][ROADS]
    with write("editor-x") as ctx:
        org = update_organisation(ctx, org_id, {"name": " KazAvtoZhol ", "country": "Kyrgyzstan", "kind": " 15 ",
                                                "iati_ref": " XI-TEST-KAZAVTOZHOL ",
                                                "aliases": ["Kazakhavtodor", " KAZ Roads ", "", "Kazakhavtodor"]},
                                  1)
        assert org.version == 2
    saved = stored(store, org_id)
    assert (saved.name, saved.country, saved.kind, saved.iati_ref, saved.aliases, saved.version) == (
        "KazAvtoZhol", "KGZ", "15", "XI-TEST-KAZAVTOZHOL", ["Kazakhavtodor", "KAZ Roads"], 2)
    (event,) = events(read)
    assert (event.actor, event.entity_id) == ("editor-x", str(org_id))
    changed = {k for k in event.after if event.before.get(k) != event.after[k]}
    assert changed == {"name", "country", "kind", "iati_ref", "aliases", "version", "updated_at"}
    assert {k: event.before[k] for k in ("name", "country", "kind", "iati_ref", "aliases", "version")} == {
        "name": ROADS, "country": "KAZ", "kind": None, "iati_ref": None, "aliases": [], "version": 1}
    assert {k: event.after[k] for k in ("name", "country", "kind", "iati_ref", "aliases", "version")} == {
        "name": "KazAvtoZhol", "country": "KGZ", "kind": "15", "iati_ref": "XI-TEST-KAZAVTOZHOL",
        "aliases": ["Kazakhavtodor", "KAZ Roads"], "version": 2}
    # its projects follow it, under its number
    with read() as ctx:
        assert [p["project"] for p in organisation_detail(ctx, org_id)["participations"]] == ["road-study"]


def test_the_same_values_change_nothing(orgs, store, write, read):
    org_id = orgs["ids"][KEXIM]
    before = count_rows(store)
    with write() as ctx:
        org = update_organisation(ctx, org_id, {"name": f" {KEXIM} ", "country": "South Korea", "kind": "10",
                                                "iati_ref": "XI-TEST-KEXIM", "aliases": ["KEXIM", "Korea Eximbank"]},
                                  1)
        assert org.version == 1
    assert count_rows(store) == before and events(read) == [] and stored(store, org_id).version == 1
    with write() as ctx:
        assert update_organisation(ctx, org_id, {}, 1).version == 1
    assert count_rows(store) == before


def test_blank_values_clear_the_optional_fields(orgs, store, write, read):
    org_id = orgs["ids"][KEXIM]
    with write() as ctx:
        update_organisation(ctx, org_id, {"country": " ", "kind": "", "iati_ref": None, "aliases": None}, 1)
    saved = stored(store, org_id)
    assert (saved.name, saved.country, saved.kind, saved.iati_ref, saved.aliases, saved.version) == (
        KEXIM, None, None, None, [], 2)
    assert len(events(read)) == 1


def findings_of(exc):
    return [(f.code, f.field, f.value, f.message) for f in exc.findings]


def test_the_service_refuses_every_bad_value_at_once_and_writes_nothing(orgs, store, write, read):
    ids = orgs["ids"]
    before = count_rows(store)
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        update_organisation(ctx, ids[ROADS], {"name": "  ", "country": "Atlantis", "kind": "99", "iati_ref": "r" * 101,
                                              "aliases": ["ok", "a" * 301]}, 1)
    assert findings_of(refused.value) == [
        ("missing", "name", None, "name is required"),
        ("unknown_country", "country", "Atlantis", BAD_COUNTRY),
        ("unknown_kind", "kind", "99", BAD_KIND),
        ("too_long", "iati_ref", "r" * 40, "iati_ref is 101 characters; at most 100"),
        ("too_long", "aliases[1]", "a" * 40, "aliases[1] is 301 characters; at most 300")]
    with pytest.raises(InvalidInput) as unknown, write() as ctx:
        update_organisation(ctx, ids[ROADS], {"projects": 3, "id": 7, "name": "X"}, 1)
    editable = "editable: name, country, kind, iati_ref, aliases"
    assert findings_of(unknown.value) == [
        ("unknown_field", "id", None, f"an organisation has no editable field 'id'; {editable}"),
        ("unknown_field", "projects", None, f"an organisation has no editable field 'projects'; {editable}")]
    with pytest.raises(InvalidInput) as shape, write() as ctx:
        update_organisation(ctx, ids[ROADS], {"aliases": "KAZ Roads"}, 1)
    assert findings_of(shape.value) == [("bad_aliases", "aliases", None, "aliases must be a list of names")]
    with pytest.raises(StaleVersion) as stale, write() as ctx:
        update_organisation(ctx, ids[ROADS], {"kind": "10"}, 2)
    assert stale.value.message == STALE.format(id=ids[ROADS])
    assert stale.value.current is not None and stale.value.current["name"] == ROADS
    with pytest.raises(NotFound) as missing, write() as ctx:
        update_organisation(ctx, 999, {"kind": "10"}, 1)
    assert missing.value.message == NOT_FOUND
    assert count_rows(store) == before and events(read) == [] and stored(store, ids[ROADS]).version == 1


def test_a_name_or_identifier_of_another_organisation_is_refused_naming_it(orgs, store, write, read):
    ids = orgs["ids"]
    before = count_rows(store)
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        update_organisation(ctx, ids[ROADS], {"name": f" {SAMRUK}", "iati_ref": "XI-TEST-KEXIM"}, 1)
    assert findings_of(refused.value) == [
        ("name_taken", "name", SAMRUK, f"name '{SAMRUK}' is organisation {ids[SAMRUK]}'s already; choose another name"),
        ("iati_ref_taken", "iati_ref", "XI-TEST-KEXIM",
         f"IATI identifier 'XI-TEST-KEXIM' is organisation {ids[KEXIM]}'s already ({KEXIM}); choose another, or "
         "clear it there first")]
    assert count_rows(store) == before and events(read) == []
    # a name differing only in case is another name (as when a project names a participant)
    with write() as ctx:
        assert update_organisation(ctx, ids[ROADS], {"name": SAMRUK.upper()}, 1).name == "SAMRUK-ENERGY"


def test_a_taken_name_and_a_bad_value_are_reported_together(orgs, store, write):
    """The findings that need the database come with the others, not after they are fixed."""
    ids = orgs["ids"]
    before = count_rows(store)
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        update_organisation(ctx, ids[ROADS], {"name": SAMRUK, "country": "Atlantis"}, 1)
    assert findings_of(refused.value) == [
        ("unknown_country", "country", "Atlantis", BAD_COUNTRY),
        ("name_taken", "name", SAMRUK, f"name '{SAMRUK}' is organisation {ids[SAMRUK]}'s already; choose another name")]
    assert count_rows(store) == before


def test_a_name_taken_meanwhile_by_another_writer_is_refused_as_a_finding(orgs, store, write):
    """Two writers give two organisations the same name at once: the second is refused with the
    finding the check gives, never with the database's unique constraint (on PostgreSQL it waits
    for the first at the unique index; on SQLite, for the writer's lock)."""
    ids = orgs["ids"]
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            with write() as ctx:
                update_organisation(ctx, ids[ROADS], {"name": "Zhambyl Roads"}, 1)
        except Exception as exc:  # noqa: BLE001 - whatever it is, the test reports it
            outcome["error"] = exc

    thread = threading.Thread(target=second)
    with write() as ctx:
        update_organisation(ctx, ids[AKIMAT], {"name": "Zhambyl Roads"}, 1)
        ctx.session.flush()
        thread.start()
        thread.join(1.0)
        assert thread.is_alive()  # waiting for the first writer
    thread.join(30)
    error = outcome.get("error")
    assert isinstance(error, InvalidInput), error
    assert error.findings == [Finding("name_taken", f"name 'Zhambyl Roads' is organisation {ids[AKIMAT]}'s already; "
                                      "choose another name", "name", "Zhambyl Roads")]
    assert (stored(store, ids[AKIMAT]).name, stored(store, ids[ROADS]).name) == ("Zhambyl Roads", ROADS)


# -- the command line ---------------------------------------------------------------------------


def cli_json(cli, *args):
    result = cli(*args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_cli_list_and_show(orgs, cli, read):
    ids = orgs["ids"]
    assert cli_json(cli, "organisation", "list") == register(ids)
    assert cli_json(cli, "organisation", "list", "--search", "EXIM", "--country", "South Korea", "--kind", "10") == [
        r for r in register(ids) if r["name"] == KEXIM]
    table = cli("organisation", "list", "--country", "KAZ")
    assert table.exit_code == 0 and "Organisations (3)" in table.stdout
    lines = [line for line in table.stdout.splitlines() if SAMRUK in line]
    assert len(lines) == 1 and "70 Private Sector" in lines[0] and "accountable 1, implementing 2" in lines[0]
    with read() as ctx:
        detail = organisation_detail(ctx, ids[KEXIM])
    shown = cli_json(cli, "organisation", "show", str(ids[KEXIM]))
    assert shown == detail | {"created_at": detail["created_at"].isoformat(),
                              "updated_at": detail["updated_at"].isoformat()}
    assert [(p["project"], p["role"]) for p in shown["participations"]] == [("solar-park", "funding"),
                                                                          ("wind-farm", "funding")]
    text = cli("organisation", "show", str(ids[KEXIM]))
    assert text.exit_code == 0
    out = text.stdout.splitlines()
    assert out[:5] == [f"{KEXIM} (organisation {ids[KEXIM]}, version 1)", "country: KOR", "kind: 10 Government",
                       "IATI identifier: XI-TEST-KEXIM", "aliases: KEXIM; Korea Eximbank"]
    assert any("wind-farm" in line and "fresh-wind" in line and "funding" in line for line in out)
    alone = cli("organisation", "show", str(ids[KOTRA]))
    assert alone.exit_code == 0 and alone.stdout.splitlines()[-1] == "takes part in no project"


@pytest.mark.parametrize("args, message", [
    pytest.param(("show", "999"), NOT_FOUND, id="show-unknown"),
    pytest.param(("list", "--country", "Atlantis"), "country 'Atlantis' is not a country name or ISO code",
                 id="list-country"),
    pytest.param(("list", "--kind", "99"), BAD_KIND, id="list-kind"),
])
def test_cli_reading_refusals(orgs, cli, args, message):
    result = cli("organisation", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"error: {message}\n")


@pytest.mark.parametrize("args, field, before, after", [
    pytest.param(("--name", "  KazAvtoZhol "), "name", ROADS, "KazAvtoZhol", id="name"),
    pytest.param(("--country", "Kyrgyzstan"), "country", "KAZ", "KGZ", id="country"),
    pytest.param(("--kind", "15"), "kind", None, "15", id="kind"),
    pytest.param(("--iati-ref", " XI-TEST-KAZAVTOZHOL "), "iati_ref", None, "XI-TEST-KAZAVTOZHOL", id="iati-ref"),
    pytest.param(("--alias", "Kazakhavtodor", "--alias", " KAZ Roads ", "--alias", "", "--alias", "Kazakhavtodor"),
                 "aliases", [], ["Kazakhavtodor", "KAZ Roads"], id="aliases"),
])
def test_cli_edit_each_field(orgs, cli, read, args, field, before, after):
    org_id = orgs["ids"][ROADS]
    result = cli("organisation", "edit", str(org_id), *args)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"✓ organisation {org_id} edited: {field} (version 2)\n"
    shown = cli_json(cli, "organisation", "show", str(org_id))
    assert (shown[field], shown["version"]) == (after, 2)
    (event,) = events(read)
    assert (event.actor, event.entity_id, event.before[field], event.after[field]) == (
        "tester", str(org_id), before, after)
    assert {k for k in event.after if event.before[k] != event.after[k]} == {field, "version", "updated_at"}


def test_cli_edit_several_fields_clears_blank_ones_and_prints_json(orgs, cli, read):
    org_id = orgs["ids"][KEXIM]
    shown = cli_json(cli, "organisation", "edit", str(org_id), "--name", "Korea Eximbank", "--country", "",
                     "--kind", "", "--iati-ref", "", "--alias", "", "--if-version", "1")
    assert shown == cli_json(cli, "organisation", "show", str(org_id))
    assert (shown["name"], shown["country"], shown["kind"], shown["iati_ref"], shown["aliases"], shown["version"]) == (
        "Korea Eximbank", None, None, None, [], 2)
    assert len(events(read)) == 1
    same = cli("organisation", "edit", str(org_id), "--name", "Korea Eximbank", "--alias", "")
    assert (same.exit_code, same.stdout) == (0, f"✓ organisation {org_id} unchanged: it already reads so (version 2)\n")
    assert len(events(read)) == 1


@pytest.mark.parametrize("who, args, message", [
    pytest.param(None, ("999", "--kind", "10"), NOT_FOUND, id="unknown-id"),
    pytest.param(ROADS, ("--country", "Atlantis"), BAD_COUNTRY, id="unknown-country"),
    pytest.param(ROADS, ("--kind", "99"), BAD_KIND, id="unknown-kind"),
    pytest.param(ROADS, ("--name", "   "), "name is required", id="blank-name"),
    pytest.param(ROADS, ("--name", "n" * 301), "name is 301 characters; at most 300", id="long-name"),
    pytest.param(ROADS, ("--name", SAMRUK), "name 'Samruk-Energy' is organisation {samruk}'s already; choose another "
                 "name", id="name-taken"),
    pytest.param(ROADS, ("--iati-ref", "XI-TEST-KEXIM"), "IATI identifier 'XI-TEST-KEXIM' is organisation {kexim}'s "
                 f"already ({KEXIM}); choose another, or clear it there first", id="iati-ref-taken"),
    pytest.param(ROADS, ("--iati-ref", "r" * 101), "iati_ref is 101 characters; at most 100", id="long-iati-ref"),
    pytest.param(ROADS, ("--alias", "KEXIM"), "alias 'KEXIM' is an alias of organisation {kexim} (" + KEXIM + ") "
                 "already; take it off there first, or merge the two organisations (`cooptrack organisation merge`)",
                 id="alias-taken"),
    pytest.param(ROADS, ("--alias", SAMRUK), "alias 'Samruk-Energy' is organisation {samruk}'s name; a project naming "
                 "it takes part as that one: merge the two organisations instead (`cooptrack organisation merge`)",
                 id="alias-is-a-name"),
    pytest.param(ROADS, ("--name", "Korea Eximbank"), "name 'Korea Eximbank' is an alias of organisation {kexim} ("
                 + KEXIM + "); take it off there first, or merge the two organisations (`cooptrack organisation "
                 "merge`)", id="name-is-an-alias"),
    pytest.param(ROADS, ("--kind", "10", "--if-version", "2"), STALE.replace("{id}", "{roads}"), id="stale"),
    pytest.param(ROADS, ("--name", "", "--country", "Atlantis", "--kind", "99"),
                 f"3 problems; nothing was written\n  - name: name is required\n  - country: {BAD_COUNTRY}\n"
                 f"  - kind: {BAD_KIND}", id="every-finding"),
])
def test_cli_edit_refusals_write_nothing(orgs, cli, store, read, who, args, message):
    ids = orgs["ids"]
    before = count_rows(store)
    target = str(ids[who]) if who else args[0]
    result = cli("organisation", "edit", target, *(args if who else args[1:]))
    expected = message.format(samruk=ids[SAMRUK], kexim=ids[KEXIM], roads=ids[ROADS])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"error: {expected}\n")
    assert count_rows(store) == before and events(read) == []
    assert stored(store, ids[ROADS]).version == 1 and stored(store, ids[ROADS]).name == ROADS


# -- the API --------------------------------------------------------------------------------------


@pytest.fixture
def api(orgs, demo_db):
    """A client of a server without --public-read, and each role's headers."""
    client = TestClient(create_app(demo_db, public_read=False))
    return client, {r: {"Authorization": f"Bearer {t}"} for r, t in orgs["tokens"].items()}


def url(org_id):
    return f"/api/v1/organisations/{org_id}"


def error_of(response, status):
    assert response.status_code == status, response.text
    return response.json()["error"]


def api_findings(response):
    return [(f["code"], f["field"], f["message"]) for f in error_of(response, 422)["findings"]]


def test_api_list_search_filters_and_refusals(orgs, api):
    client, who = api
    ids = orgs["ids"]
    listed = client.get("/api/v1/organisations", headers=who["viewer"])
    assert listed.status_code == 200 and listed.json() == register(ids)
    found = client.get("/api/v1/organisations", params={"search": "korea", "country": "KOR", "kind": "10"},
                       headers=who["viewer"])
    assert [r["name"] for r in found.json()] == [KEXIM, KOTRA]
    bad = error_of(client.get("/api/v1/organisations", params={"kind": "99"}, headers=who["viewer"]), 400)
    assert (bad["code"], bad["parameter"], bad["message"]) == ("bad_parameter", "kind", BAD_KIND)
    bad = error_of(client.get("/api/v1/organisations", params={"country": "Atlantis"}, headers=who["viewer"]), 400)
    assert (bad["parameter"], bad["message"]) == ("country", "country 'Atlantis' is not a country name or ISO code")
    assert error_of(client.get("/api/v1/organisations"), 401)["code"] == "not_authenticated"


def test_api_get_one_with_its_etag(orgs, api, read):
    client, who = api
    ids = orgs["ids"]
    shown = client.get(url(ids[SAMRUK]), headers=who["viewer"])
    assert shown.status_code == 200 and shown.headers["etag"] == '"1"'
    with read() as ctx:
        detail = organisation_detail(ctx, ids[SAMRUK])
    body = shown.json()
    assert body == detail | {"created_at": detail["created_at"].isoformat(),
                             "updated_at": detail["updated_at"].isoformat()}
    missing = error_of(client.get(url(999), headers=who["viewer"]), 404)
    assert (missing["code"], missing["message"]) == ("not_found", NOT_FOUND)
    assert error_of(client.get(url("exim"), headers=who["viewer"]), 400)["parameter"] == "organisation_id"


def test_api_patch_corrects_and_answers_the_new_etag(orgs, api, store, read):
    client, who = api
    org_id = orgs["ids"][ROADS]
    with store.engine.connect() as conn:
        tokens_before = read_tokens(conn)
    cached = client.get("/api/v1/projects/road-study", headers=who["viewer"])
    assert client.get("/api/v1/projects/road-study", headers=who["viewer"]).headers["x-cache"] == "hit"
    assert [p["name"] for p in cached.json()["participants"]] == [ROADS, AKIMAT]
    done = client.patch(url(org_id), json={"name": "KazAvtoZhol", "country": "KGZ", "kind": "15",
                                           "iati_ref": "XI-TEST-KAZAVTOZHOL", "aliases": ["Kazakhavtodor"]},
                        headers=who["editor"] | {"If-Match": '"1"'})
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == '"2"' and done.json() == client.get(url(org_id), headers=who["viewer"]).json()
    body = done.json()
    assert (body["name"], body["country"], body["kind"], body["iati_ref"], body["aliases"], body["version"]) == (
        "KazAvtoZhol", "KGZ", "15", "XI-TEST-KAZAVTOZHOL", ["Kazakhavtodor"], 2)
    (event,) = events(read)
    assert (event.actor, event.request_id, event.before["name"], event.after["name"]) == (
        "editor", done.headers["x-request-id"], ROADS, "KazAvtoZhol")
    with store.engine.connect() as conn:
        tokens_after = read_tokens(conn)
    assert {a for a in tokens_after if tokens_after[a] != tokens_before.get(a)} == {EVERYTHING, "organisations"}
    # the project's cached answer, which names the organisation, is computed again
    again = client.get("/api/v1/projects/road-study", headers=who["viewer"])
    assert again.headers["x-cache"] == "miss"
    assert [(p["name"], p["country"]) for p in again.json()["participants"]] == [("KazAvtoZhol", "KGZ"),
                                                                                  (AKIMAT, "KAZ")]
    same = client.patch(url(org_id), json={"kind": "15"}, headers=who["editor"] | {"If-Match": '"2"'})
    assert same.status_code == 200 and same.headers["etag"] == '"2"' and len(events(read)) == 1


@pytest.mark.parametrize("body, expected", [
    pytest.param({"country": "Atlantis"}, [("unknown_country", "country", BAD_COUNTRY)], id="unknown-country"),
    pytest.param({"kind": "99"}, [("unknown_kind", "kind", BAD_KIND)], id="unknown-kind"),
    pytest.param({"name": " "}, [("missing", "name", "name is required")], id="blank-name"),
    pytest.param({"name": None}, [("missing", "name", "name is required")], id="null-name"),
    pytest.param({"name": SAMRUK}, [("name_taken", "name", "name 'Samruk-Energy' is organisation {samruk}'s already; "
                                     "choose another name")], id="name-taken"),
    pytest.param({"iati_ref": "XI-TEST-KEXIM"}, [("iati_ref_taken", "iati_ref", "IATI identifier 'XI-TEST-KEXIM' is "
                                                  f"organisation {{kexim}}'s already ({KEXIM}); choose another, or "
                                                  "clear it there first")], id="iati-ref-taken"),
    pytest.param({"projects": 3}, [("invalid", "projects", "projects: Extra inputs are not permitted")],
                 id="unknown-field"),
    pytest.param({"aliases": "KEXIM"}, [("invalid", "aliases", "aliases: Input should be a valid list")],
                 id="aliases-not-a-list"),
])
def test_api_patch_refusals_write_nothing(orgs, api, store, read, body, expected):
    client, who = api
    ids = orgs["ids"]
    before = count_rows(store)
    refused = client.patch(url(ids[ROADS]), json=body, headers=who["editor"] | {"If-Match": '"1"'})
    assert api_findings(refused) == [(c, f, m.format(samruk=ids[SAMRUK], kexim=ids[KEXIM])) for c, f, m in expected]
    assert count_rows(store) == before and events(read) == [] and stored(store, ids[ROADS]).name == ROADS


def test_api_patch_refuses_an_alias_or_name_another_organisation_holds(orgs, api, store, read):
    """A project naming it would be matched to that other organisation (names, then aliases)."""
    client, who = api
    ids = orgs["ids"]
    before = count_rows(store)
    refused = client.patch(url(ids[ROADS]), json={"name": "Korea Eximbank", "aliases": ["Zhambyl roads", "KOTRA",
                                                                                         SAMRUK]},
                           headers=who["editor"] | {"If-Match": '"1"'})
    merge = "`cooptrack organisation merge`"
    assert api_findings(refused) == [
        ("name_taken", "name", f"name 'Korea Eximbank' is an alias of organisation {ids[KEXIM]} ({KEXIM}); take it "
         f"off there first, or merge the two organisations ({merge})"),
        ("alias_taken", "aliases", f"alias 'KOTRA' is an alias of organisation {ids[KOTRA]} ({KOTRA}) already; take "
         f"it off there first, or merge the two organisations ({merge})"),
        ("alias_taken", "aliases", f"alias '{SAMRUK}' is organisation {ids[SAMRUK]}'s name; a project naming it takes "
         f"part as that one: merge the two organisations instead ({merge})")]
    assert count_rows(store) == before and events(read) == [] and stored(store, ids[ROADS]).aliases == []


def test_api_patch_needs_a_current_if_match_and_an_editor(orgs, api, store, read):
    client, who = api
    ids = orgs["ids"]
    before = count_rows(store)
    target = url(ids[ROADS])
    stale = error_of(client.patch(target, json={"kind": "10"}, headers=who["editor"] | {"If-Match": '"2"'}), 412)
    assert (stale["code"], stale["message"]) == ("stale_version", STALE.format(id=ids[ROADS]))
    current = stale["current"]
    assert {k: current[k] for k in ("id", "name", "country", "kind", "iati_ref", "aliases", "version")} == {
        "id": ids[ROADS], "name": ROADS, "country": "KAZ", "kind": None, "iati_ref": None, "aliases": [],
        "version": 1}
    missing = error_of(client.patch(target, json={"kind": "10"}, headers=who["editor"]), 428)
    assert missing["code"] == "precondition_required" and "If-Match" in missing["message"]
    garbage = error_of(client.patch(target, json={"kind": "10"}, headers=who["editor"] | {"If-Match": "latest"}), 400)
    assert garbage["parameter"] == "If-Match"
    viewer = error_of(client.patch(target, json={"kind": "10"}, headers=who["viewer"] | {"If-Match": '"1"'}), 403)
    assert viewer["code"] == "forbidden"
    anonymous = client.patch(target, json={"kind": "10"}, headers={"If-Match": '"1"'})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    unknown = error_of(client.patch(url(999), json={"kind": "10"}, headers=who["editor"] | {"If-Match": '"1"'}), 404)
    assert unknown["message"] == NOT_FOUND
    assert count_rows(store) == before and events(read) == [] and stored(store, ids[ROADS]).version == 1


def test_openapi_documents_the_organisation_routes(api):
    client, _who = api
    spec = client.get("/api/v1/openapi.json").json()
    listed = spec["paths"]["/api/v1/organisations"]["get"]
    assert listed["summary"] == "Organisations taking part in projects, with their project counts by role"
    assert {p["name"] for p in listed["parameters"]} == {"search", "country", "kind"}
    one = spec["paths"]["/api/v1/organisations/{organisation_id}"]
    assert one["get"]["summary"] == "An organisation with the projects it takes part in (with its ETag)"
    assert one["patch"]["summary"] == "Correct an organisation (If-Match required)"
    assert {"200", "400", "401", "403", "404", "412", "422", "428"} <= set(one["patch"]["responses"])
    assert {"200", "400", "401", "403", "404"} <= set(one["get"]["responses"])
    assert {"OrganisationRow", "OrganisationOut", "ParticipationOut"} <= set(spec["components"]["schemas"])


@pytest.mark.parametrize("args", [(), ("--json",), ("--if-version", "1")], ids=["bare", "json", "if-version"])
def test_cli_edit_without_a_change_is_a_usage_error(orgs, cli, store, read, args):
    """As every edit command: exit code 2, the options named, nothing written."""
    roads = orgs["ids"][ROADS]
    before = count_rows(store)
    result = cli("organisation", "edit", str(roads), *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert "Error nothing to edit: give at least one of --name, --country, --kind, --iati-ref or --alias" in \
        " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split())
    assert count_rows(store) == before and events(read) == []
