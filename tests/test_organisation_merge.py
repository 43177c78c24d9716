"""Merging two records of one organisation ("KEPCO" and "Korea Electric Power Corporation") on
both databases, through the service, `cooptrack organisation merge` and
`POST /api/v1/organisations/{id}/merge`: participations moved (a role the kept one has in that
project already collapsed into one row), aliases gathered, missing fields filled, conflicting
ones refused unless a side is preferred, the other deleted, two audit events, the versions of
the kept organisation and of the projects concerned moved once, stale versions refused and
nothing written by a refusal. Then a participant named by an alias: the aliased organisation,
by hand, from the command line, by spreadsheet and by IATI import (the bulk paths write what
one project at a time writes), and aliases that would make that ambiguous refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_iati_roundtrip import snapshot
from test_tabular import write_csv
from test_tabular_bulk import _state
from web_support import add_test_user

from cooptrack.errors import InvalidInput, NotFound, StaleVersion
from cooptrack.formats.tabular import read_sheet
from cooptrack.services.context import Context
from cooptrack.services.editing import update_project
from cooptrack.services.iati import ImportOptions, import_iati
from cooptrack.services.organisations import merge_organisations, organisation_detail, update_organisation
from cooptrack.services.projects import ParticipantSpec, ProjectSpec, register_project
from cooptrack.services.tabular import import_projects
from cooptrack.services.users import create_token
from cooptrack.store import Store
from cooptrack.store.changes import EVERYTHING, read_tokens
from cooptrack.store.models import AuditEvent, Organisation, Participant, Project
from cooptrack.web import create_app

KEEP = "Korea Electric Power Corporation"
OTHER = "KEPCO"
RIVAL = "Korea Electric Power Corp"  # another record of it, whose country, kind and identifier differ
SAMRUK = "Samruk-Energy"
ORGANISATIONS = [
    # name, country, kind, IATI identifier, aliases. KEPCO's aliases are as an older register could
    # hold them: the kept one's name and one of its aliases among them.
    (KEEP, "KOR", None, None, ["KEPCO Korea"]),
    (OTHER, "KOR", "70", "XI-TEST-KEPCO", [KEEP, "KEPCO Korea", "Korea Electric"]),
    (RIVAL, "KAZ", "10", "XI-TEST-KEPCO-KZ", []),
    (SAMRUK, "KAZ", "70", None, ["Samruk Energy JSC"]),
]
PROJECTS = [
    ("wind-farm", [(KEEP, "funding"), (OTHER, "implementing")]),
    ("solar-park", [(KEEP, "funding"), (OTHER, "funding"), (OTHER, "contractor")]),
    ("grid-line", [(OTHER, "accountable"), (SAMRUK, "implementing")]),
    ("road-study", [(SAMRUK, "implementing"), (RIVAL, "funding")]),
]
TOUCHED = ["grid-line", "solar-park", "wind-farm"]
MOVED = [{"project": "grid-line", "role": "accountable"}, {"project": "solar-park", "role": "contractor"},
         {"project": "wind-farm", "role": "implementing"}]
DROPPED = [{"project": "solar-park", "role": "funding"}]
MERGED_ALIASES = ["KEPCO Korea", "KEPCO", "Korea Electric"]
LIST = "`cooptrack organisation list` shows the ids"
STALE = ("organisation '{id}' is at version {at}, the edit was based on version {based}; someone changed it meanwhile: "
         "compare with the current record and reapply")
MERGE = "`cooptrack organisation merge`"
SAY = "say which to keep (--prefer-keep {f} or --prefer-other {f}; in the API prefer_keep or prefer_other)"


def conflict(keep_id, other_id, field, keep_name, keep_value, other_name, other_value):
    return (f"{field} differs: organisation {keep_id} ({keep_name}) has '{keep_value}', organisation {other_id} "
            f"({other_name}) has '{other_value}'; " + SAY.format(f=field))


def add_organisations(ctx: Context, rows=ORGANISATIONS) -> dict[str, int]:
    ctx.session.add_all([Organisation(name=n, country=c, kind=k, iati_ref=r, aliases=a) for n, c, k, r, a in rows])
    ctx.session.flush()
    return {o.name: o.id for o in ctx.session.scalars(select(Organisation))}


@pytest.fixture
def kepco(store, write, prepare):
    """Four organisations (two records of KEPCO, a third with other values, Samruk-Energy), four
    projects naming them, a viewer and an editor. Returns the organisations' numbers by name and
    the tokens."""

    def build():
        with write() as ctx:
            ids = add_organisations(ctx)
            for code, people in PROJECTS:
                register_project(ctx, ProjectSpec(code, code.replace("-", " ").title(),
                                                  participants=[ParticipantSpec(n, r) for n, r in people]))
            tokens = {}
            for role in ("viewer", "editor"):
                add_test_user(ctx, role, role)
                tokens[role] = create_token(ctx, role).token
        return {"ids": ids, "tokens": tokens}

    return prepare("two records of KEPCO in four projects, a viewer and an editor", build)


def participants(store) -> dict[str, list[tuple[str, str]]]:
    """Each project's participants (organisation name, role), in the project's order."""
    with store.read() as session:
        found: dict[str, list[tuple[str, str]]] = {}
        for code, name, role in session.execute(
                select(Project.code, Organisation.name, Participant.role)
                .join(Participant, Participant.project_id == Project.id)
                .join(Organisation, Organisation.id == Participant.organisation_id).order_by(Participant.id)):
            found.setdefault(code, []).append((name, role))
        return found


def versions(store) -> dict[str, int]:
    with store.read() as session:
        return dict(session.execute(select(Project.code, Project.version)).tuples().all())


def organisation(store, org_id) -> tuple[Any, ...] | None:
    with store.read() as session:
        o = session.get(Organisation, org_id)
        return None if o is None else (o.name, o.country, o.kind, o.iati_ref, o.aliases, o.version)


def events(read) -> list[AuditEvent]:
    with read() as ctx:
        found = list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.entity == "organisation")
                                         .order_by(AuditEvent.id)))
        for event in found:
            ctx.session.expunge(event)
        return found


def findings_of(exc):
    return [(f.code, f.field, f.value, f.message) for f in exc.findings]


PARTICIPANTS = {code: people for code, people in PROJECTS}
AFTER = {
    "wind-farm": [(KEEP, "funding"), (KEEP, "implementing")],
    "solar-park": [(KEEP, "funding"), (KEEP, "contractor")],
    "grid-line": [(KEEP, "accountable"), (SAMRUK, "implementing")],
    "road-study": PARTICIPANTS["road-study"],
}


# -- the service ----------------------------------------------------------------------------------


def test_a_merge_moves_gathers_fills_deletes_and_records_two_events(kepco, store, write, read):
    ids = kepco["ids"]
    keep, other = ids[KEEP], ids[OTHER]
    with read() as ctx:
        other_before = organisation_detail(ctx, other)
    with write("editor-x") as ctx:
        done = merge_organisations(ctx, keep, other, 1, 1)
        assert done.organisation.id == keep and done.organisation.version == 2
        assert (done.moved, done.dropped, done.projects) == (MOVED, DROPPED, TOUCHED)
        assert done.merged["name"] == OTHER and done.merged["id"] == other
    assert organisation(store, keep) == (KEEP, "KOR", "70", "XI-TEST-KEPCO", MERGED_ALIASES, 2)
    assert organisation(store, other) is None
    assert participants(store) == AFTER
    assert versions(store) == {"wind-farm": 2, "solar-park": 2, "grid-line": 2, "road-study": 1}
    with read() as ctx:
        detail = organisation_detail(ctx, keep)
    assert detail["participations"] == [
        {"project": "grid-line", "title": "Grid Line", "programme": None, "role": "accountable"},
        {"project": "solar-park", "title": "Solar Park", "programme": None, "role": "funding"},
        {"project": "solar-park", "title": "Solar Park", "programme": None, "role": "contractor"},
        {"project": "wind-farm", "title": "Wind Farm", "programme": None, "role": "funding"},
        {"project": "wind-farm", "title": "Wind Farm", "programme": None, "role": "implementing"}]
    assert detail["projects"] == 3

    merge, delete = events(read)[-2:]
    assert [(e.action, e.entity, e.entity_id, e.actor) for e in events(read) if e.action != "create"] == [
        ("merge", "organisation", str(keep), "editor-x"), ("delete", "organisation", str(other), "editor-x")]
    kept = ("name", "country", "kind", "iati_ref", "aliases", "version")
    assert {k: merge.before[k] for k in kept} == {"name": KEEP, "country": "KOR", "kind": None, "iati_ref": None,
                                                  "aliases": ["KEPCO Korea"], "version": 1}
    assert {k: merge.after[k] for k in kept} == {"name": KEEP, "country": "KOR", "kind": "70",
                                                 "iati_ref": "XI-TEST-KEPCO", "aliases": MERGED_ALIASES, "version": 2}
    assert (merge.after["moved"], merge.after["dropped"]) == (MOVED, DROPPED)
    assert set(merge.after) == set(merge.before) | {"merged", "moved", "dropped"}
    assert merge.after["merged"] == delete.before
    assert {k: delete.before[k] for k in ("id", *kept)} == {
        "id": other, "name": OTHER, "country": "KOR", "kind": "70", "iati_ref": "XI-TEST-KEPCO",
        "aliases": [KEEP, "KEPCO Korea", "Korea Electric"], "version": 1}
    assert delete.after is None
    assert delete.before["created_at"] == other_before["created_at"].isoformat()


def test_the_projects_concerned_refuse_an_edit_based_on_the_list_as_it_was(kepco, store, write):
    ids = kepco["ids"]
    with write() as ctx:
        merge_organisations(ctx, ids[KEEP], ids[OTHER])
    with pytest.raises(StaleVersion) as stale, write() as ctx:
        update_project(ctx, "wind-farm", {"participants": [{"name": OTHER, "role": "implementing"}]}, 1)
    assert stale.value.message == ("project 'wind-farm' is at version 2, the edit was based on version 1; someone "
                                   "changed it meanwhile: compare with the current record and reapply")
    with write() as ctx:  # the project no participant of the other names is as it was
        project, outcome = update_project(ctx, "road-study", {"title": "Road study"}, 1)
        assert (outcome, project.version) == ("updated", 2)


def test_two_merges_in_one_transaction_move_each_version_each_time(kepco, store, write, read):
    """The second merge finds the projects and the organisation stamped with the same time as the
    first left them: their versions move again all the same."""
    ids = kepco["ids"]
    with write() as ctx:
        merge_organisations(ctx, ids[KEEP], ids[OTHER])
        done = merge_organisations(ctx, ids[SAMRUK], ids[KEEP], prefer_keep=("country",))
        assert (done.projects, done.organisation.version) == (TOUCHED, 2)
        assert done.dropped == [] and len(done.moved) == 5
    assert versions(store) == {"wind-farm": 3, "solar-park": 3, "grid-line": 3, "road-study": 1}
    assert organisation(store, ids[SAMRUK]) == (SAMRUK, "KAZ", "70", "XI-TEST-KEPCO",
                                                ["Samruk Energy JSC", KEEP, *MERGED_ALIASES], 2)
    assert participants(store)["grid-line"] == [(SAMRUK, "accountable"), (SAMRUK, "implementing")]
    assert [(e.action, e.entity_id) for e in events(read)] == [
        ("merge", str(ids[KEEP])), ("delete", str(ids[OTHER])), ("merge", str(ids[SAMRUK])), ("delete", str(ids[KEEP]))]


def test_a_merge_of_an_organisation_in_no_project_still_moves_the_kept_version_once(kepco, store, write, read):
    ids = kepco["ids"]
    with write() as ctx:
        lonely = add_organisations(ctx, [("KEPCO Engineering", None, None, None, [])])["KEPCO Engineering"]
    before = versions(store)
    with write() as ctx:
        done = merge_organisations(ctx, ids[SAMRUK], lonely)
        assert (done.moved, done.dropped, done.projects, done.organisation.version) == ([], [], [], 2)
    assert organisation(store, ids[SAMRUK]) == (SAMRUK, "KAZ", "70", None, ["Samruk Energy JSC", "KEPCO Engineering"],
                                                2)
    assert organisation(store, lonely) is None and versions(store) == before


def test_a_merge_whose_other_adds_no_alias_and_no_field_moves_the_version_once(kepco, store, write, read):
    """The kept organisation's version covers its participations: it moves though its fields stay."""
    ids = kepco["ids"]
    with write() as ctx:
        twin = add_organisations(ctx, [("Samruk Energy JSC", "KAZ", None, None, [])])["Samruk Energy JSC"]
    with write() as ctx:
        assert merge_organisations(ctx, ids[SAMRUK], twin).organisation.version == 2
    assert organisation(store, ids[SAMRUK]) == (SAMRUK, "KAZ", "70", None, ["Samruk Energy JSC"], 2)
    merge = [e for e in events(read) if e.action == "merge"]
    assert len(merge) == 1 and merge[0].before["aliases"] == merge[0].after["aliases"] == ["Samruk Energy JSC"]


