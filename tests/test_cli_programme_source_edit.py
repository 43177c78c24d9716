"""`cooptrack programme edit` and `cooptrack source edit`: each changes the fields given and no
other, through the services' own checks, with one audit event; a refusal exits 1 with the
service's message and writes nothing; an edit with no field to change is a usage error (exit 2)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import count_rows

PROGRAMME = "fresh-wind"
SOURCE = "qazaqtv-40-projects"  # source 1 of the demo
STALE = ("someone changed it meanwhile: compare with the current record and reapply")


@pytest.fixture
def demo(cli_demo, store):
    """The Fresh Wind demo loaded by `cooptrack demo`; returns the row counts right after."""
    return count_rows(store)


def ok(cli, *args):
    result = cli(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def ok_json(cli, *args) -> Any:
    return json.loads(ok(cli, *args).stdout)


def programme(cli) -> dict[str, Any]:
    return ok_json(cli, "programme", "show", PROGRAMME, "--json")


def source(cli, key: str = SOURCE) -> dict[str, Any]:
    return ok_json(cli, "source", "show", key, "--json")


def last_event(cli) -> dict[str, Any]:
    events = ok_json(cli, "audit", "--json", "--limit", "1")
    assert len(events) == 1
    return events[0]


def refused(cli, store, shown, *args) -> str:
    """Run an edit that must be refused: exit code 1, an error on stderr alone, no row added or
    removed and the record as it was (``shown()`` reads it); returns stderr."""
    before_rows, before = count_rows(store), shown()
    result = cli(*args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("error: "), result.stderr
    assert count_rows(store) == before_rows
    assert shown() == before
    return result.stderr


def usage_error(cli, store, shown, *args) -> str:
    """Run an edit with nothing to change: exit code 2, nothing written; returns stderr as one line
    (Rich draws the error in a box)."""
    before_rows, before = count_rows(store), shown()
    result = cli(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert count_rows(store) == before_rows
    assert shown() == before
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split())


def one_event_more(store, demo_rows: dict[str, int], **more: int) -> None:
    """The rows now: one audit event more than ``demo_rows``, and ``more`` rows more in those tables."""
    expected = {**demo_rows, "audit_events": demo_rows["audit_events"] + 1}
    expected.update({table: demo_rows[table] + n for table, n in more.items()})
    assert count_rows(store) == expected


# --- programme edit ---------------------------------------------------------------------------


def test_programme_edit_changes_the_fields_given_and_no_other(cli, store, demo):
    before = programme(cli)
    result = ok(cli, "programme", "edit", PROGRAMME, "--name", "  Fresh Wind programme  ", "--alias", "FW",
                "--alias", "Fresh Wind", "--signed", "2019-04-22", "--period-end", "2023")
    version = before["version"] + 1
    assert result.stdout == f"✓ programme fresh-wind edited: name, aliases, signed, period_end (version {version})\n"
    assert programme(cli) == {**before, "name": "Fresh Wind programme", "aliases": ["FW", "Fresh Wind"],
                              "signed": "2019-04-22", "period_end": "2023", "version": version}
    one_event_more(store, demo)
    event = last_event(cli)
    assert (event["actor"], event["action"], event["entity"], event["entity_id"]) == \
        ("tester", "update", "programme", "fresh-wind")
    assert (event["before"]["name"], event["after"]["name"]) == (before["name"], "Fresh Wind programme")
    assert (event["before"]["period_end"], event["after"]["period_end"]) == ("2022", "2023")
    assert event["after"]["parties"] == ["KAZ", "KOR"]


def test_programme_edit_empty_values_clear_the_optional_fields(cli, store, demo):
    before = programme(cli)
    ok(cli, "programme", "edit", PROGRAMME, "--description", "", "--signed", "", "--signed-occasion", "",
       "--period-start", "", "--alias", "")
    assert programme(cli) == {**before, "description": None, "signed": None, "signed_occasion": None,
                              "period_start": None, "aliases": [], "version": before["version"] + 1}
    one_event_more(store, demo)


def test_programme_edit_json_prints_the_programme_as_show_does(cli, store, demo):
    before = programme(cli)
    printed = ok_json(cli, "programme", "edit", PROGRAMME, "--party", "KOR", "--party", "Kazakhstan",
                      "--party", "UZB", "--json")
    assert printed == programme(cli)
    assert printed == {**before, "parties": [{"code": "KOR", "name": "South Korea"},
                                             {"code": "KAZ", "name": "Kazakhstan"},
                                             {"code": "UZB", "name": "Uzbekistan"}],
                       "version": before["version"] + 1}
    one_event_more(store, demo, programme_parties=1)
    event = last_event(cli)
    assert (event["before"]["parties"], event["after"]["parties"]) == (["KAZ", "KOR"], ["KOR", "KAZ", "UZB"])


def test_programme_edit_industries_are_the_whole_new_list(cli, store, demo):
    before = programme(cli)
    ok(cli, "programme", "edit", PROGRAMME, "--industry", "Infrastructure=21030, 21020",
       "--industry", "Energy=23210")
    assert programme(cli) == {**before, "industries": [{"name": "Infrastructure", "dac_codes": ["21020", "21030"]},
                                                       {"name": "Energy", "dac_codes": ["23210"]}],
                              "version": before["version"] + 1}
    assert ok_json(cli, "project", "show", "bakad", "--json")["industry"] == "Infrastructure"
    one_event_more(store, demo, programme_industries=-9, programme_industry_sectors=-15)


def test_rename_industry_alone_keeps_every_industry_its_codes_and_projects(cli, store, demo):
    before = programme(cli)
    result = ok(cli, "programme", "edit", PROGRAMME, "--rename-industry", "Infrastructure = Roads and bridges")
    assert result.stdout == f"✓ programme fresh-wind edited: industries (version {before['version'] + 1})\n"
    renamed = [{**i, "name": "Roads and bridges"} if i["name"] == "Infrastructure" else i
               for i in before["industries"]]
    assert programme(cli) == {**before, "industries": renamed, "version": before["version"] + 1}
    assert ok_json(cli, "project", "show", "bakad", "--json")["industry"] == "Roads and bridges"
    one_event_more(store, demo)


def test_rename_industry_with_industry_renames_the_one_listed_under_its_new_name(cli, store, demo):
    before = programme(cli)
    ok(cli, "programme", "edit", PROGRAMME, "--industry", "Mining=32210", "--industry", "Roads=21020",
       "--rename-industry", "Infrastructure=Roads")
    assert programme(cli) == {**before, "industries": [{"name": "Mining", "dac_codes": ["32210"]},
                                                       {"name": "Roads", "dac_codes": ["21020"]}],
                              "version": before["version"] + 1}
    assert ok_json(cli, "project", "show", "bakad", "--json")["industry"] == "Roads"
    one_event_more(store, demo, programme_industries=-9, programme_industry_sectors=-16)


def test_two_industries_swap_names(cli, store, demo):
    before = programme(cli)
    ok(cli, "programme", "edit", PROGRAMME, "--rename-industry", "Mining=Tourism", "--rename-industry",
       "Tourism=Mining")
    swapped = {"Mining": "Tourism", "Tourism": "Mining"}
    assert programme(cli) == {**before, "version": before["version"] + 1, "industries": [
        {**i, "name": swapped.get(i["name"], i["name"])} for i in before["industries"]]}
    codes = {i["name"]: i["dac_codes"] for i in programme(cli)["industries"]}
    assert (codes["Mining"], codes["Tourism"]) == (["33210"], ["32210", "32220"])
    one_event_more(store, demo)


def test_programme_edit_to_what_it_holds_writes_nothing(cli, store, demo):
    before = programme(cli)
    result = ok(cli, "programme", "edit", PROGRAMME, "--name", before["name"], "--party", "KAZ", "--party", "KOR")
    assert result.stdout == f"✓ programme fresh-wind unchanged: it already reads so (version {before['version']})\n"
    assert programme(cli) == before
    assert count_rows(store) == demo


def test_programme_edit_if_version(cli, store, demo):
    version = programme(cli)["version"]
    stderr = refused(cli, store, lambda: programme(cli), "programme", "edit", PROGRAMME, "--name", "X",
                     "--if-version", str(version - 1))
    assert stderr == (f"error: programme 'fresh-wind' is at version {version}, the edit was based on version "
                      f"{version - 1}; {STALE}\n")
    ok(cli, "programme", "edit", PROGRAMME, "--name", "X", "--if-version", str(version))
    assert (programme(cli)["name"], programme(cli)["version"]) == ("X", version + 1)
    stderr = refused(cli, store, lambda: programme(cli), "programme", "edit", PROGRAMME, "--name", "Y",
                     "--if-version", str(version))
    assert stderr == (f"error: programme 'fresh-wind' is at version {version + 1}, the edit was based on version "
                      f"{version}; {STALE}\n")


INDUSTRIES = ("Information and communication technologies; Digitalisation; Fourth Industrial Revolution; "
              "Transport and logistics centres; Infrastructure; Oil and gas; Mining; Construction; Tourism; "
              "Health care; Education")


@pytest.mark.parametrize(("args", "expected"), [
    pytest.param(("--party", "KAZ", "--party", "XXX"),
                 "error: parties[1] 'XXX' is not a known country; use an ISO 3166 code (KAZ, KOR) or a name such "
                 "as 'Kazakhstan' or 'South Korea'\n", id="unknown-party"),
    pytest.param(("--party", "KAZ"),
                 "error: a programme needs at least two parties, e.g. KAZ and KOR\n", id="one-party"),
    pytest.param(("--party", "KAZ", "--party", "UZB"),
                 "error: party KOR cannot be removed: programme 'fresh-wind' names it as reporter or partner in "
                 "target 1 and 8 commodities of its trade; keep KOR among the parties, or first give those targets "
                 "another reporter and partner\n", id="party-in-use"),
    pytest.param(("--industry", "Mining=32210"),
                 "error: industry 'Infrastructure' cannot be removed: 1 project is filed under it (bakad); file them "
                 "under another industry first, or keep it (a rename keeps them: renamed_from in the API, "
                 "--rename-industry on the command line)\n",
                 id="industry-in-use"),
    pytest.param(("--industry", "",),
                 "error: industry 'Infrastructure' cannot be removed: 1 project is filed under it (bakad); file them "
                 "under another industry first, or keep it (a rename keeps them: renamed_from in the API, "
                 "--rename-industry on the command line)\n",
                 id="no-industries"),
    pytest.param(("--industry", "Infrastructure=21020", "--industry", "Energy=2321"),
                 "error: industries[1].dac_codes '2321' is not a DAC 5-digit sector code; see `cooptrack codes "
                 "sectors` (e.g. 21020 Road transport)\n", id="unknown-dac-code"),
    pytest.param(("--industry", "=21020"),
                 "error: --industry '=21020' needs a name, e.g. --industry \"Infrastructure=21020,21030\"\n",
                 id="industry-without-name"),
    pytest.param(("--rename-industry", "Infra=Roads"),
                 f"error: renamed_from 'Infra' is not one of programme 'fresh-wind' industries ({INDUSTRIES}); "
                 "give the current name of the industry to rename\n", id="rename-unknown-industry"),
    pytest.param(("--rename-industry", "Infrastructure"),
                 "error: --rename-industry 'Infrastructure' needs the current name and the new one, e.g. "
                 "--rename-industry \"Digitalisation=Digital economy\"\n", id="rename-without-new-name"),
    pytest.param(("--rename-industry", "Mining=Ores", "--rename-industry", "Mining=Metals"),
                 "error: --rename-industry renames 'Mining' twice; give it once\n", id="rename-twice"),
    pytest.param(("--rename-industry", "Mining=Ores", "--rename-industry", "Tourism=Ores"),
                 "error: --rename-industry gives two industries the name 'Ores'; give each its own\n",
                 id="rename-to-one-name"),
    pytest.param(("--industry", "Infrastructure=21020", "--rename-industry", "Mining=Ores"),
                 "error: --rename-industry 'Mining=Ores': 'Ores' is not among the --industry options; list it there "
                 "with its DAC codes, or leave out --industry to keep the other industries as they are\n",
                 id="rename-not-listed"),
    pytest.param(("--signed", "2019-13"),
                 "error: signed '2019-13' is not a real calendar date; write 2019, 2019-H1, 2019-Q3, 2019-07 or "
                 "2019-07-15\n", id="bad-date"),
    pytest.param(("--period-start", "2023"),
                 "error: period end 2022-12-31 is before period start 2023-01-01; swap them or fix the date\n",
                 id="period-out-of-order"),
    pytest.param(("--name", "  "), "error: name is required\n", id="blank-name"),
    pytest.param(("--name", "", "--signed", "2019-13", "--party", "KAZ", "--party", "KAZ"),
                 "error: 3 problems; nothing was written\n"
                 "  - name: name is required\n"
                 "  - signed: signed '2019-13' is not a real calendar date; write 2019, 2019-H1, 2019-Q3, 2019-07 "
                 "or 2019-07-15\n"
                 "  - parties[1]: party 'KAZ' is listed twice\n",
                 id="every-problem-at-once"),
])
def test_programme_edit_refusals(cli, store, demo, args, expected):
    assert refused(cli, store, lambda: programme(cli), "programme", "edit", PROGRAMME, *args) == expected


def test_programme_edit_of_an_unknown_programme(cli, store, demo):
    result = cli("programme", "edit", "fresh-breeze", "--name", "X")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "error: programme 'fresh-breeze' does not exist; `cooptrack programme list` shows the ids\n"
    assert count_rows(store) == demo


@pytest.mark.parametrize("args", [(), ("--json",), ("--if-version", "1")], ids=["bare", "json", "if-version"])
def test_programme_edit_without_a_change_is_a_usage_error(cli, store, demo, args):
    stderr = usage_error(cli, store, lambda: programme(cli), "programme", "edit", PROGRAMME, *args)
    assert "Error nothing to edit: give at least one of --name, --description, --alias, --signed, " \
        "--signed-occasion, --period-start, --period-end, --party, --industry or --rename-industry" in stderr
    assert count_rows(store) == demo


# --- source edit ------------------------------------------------------------------------------


def test_source_edit_changes_the_fields_given_and_no_other(cli, store, demo):
    before = source(cli)
    result = ok(cli, "source", "edit", SOURCE, "--title", "Korea and Kazakhstan: 40 projects",
                "--publisher", "  Qazaq TV (English)  ", "--lang", "ru", "--kind", "official")
    version = before["version"] + 1
    assert result.stdout == (f"✓ source qazaqtv-40-projects edited: title, publisher, language, kind "
                             f"(version {version})\n")
    assert source(cli) == {**before, "title": "Korea and Kazakhstan: 40 projects",
                           "publisher": "Qazaq TV (English)", "language": "ru", "kind": "official",
                           "version": version}
    one_event_more(store, demo)
    event = last_event(cli)
    assert (event["actor"], event["action"], event["entity"], event["entity_id"]) == \
        ("tester", "update", "source", str(before["id"]))
    assert (event["before"]["kind"], event["after"]["kind"]) == ("media", "official")
    assert "text" not in event["after"]


def test_source_edit_empty_values_clear_a_field(cli, store, demo):
    before = source(cli)
    ok(cli, "source", "edit", SOURCE, "--publisher", "", "--url", "", "--published", "", "--lang", "",
       "--kind", "", "--credit", "", "--note", "")
    assert source(cli) == {**before, "publisher": None, "url": None, "published": None, "language": None,
                           "kind": None, "credit": None, "note": None, "version": before["version"] + 1}
    one_event_more(store, demo)
    event = last_event(cli)
    assert (event["before"]["known_from"], event["after"]["known_from"]) == ("2019-12-31", None)


def test_source_edit_json_and_the_number_as_id(cli, store, demo):
    before = source(cli, "2")
    printed = ok_json(cli, "source", "edit", "2", "--published", "2020-01-15", "--credit", "NBK",
                      "--note", " 2019 average ", "--url", "https://nationalbank.kz", "--json")
    after = source(cli, "nbk-2019-average")
    assert printed == {k: v for k, v in after.items() if k != "text"}
    assert after == {**before, "published": "2020-01-15", "credit": "NBK", "note": "2019 average",
                     "url": "https://nationalbank.kz", "version": before["version"] + 1}
    one_event_more(store, demo)
    event = last_event(cli)
    assert (event["entity_id"], event["before"]["known_from"], event["after"]["known_from"]) == \
        ("2", "2020-12-31", "2020-01-15")


def test_source_edit_to_what_it_holds_writes_nothing(cli, store, demo):
    before = source(cli)
    result = ok(cli, "source", "edit", SOURCE, "--kind", "media", "--title", before["title"])
    assert result.stdout == ("✓ source qazaqtv-40-projects unchanged: it already reads so "
                             f"(version {before['version']})\n")
    assert source(cli) == before
    assert count_rows(store) == demo


def test_source_edit_if_version(cli, store, demo):
    version = source(cli)["version"]
    stderr = refused(cli, store, lambda: source(cli), "source", "edit", SOURCE, "--note", "x",
                     "--if-version", str(version + 1))
    assert stderr == (f"error: source 'qazaqtv-40-projects' is at version {version}, the edit was based on version "
                      f"{version + 1}; {STALE}\n")
    ok(cli, "source", "edit", SOURCE, "--note", "x", "--if-version", str(version))
    assert (source(cli)["note"], source(cli)["version"]) == ("x", version + 1)


@pytest.mark.parametrize(("args", "expected"), [
    pytest.param(("--title", ""), "error: title is required\n", id="blank-title"),
    pytest.param(("--title", "   "), "error: title is required\n", id="spaces-title"),
    pytest.param(("--published", "2019-02-30"),
                 "error: published '2019-02-30' is not a real calendar date; write 2019, 2019-H1, 2019-Q3, 2019-07 "
                 "or 2019-07-15\n", id="bad-date"),
    pytest.param(("--kind", "blog"), "error: kind 'blog' is not one of official, media, dataset, company\n",
                 id="unknown-kind"),
    pytest.param(("--lang", "english"), "error: language 'english' is not an ISO 639-1 code such as en or ru\n",
                 id="unknown-language"),
    pytest.param(("--publisher", "P" * 201), "error: publisher is 201 characters; at most 200\n",
                 id="long-publisher"),
    pytest.param(("--title", "", "--kind", "blog", "--note", "fine"),
                 "error: 2 problems; nothing was written\n"
                 "  - title: title is required\n"
                 "  - kind: kind 'blog' is not one of official, media, dataset, company\n",
                 id="every-problem-at-once"),
])
def test_source_edit_refusals(cli, store, demo, args, expected):
    assert refused(cli, store, lambda: source(cli), "source", "edit", SOURCE, *args) == expected


def test_source_edit_of_an_unknown_source(cli, store, demo):
    for key in ("qazaqtv-41-projects", "99"):
        result = cli("source", "edit", key, "--title", "X")
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == f"error: source '{key}' does not exist; `cooptrack source list` shows the ids\n"
    assert count_rows(store) == demo


@pytest.mark.parametrize("args", [(), ("--json",), ("--if-version", "1")], ids=["bare", "json", "if-version"])
def test_source_edit_without_a_change_is_a_usage_error(cli, store, demo, args):
    stderr = usage_error(cli, store, lambda: source(cli), "source", "edit", SOURCE, *args)
    assert "Error nothing to edit: give at least one of --title, --publisher, --url, --published, --lang, " \
        "--kind, --credit or --note" in stderr
    assert count_rows(store) == demo