def test_conflicting_fields_are_refused_naming_both_values_and_nothing_is_written(kepco, store, write, read):
    ids = kepco["ids"]
    before = count_rows(store)
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        merge_organisations(ctx, ids[OTHER], ids[RIVAL], 1, 1)
    assert findings_of(refused.value) == [
        ("merge_conflict", "country", "KAZ", conflict(ids[OTHER], ids[RIVAL], "country", OTHER, "KOR", RIVAL, "KAZ")),
        ("merge_conflict", "kind", "10", conflict(ids[OTHER], ids[RIVAL], "kind", OTHER, "70", RIVAL, "10")),
        ("merge_conflict", "iati_ref", "XI-TEST-KEPCO-KZ",
         conflict(ids[OTHER], ids[RIVAL], "iati_ref", OTHER, "XI-TEST-KEPCO", RIVAL, "XI-TEST-KEPCO-KZ"))]
    assert refused.value.message == findings_of(refused.value)[0][3] + " (and 2 more)"
    assert count_rows(store) == before and events(read) == []
    assert participants(store) == PARTICIPANTS and versions(store) == dict.fromkeys(PARTICIPANTS, 1)
    # one conflict alone: the kept one lacks the kind and the identifier, which are filled in
    with pytest.raises(InvalidInput) as one, write() as ctx:
        merge_organisations(ctx, ids[KEEP], ids[RIVAL])
    assert findings_of(one.value) == [
        ("merge_conflict", "country", "KAZ", conflict(ids[KEEP], ids[RIVAL], "country", KEEP, "KOR", RIVAL, "KAZ"))]
    assert count_rows(store) == before and organisation(store, ids[RIVAL]) == (
        RIVAL, "KAZ", "10", "XI-TEST-KEPCO-KZ", [], 1)


@pytest.mark.parametrize("prefer_other, prefer_keep, expected", [
    pytest.param(("country",), (), ("KAZ", "10", "XI-TEST-KEPCO-KZ"), id="other-country"),
    pytest.param((), ("country",), ("KOR", "10", "XI-TEST-KEPCO-KZ"), id="kept-country"),
    # a preference decides between two values only: a value the kept one lacks is still taken
    pytest.param((), ("country", "kind", "iati_ref"), ("KOR", "10", "XI-TEST-KEPCO-KZ"), id="keep-all"),
    pytest.param(["iati_ref", "country", "country"], (), ("KAZ", "10", "XI-TEST-KEPCO-KZ"), id="repeated"),
])
def test_a_preferred_side_decides_a_conflict(kepco, store, write, prefer_other, prefer_keep, expected):
    ids = kepco["ids"]
    with write() as ctx:
        merge_organisations(ctx, ids[KEEP], ids[RIVAL], prefer_other=prefer_other, prefer_keep=prefer_keep)
    assert organisation(store, ids[KEEP]) == (KEEP, *expected, ["KEPCO Korea", RIVAL], 2)
    assert organisation(store, ids[RIVAL]) is None
    assert participants(store)["road-study"] == [(SAMRUK, "implementing"), (KEEP, "funding")]


def test_the_other_identifier_moves_to_the_kept_one_in_one_transaction(kepco, store, write):
    """Both would hold the unique IATI identifier for a moment: the other is deleted first."""
    ids = kepco["ids"]
    with write() as ctx:
        merge_organisations(ctx, ids[OTHER], ids[RIVAL], prefer_other=("country", "kind", "iati_ref"))
    assert organisation(store, ids[OTHER]) == (OTHER, "KAZ", "10", "XI-TEST-KEPCO-KZ",
                                               [KEEP, "KEPCO Korea", "Korea Electric", RIVAL], 2)


@pytest.mark.parametrize("prefer_other, prefer_keep, expected", [
    pytest.param(("name",), (), [("unknown_field", "prefer_other", "name", "prefer_other 'name' is not a field a "
                                  "merge chooses between; choose among country, kind, iati_ref")], id="name"),
    pytest.param((), ("aliases",), [("unknown_field", "prefer_keep", "aliases", "prefer_keep 'aliases' is not a "
                                     "field a merge chooses between; choose among country, kind, iati_ref")],
                 id="aliases"),
    pytest.param(("kind",), ("kind",), [
        ("conflicting_preferences", "kind", "kind", "kind is in both prefer_keep and prefer_other; choose one")],
        id="both-ways"),
])
def test_a_bad_preference_is_refused(kepco, store, write, prefer_other, prefer_keep, expected):
    ids = kepco["ids"]
    before = count_rows(store)
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        merge_organisations(ctx, ids[KEEP], ids[OTHER], prefer_other=prefer_other, prefer_keep=prefer_keep)
    assert findings_of(refused.value) == expected
    assert count_rows(store) == before


def test_stale_versions_unknown_numbers_and_itself_are_refused(kepco, store, write, read):
    ids = kepco["ids"]
    keep, other = ids[KEEP], ids[OTHER]
    before = count_rows(store)
    with pytest.raises(StaleVersion) as stale, write() as ctx:
        merge_organisations(ctx, keep, other, 2, 1)
    assert stale.value.message == STALE.format(id=keep, at=1, based=2)
    assert stale.value.current is not None and stale.value.current["name"] == KEEP
    with pytest.raises(StaleVersion) as stale, write() as ctx:
        merge_organisations(ctx, keep, other, 1, 3)
    assert stale.value.message == STALE.format(id=other, at=1, based=3)
    assert stale.value.current is not None and stale.value.current["name"] == OTHER
    with pytest.raises(NotFound) as missing, write() as ctx:
        merge_organisations(ctx, 999, other)
    assert missing.value.message == f"organisation 999 does not exist; {LIST}"
    with pytest.raises(InvalidInput) as unknown, write() as ctx:
        merge_organisations(ctx, keep, 999)
    assert findings_of(unknown.value) == [("not_found", "other", "999", f"organisation 999 does not exist; {LIST}")]
    with pytest.raises(InvalidInput) as itself, write() as ctx:
        merge_organisations(ctx, keep, keep)
    assert findings_of(itself.value) == [
        ("same_organisation", "other", str(keep), f"organisation {keep} cannot be merged with itself; give the number "
         "of another organisation to merge into it")]
    assert count_rows(store) == before and events(read) == []


def test_a_version_moved_by_an_edit_refuses_a_merge_based_on_the_old_one(kepco, store, write):
    ids = kepco["ids"]
    with write() as ctx:
        update_organisation(ctx, ids[OTHER], {"kind": "10"}, 1)
    with pytest.raises(StaleVersion) as stale, write() as ctx:
        merge_organisations(ctx, ids[KEEP], ids[OTHER], 1, 1)
    assert stale.value.message == STALE.format(id=ids[OTHER], at=2, based=1)
    assert organisation(store, ids[OTHER]) is not None and participants(store) == PARTICIPANTS


# -- aliases that would be ambiguous ----------------------------------------------------------------


def test_a_merge_refuses_an_alias_a_third_organisation_holds(kepco, store, write, read):
    ids = kepco["ids"]
    with write() as ctx:
        # as an older register could hold them: a name that is another's alias, an alias that is a name
        extra = add_organisations(ctx, [("Samruk Energy JSC", "KAZ", None, None, ["KEPCO"])])
    before = count_rows(store)
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        merge_organisations(ctx, ids[RIVAL], extra["Samruk Energy JSC"], prefer_other=("country",))
    assert findings_of(refused.value) == [
        ("alias_taken", "aliases", "Samruk Energy JSC",
         f"alias 'Samruk Energy JSC' is an alias of organisation {ids[SAMRUK]} ({SAMRUK}) already; take it off there "
         f"first, or merge the two organisations ({MERGE})"),
        ("alias_taken", "aliases", "KEPCO",
         f"alias 'KEPCO' is organisation {ids[OTHER]}'s name; a project naming it takes part as that one: merge the "
         f"two organisations instead ({MERGE})")]
    assert count_rows(store) == before


def test_an_edit_refuses_an_alias_or_name_another_organisation_holds(kepco, store, write, read):
    ids = kepco["ids"]
    before = count_rows(store)
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        update_organisation(ctx, ids[RIVAL], {"aliases": ["Korea Electric", " KEPCO ", "KEPCO-KZ", SAMRUK]}, 1)
    assert findings_of(refused.value) == [
        ("alias_taken", "aliases", "Korea Electric",
         f"alias 'Korea Electric' is an alias of organisation {ids[OTHER]} ({OTHER}) already; take it off there first, "
         f"or merge the two organisations ({MERGE})"),
        ("alias_taken", "aliases", "KEPCO", f"alias 'KEPCO' is organisation {ids[OTHER]}'s name; a project naming it "
         f"takes part as that one: merge the two organisations instead ({MERGE})"),
        ("alias_taken", "aliases", SAMRUK, f"alias '{SAMRUK}' is organisation {ids[SAMRUK]}'s name; a project naming "
         f"it takes part as that one: merge the two organisations instead ({MERGE})")]
    with pytest.raises(InvalidInput) as named, write() as ctx:
        update_organisation(ctx, ids[RIVAL], {"name": "Samruk Energy JSC"}, 1)
    assert findings_of(named.value) == [
        ("name_taken", "name", "Samruk Energy JSC",
         f"name 'Samruk Energy JSC' is an alias of organisation {ids[SAMRUK]} ({SAMRUK}); take it off there first, "
         f"or merge the two organisations ({MERGE})")]
    assert count_rows(store) == before and organisation(store, ids[RIVAL]) == (
        RIVAL, "KAZ", "10", "XI-TEST-KEPCO-KZ", [], 1)
    # an alias it holds already is no clash though another holds it too (KEPCO Korea is KEPCO's
    # too, as an older register could have it), but a new one is
    with write() as ctx:
        update_organisation(ctx, ids[KEEP], {"aliases": ["KEPCO Korea", "Korea Electric Power"]}, 1)
    with pytest.raises(InvalidInput) as own, write() as ctx:
        update_organisation(ctx, ids[KEEP], {"aliases": ["KEPCO Korea", KEEP]}, 2)
    assert findings_of(own.value) == [
        ("alias_taken", "aliases", KEEP, f"alias '{KEEP}' is an alias of organisation {ids[OTHER]} ({OTHER}) already; "
         f"take it off there first, or merge the two organisations ({MERGE})")]
    assert organisation(store, ids[KEEP]) == (KEEP, "KOR", None, None, ["KEPCO Korea", "Korea Electric Power"], 2)
    # its own name among its aliases, and its own alias as its name, are no clash
    with write() as ctx:
        update_organisation(ctx, ids[SAMRUK], {"aliases": ["Samruk Energy JSC", SAMRUK]}, 1)
        update_organisation(ctx, ids[SAMRUK], {"name": "Samruk Energy JSC"}, 2)
    assert organisation(store, ids[SAMRUK]) == ("Samruk Energy JSC", "KAZ", "70", None,
                                                ["Samruk Energy JSC", SAMRUK], 3)


# -- the command line -------------------------------------------------------------------------------


def test_cli_merge(kepco, cli, store, read):
    ids = kepco["ids"]
    keep, other = ids[KEEP], ids[OTHER]
    result = cli("organisation", "merge", str(keep), str(other), "--if-version", "1", "--other-version", "1")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (f"✓ organisation {other} (KEPCO) merged into organisation {keep} ({KEEP}): 3 "
                             "participations moved, 1 it had already; 3 projects changed (version 2)\n")
    assert organisation(store, keep) == (KEEP, "KOR", "70", "XI-TEST-KEPCO", MERGED_ALIASES, 2)
    assert participants(store) == AFTER and organisation(store, other) is None
    assert [(e.action, e.entity_id, e.actor) for e in events(read) if e.action != "create"] == [
        ("merge", str(keep), "tester"), ("delete", str(other), "tester")]


def test_cli_merge_with_a_preference_prints_json(kepco, cli, store, read):
    ids = kepco["ids"]
    result = cli("organisation", "merge", str(ids[KEEP]), str(ids[RIVAL]), "--prefer-other", "country", "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    shown = json.loads(result.stdout)
    again = cli("organisation", "show", str(ids[KEEP]), "--json")
    assert shown == json.loads(again.stdout)
    assert (shown["country"], shown["kind"], shown["iati_ref"], shown["aliases"], shown["version"]) == (
        "KAZ", "10", "XI-TEST-KEPCO-KZ", ["KEPCO Korea", RIVAL], 2)
    single = cli("organisation", "merge", str(ids[SAMRUK]),
                 str(add_lonely(store)), "--prefer-keep", "kind")
    assert single.stdout.startswith("✓ organisation ") and single.stdout.endswith(
        "0 participations moved; 0 projects changed (version 2)\n")


def add_lonely(store) -> int:
    with store.write() as session:
        return add_organisations(Context(session, "tester"), [("Lonely", None, None, None, [])])["Lonely"]


@pytest.mark.parametrize("args, message", [
    pytest.param(("{keep}", "{rival}"), "country differs: organisation {keep} (" + KEEP + ") has 'KOR', organisation "
                 "{rival} (" + RIVAL + ") has 'KAZ'; " + SAY.format(f="country"), id="conflict"),
    pytest.param(("{other}", "{rival}", "--prefer-keep", "country"),
                 "2 problems; nothing was written\n"
                 "  - kind: kind differs: organisation {other} (KEPCO) has '70', organisation {rival} (" + RIVAL + ") "
                 "has '10'; " + SAY.format(f="kind") + "\n"
                 "  - iati_ref: iati_ref differs: organisation {other} (KEPCO) has 'XI-TEST-KEPCO', organisation "
                 "{rival} (" + RIVAL + ") has 'XI-TEST-KEPCO-KZ'; " + SAY.format(f="iati_ref"), id="two-conflicts"),
    pytest.param(("{keep}", "{other}", "--prefer-other", "name"),
                 "prefer_other 'name' is not a field a merge chooses between; choose among country, kind, iati_ref",
                 id="bad-field"),
    pytest.param(("{keep}", "{other}", "--if-version", "2"), STALE.replace("{id}", "{keep}").replace(
        "{at}", "1").replace("{based}", "2"), id="stale-keep"),
    pytest.param(("{keep}", "{other}", "--other-version", "2"), STALE.replace("{id}", "{other}").replace(
        "{at}", "1").replace("{based}", "2"), id="stale-other"),
    pytest.param(("999", "{other}"), f"organisation 999 does not exist; {LIST}", id="unknown-keep"),
    pytest.param(("{keep}", "999"), f"organisation 999 does not exist; {LIST}", id="unknown-other"),
    pytest.param(("{keep}", "{keep}"), "organisation {keep} cannot be merged with itself; give the number of "
                 "another organisation to merge into it", id="itself"),
])
def test_cli_merge_refusals_write_nothing(kepco, cli, store, read, args, message):
    ids = kepco["ids"]
    names = {"keep": ids[KEEP], "other": ids[OTHER], "rival": ids[RIVAL]}
    before = count_rows(store)
    result = cli("organisation", "merge", *(a.format(**names) for a in args))
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"error: {message.format(**names)}\n")
    assert count_rows(store) == before and participants(store) == PARTICIPANTS
    assert events(read) == []


# -- the API ----------------------------------------------------------------------------------------


@pytest.fixture
def api(kepco, store):
    client = TestClient(create_app(store, public_read=False))
    return client, {r: {"Authorization": f"Bearer {t}"} for r, t in kepco["tokens"].items()}


def merge_url(org_id):
    return f"/api/v1/organisations/{org_id}/merge"


def error_of(response, status):
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_api_merge_answers_the_kept_organisation_and_refreshes_the_projects(kepco, api, store, read):
    client, who = api
    ids = kepco["ids"]
    keep, other = ids[KEEP], ids[OTHER]
    for code in ("wind-farm", "road-study"):
        client.get(f"/api/v1/projects/{code}", headers=who["viewer"])
        assert client.get(f"/api/v1/projects/{code}", headers=who["viewer"]).headers["x-cache"] == "hit"
    with store.engine.connect() as conn:
        tokens_before = read_tokens(conn)
    done = client.post(merge_url(keep), json={"other": other, "other_version": 1},
                       headers=who["editor"] | {"If-Match": '"1"'})
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == '"2"'
    assert done.json() == client.get(f"/api/v1/organisations/{keep}", headers=who["viewer"]).json()
    body = done.json()
    assert (body["name"], body["kind"], body["iati_ref"], body["aliases"], body["version"], body["projects"]) == (
        KEEP, "70", "XI-TEST-KEPCO", MERGED_ALIASES, 2, 3)
    assert error_of(client.get(f"/api/v1/organisations/{other}", headers=who["viewer"]), 404)["code"] == "not_found"
    with store.engine.connect() as conn:
        tokens_after = read_tokens(conn)
    assert {a for a in tokens_after if tokens_after[a] != tokens_before.get(a)} == {
        EVERYTHING, "organisations", "project_participants", "projects"}
    again = client.get("/api/v1/projects/wind-farm", headers=who["viewer"])
    assert again.headers["x-cache"] == "miss" and again.headers["etag"] == '"2"'
    assert [(p["name"], p["role"]) for p in again.json()["participants"]] == AFTER["wind-farm"]
    merge, delete = [e for e in events(read) if e.action != "create"]
    assert (merge.action, merge.entity_id, merge.actor, merge.request_id) == (
        "merge", str(keep), "editor", done.headers["x-request-id"])
    assert (delete.action, delete.entity_id, delete.request_id) == ("delete", str(other), done.headers["x-request-id"])
    # an edit of a project's participants based on the list as it was
    stale = client.put("/api/v1/projects/wind-farm/participants", json=[{"name": OTHER, "role": "implementing"}],
                       headers=who["editor"] | {"If-Match": '"1"'})
    assert error_of(stale, 412)["code"] == "stale_version"


def test_api_merge_with_a_preference(kepco, api, store):
    client, who = api
    ids = kepco["ids"]
    done = client.post(merge_url(ids[KEEP]), json={"other": ids[RIVAL], "prefer_keep": ["country"]},
                       headers=who["editor"] | {"If-Match": '"1"'})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["country"], body["kind"], body["aliases"]) == ("KOR", "10", ["KEPCO Korea", RIVAL])


@pytest.mark.parametrize("keep, body, if_match, status, expected", [
    pytest.param(KEEP, {"other": RIVAL}, '"1"', 422, [
        ("merge_conflict", "country", "country differs: organisation {keep} (" + KEEP + ") has 'KOR', organisation "
         "{rival} (" + RIVAL + ") has 'KAZ'; " + SAY.format(f="country"))], id="conflict"),
    pytest.param(KEEP, {"other": OTHER, "prefer_other": ["aliases"]}, '"1"', 422, [
        ("unknown_field", "prefer_other", "prefer_other 'aliases' is not a field a merge chooses between; choose "
         "among country, kind, iati_ref")], id="bad-field"),
    pytest.param(KEEP, {"other": KEEP}, '"1"', 422, [
        ("same_organisation", "other", "organisation {keep} cannot be merged with itself; give the number of another "
         "organisation to merge into it")], id="itself"),
    pytest.param(KEEP, {"other": 999}, '"1"', 422, [
        ("not_found", "other", f"organisation 999 does not exist; {LIST}")], id="unknown-other"),
    pytest.param(KEEP, {"other": OTHER, "extra": 1}, '"1"', 422, [
        ("invalid", "extra", "extra: Extra inputs are not permitted")], id="unknown-key"),
    pytest.param(KEEP, {}, '"1"', 422, [("invalid", "other", "other: Field required")], id="no-other"),
    pytest.param(999, {"other": OTHER}, '"1"', 404, f"organisation 999 does not exist; {LIST}", id="unknown-keep"),
    pytest.param(KEEP, {"other": OTHER}, '"2"', 412, STALE.replace("{id}", "{keep}").replace("{at}", "1").replace(
        "{based}", "2"), id="stale-if-match"),
    pytest.param(KEEP, {"other": OTHER, "other_version": 2}, '"1"', 412, STALE.replace("{id}", "{other}").replace(
        "{at}", "1").replace("{based}", "2"), id="stale-other"),
    pytest.param(KEEP, {"other": OTHER}, None, 428, None, id="no-if-match"),
])
def test_api_merge_refusals_write_nothing(kepco, api, store, read, keep, body, if_match, status, expected):
    client, who = api
    ids = kepco["ids"]
    names = {"keep": ids[KEEP], "other": ids[OTHER], "rival": ids[RIVAL]}
    body = {k: ids.get(v, v) if k == "other" else v for k, v in body.items()}
    before = count_rows(store)
    headers = who["editor"] | ({"If-Match": if_match} if if_match else {})
    error = error_of(client.post(merge_url(ids.get(keep, keep)), json=body, headers=headers), status)
    if status == 422:
        assert [(f["code"], f["field"], f["message"]) for f in error["findings"]] == [
            (c, f, m.format(**names)) for c, f, m in expected]
    elif status == 428:
        assert error["code"] == "precondition_required" and "If-Match" in error["message"]
    else:
        assert error["message"] == expected.format(**names)
    if status == 412:
        assert error["current"]["version"] == 1 and error["current"]["id"] in (ids[KEEP], ids[OTHER])
    assert count_rows(store) == before and participants(store) == PARTICIPANTS


def test_api_merge_needs_an_editor(kepco, api, store):
    client, who = api
    ids = kepco["ids"]
    before = count_rows(store)
    body = {"other": ids[OTHER]}
    viewer = error_of(client.post(merge_url(ids[KEEP]), json=body, headers=who["viewer"] | {"If-Match": '"1"'}), 403)
    assert viewer["code"] == "forbidden"
    anonymous = client.post(merge_url(ids[KEEP]), json=body, headers={"If-Match": '"1"'})
    assert anonymous.status_code == 401
    assert count_rows(store) == before


def test_openapi_documents_the_merge(api):
    client, _who = api
    spec = client.get("/api/v1/openapi.json").json()
    route = spec["paths"]["/api/v1/organisations/{organisation_id}/merge"]["post"]
    assert route["summary"] == "Merge another organisation into this one (If-Match required)"
    assert {"200", "400", "401", "403", "404", "412", "422", "428"} <= set(route["responses"])
    assert route["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrganisationOut"}
    body = spec["components"]["schemas"]["OrganisationMerge"]
    assert set(body["properties"]) == {"other", "other_version", "prefer_other", "prefer_keep"}
    assert body["required"] == ["other"]


# -- a participant named by an alias ----------------------------------------------------------------


def test_a_project_naming_an_alias_takes_the_aliased_organisation(kepco, store, write, read):
    ids = kepco["ids"]
    with read() as ctx:
        organisations = ctx.session.scalar(select(func.count(Organisation.id)))
    with write() as ctx:
        register_project(ctx, ProjectSpec("substation", "Substation", participants=[
            ParticipantSpec(" Korea Electric ", "funding"),  # KEPCO's alias, trimmed as a name is
            ParticipantSpec("KEPCO Korea", "contractor"),  # both KEPCO records': the lower number's
            ParticipantSpec("Samruk Energy JSC", "implementing", iati_ref="XI-TEST-UNKNOWN"),
            ParticipantSpec("korea electric", "accountable")]))  # exact: another case is another name
    assert participants(store)["substation"] == [
        (OTHER, "funding"), (KEEP, "contractor"), (SAMRUK, "implementing"), ("korea electric", "accountable")]
    with read() as ctx:
        assert ctx.session.scalar(select(func.count(Organisation.id))) == organisations + 1
    # an identifier comes first, then the name, then the alias
    with write() as ctx:
        register_project(ctx, ProjectSpec("substation-2", "Substation 2", participants=[
            ParticipantSpec("KEPCO Korea", "funding", iati_ref="XI-TEST-KEPCO-KZ"),
            ParticipantSpec(KEEP, "contractor")]))
    assert participants(store)["substation-2"] == [(RIVAL, "funding"), (KEEP, "contractor")]
    assert organisation(store, ids[SAMRUK]) == (SAMRUK, "KAZ", "70", None, ["Samruk Energy JSC"], 1)


def test_cli_project_add_with_a_participant_named_by_an_alias(kepco, cli, store):
    result = cli("project", "add", "substation", "--title", "Substation", "--participant", "Korea Electric:funding",
                 "--participant", "Samruk Energy JSC:implementing:KAZ")
    assert result.exit_code == 0, result.stderr
    assert participants(store)["substation"] == [(OTHER, "funding"), (SAMRUK, "implementing")]


def test_an_alias_given_after_a_merge_finds_the_kept_organisation(kepco, store, write):
    ids = kepco["ids"]
    with write() as ctx:
        merge_organisations(ctx, ids[KEEP], ids[OTHER])
        register_project(ctx, ProjectSpec("substation", "Substation", participants=[
            ParticipantSpec(OTHER, "funding"), ParticipantSpec("Korea Electric", "contractor")]))
    assert participants(store)["substation"] == [(KEEP, "funding"), (KEEP, "contractor")]


ALIAS_ROWS = [
    ["id", "title", "participants"],
    ["alias-1", "Alias one", "KEPCO Korea (funding, KOR); Samruk Energy JSC (implementing)"],
    ["alias-2", "Alias two", "Korea Electric (contractor); New Company (investor, KAZ)"],
    ["alias-3", "Alias three", "KEPCO (funding); New Company (contractor)"],
    ["alias-4", "Alias four", "korea electric (funding)"],
]
ALIAS_PARTICIPANTS = {
    "alias-1": [(KEEP, "funding"), (SAMRUK, "implementing")],
    "alias-2": [(OTHER, "contractor"), ("New Company", "investor")],
    "alias-3": [(OTHER, "funding"), ("New Company", "contractor")],
    "alias-4": [("korea electric", "funding")],
}


def reference_store(sqlite_template: Path, tmp_path: Path) -> Store:
    shutil.copy(sqlite_template, tmp_path / "reference.db")
    return Store(f"sqlite:///{tmp_path / 'reference.db'}")


def with_organisations(*stores: Store) -> dict[Store, int]:
    """The organisations of ORGANISATIONS in each store; the last audit event's id in each."""
    start = {}
    for target in stores:
        with target.write() as session:
            add_organisations(Context(session, "tester"))
        with target.read() as session:
            start[target] = session.scalar(select(func.max(AuditEvent.id))) or 0
    return start


def test_a_spreadsheet_naming_aliases_writes_what_one_by_one_writes(store, sqlite_template, tmp_path):
    reference = reference_store(sqlite_template, tmp_path)
    start = with_organisations(store, reference)
    path = write_csv(tmp_path / "aliases.csv", ALIAS_ROWS)
    summaries = []
    for target, bulk in ((store, True), (reference, False)):
        with target.write() as session:
            result = import_projects(Context(session, "tester"), read_sheet(path), bulk=bulk)
        assert result.report.valid, result.report.as_dict()
        summaries.append(result.summary)
    assert summaries[0] == summaries[1] == {"created": 4, "updated": 0, "unchanged": 0, "refused": 0}
    assert participants(store) == participants(reference) == ALIAS_PARTICIPANTS
    bulk, one_by_one = _state(store, start[store]), _state(reference, start[reference])
    assert len(bulk["organisations"]) == 6  # New Company and "korea electric" added
    # As tests/test_iati_import.py holds the two paths: the projects as `snapshot` reads them and
    # their audit events by kind (one at a time, an activity's IATI attributes and status are set
    # after it is created, in events and versions of their own); the organisations and the rows
    # naming them in full.
    assert snapshot(store) == snapshot(reference)
    for key in ("organisations", "participants", "sectors", "events"):
        assert bulk[key] == one_by_one[key], key
    assert [a for a in bulk["audit"] if a[1] == "organisation"] == [
        a for a in one_by_one["audit"] if a[1] == "organisation"]
    assert sorted(a[:3] for a in bulk["audit"]) == sorted(a[:3] for a in one_by_one["audit"])
    reference.dispose()


def iati_activity(identifier: str, *orgs: tuple[str, str, str | None]) -> str:
    parts = "\n".join(f'  <participating-org role="{role}"{f" ref={chr(34)}{ref}{chr(34)}" if ref else ""} type="70">'
                      f"<narrative>{name}</narrative></participating-org>" for name, role, ref in orgs)
    return f"""<iati-activity default-currency="USD">
  <iati-identifier>{identifier}</iati-identifier>
  <reporting-org ref="XI-TEST-REPORTER" type="10"><narrative>Reporter</narrative></reporting-org>
  <title><narrative>Activity {identifier}</narrative></title>
  <description><narrative>What it does</narrative></description>
{parts}
  <activity-status code="2"/>
  <activity-date type="2" iso-date="2020-03-01"/>
</iati-activity>"""


def test_an_iati_file_naming_aliases_writes_what_one_by_one_writes(store, sqlite_template, tmp_path):
    reference = reference_store(sqlite_template, tmp_path)
    start = with_organisations(store, reference)
    path = tmp_path / "aliases.xml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03">\n' + "\n".join([
        # the identifier is KEPCO's, under another name: left out, the name is matched, then the alias
        iati_activity("XI-TEST-A1", ("KEPCO Korea", "1", None), ("Korea Electric", "4", "XI-TEST-KEPCO")),
        # an identifier nobody holds: the alias is matched (and the identifier not added to it)
        iati_activity("XI-TEST-A2", ("Samruk Energy JSC", "2", "XI-TEST-SAMRUK"), ("New Company", "4", None)),
        iati_activity("XI-TEST-A3", (OTHER, "1", "XI-TEST-KEPCO"), ("New Company", "3", None)),
    ]) + "\n</iati-activities>\n", encoding="utf-8")
    for target, bulk in ((store, True), (reference, False)):
        with target.write() as session:
            result = import_iati(Context(session, "tester"), [path], ImportOptions(bulk=bulk))
        assert result.report.valid, result.report.findings
        assert result.summary["created"] == 3
    with store.read() as session:
        codes = dict(session.execute(select(Project.iati_identifier, Project.code)).tuples().all())
    expected = {codes["XI-TEST-A1"]: [(KEEP, "funding"), (OTHER, "implementing")],
                codes["XI-TEST-A2"]: [(SAMRUK, "accountable"), ("New Company", "implementing")],
                codes["XI-TEST-A3"]: [(OTHER, "funding"), ("New Company", "extending")]}
    assert participants(store) == participants(reference) == expected
    bulk, one_by_one = _state(store, start[store]), _state(reference, start[reference])
    assert len(bulk["organisations"]) == 5 and [o["iati_ref"] for o in bulk["organisations"] if
                                                 o["name"] == SAMRUK] == [None]
    # As tests/test_iati_import.py holds the two paths: the projects as `snapshot` reads them and
    # their audit events by kind (one at a time, an activity's IATI attributes and status are set
    # after it is created, in events and versions of their own); the organisations and the rows
    # naming them in full.
    assert snapshot(store) == snapshot(reference)
    for key in ("organisations", "participants", "sectors", "events"):
        assert bulk[key] == one_by_one[key], key
    assert [a for a in bulk["audit"] if a[1] == "organisation"] == [
        a for a in one_by_one["audit"] if a[1] == "organisation"]
    assert sorted(a[:3] for a in bulk["audit"]) == sorted(a[:3] for a in one_by_one["audit"])
    reference.dispose()


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
def test_the_same_spreadsheet_again_changes_nothing(store, tmp_path, bulk):
    with_organisations(store)
    path = write_csv(tmp_path / "aliases.csv", ALIAS_ROWS)
    with store.write() as session:
        import_projects(Context(session, "tester"), read_sheet(path), bulk=bulk)
    before = versions(store)
    with store.write() as session:
        again = import_projects(Context(session, "tester"), read_sheet(path), bulk=bulk)
    assert again.summary == {"created": 0, "updated": 0, "unchanged": 4, "refused": 0}
    assert versions(store) == before
