"""`cooptrack project edit` and `cooptrack target edit`: the options given change and nothing
else, the service records one audit event per edit, and every refusal (bad input, an unknown
record, a stale --if-version, no option at all) leaves the database as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer.main
from conftest import count_rows

from cooptrack.cli import app

STALE = "someone changed it meanwhile: compare with the current record and reapply"
NARNIA = ("'Narnia' is not a known country; use an ISO 3166 code (KAZ, KOR) or a name such as 'Kazakhstan' or "
          "'South Korea'")
PROJECT_OPTIONS = ("--title, --description, --alias, --programme, --industry, --host, --partner, --value, --currency, "
                   "--value-date, --sector, --participant, --planned-start, --planned-end, --actual-start, "
                   "--actual-end, --national-id, --source")
TARGET_OPTIONS = ("--indicator, --reporter, --period, --unit, --partner, --value, --multiple, --baseline-period, "
                  "--baseline-value, --deadline, --hs, --approximate/--exact, --source, --note")
QAZAQTV = {"id": "qazaqtv-40-projects", "title": "Kazakhstan and Korea to implement 40 projects worth US$7 billion",
           "publisher": "Qazaq TV", "published": "2019",
           "url": "https://old.qazaqtv.com/en/view/business/page_204523_kazakhstan-and-korea-to-implement-40-projects-"
                  "worth-us-7-billion"}
NBK = {"id": "nbk-2019-average", "title": "Official average exchange rate of the tenge to the US dollar, 2019",
       "publisher": "National Bank of Kazakhstan", "published": "2020", "url": None}
# The demo's one target (id 1), as `target edit --json` shows a target.
TARGET = {"id": 1, "programme": "fresh-wind", "indicator": "trade_turnover", "reporter": "KAZ", "partner": "KOR",
          "hs_code": None, "period": "2019", "deadline": "2019-12-31", "kind": "multiple", "value": None,
          "multiple": "2", "baseline_period": "2019-H1", "baseline_value": None, "unit": "USD", "approximate": True,
          "source": "qazaqtv-40-projects",
          "note": "Trade turnover expected to double by the end of the year (about US$4 billion).", "version": 1}


@pytest.fixture
def demo(cli_demo: None, store: Any) -> dict[str, int]:
    """The Fresh Wind demo as `cooptrack demo` leaves it; returns its row counts."""
    return count_rows(store)


@pytest.fixture
def run(cli: Any) -> Any:
    """Run a command that must succeed; its stdout, parsed when --json is given."""

    def _run(*args: str) -> Any:
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return json.loads(result.stdout) if "--json" in args else result.stdout

    return _run


def grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The tables whose row count changed, with the change."""
    return {t: after[t] - before[t] for t in after if after[t] != before[t]}


def refused(cli: Any, store: Any, *args: str) -> str:
    """Run a command that must be refused with exit code 1, writing nothing; its stderr."""
    before = count_rows(store)
    result = cli(*args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert count_rows(store) == before
    return result.stderr


def latest_event(run: Any) -> dict[str, Any]:
    [event] = run("audit", "--limit", "1", "--json")
    return dict(event)


def changed_keys(event: dict[str, Any]) -> set[str]:
    before, after = event["before"], event["after"]
    return {k for k in after if before.get(k) != after.get(k)} - {"updated_at", "version"}


def show(run: Any, code: str) -> dict[str, Any]:
    return dict(run("project", "show", code, "--json"))


def target_row(run: Any) -> dict[str, Any]:
    [row] = run("target", "list", "fresh-wind", "--json")
    return dict(row)


def edit_options(group: str) -> list[str]:
    """The options of `cooptrack GROUP edit` that change a field, as --help lists them."""
    command = typer.main.get_command(app).commands[group].commands["edit"]  # type: ignore[attr-defined]
    names = []
    for param in command.params:
        if param.param_type_name != "option" or param.name in ("if_version", "as_json"):
            continue
        names.append("/".join(param.opts + param.secondary_opts))
    return names


# -- project edit ---------------------------------------------------------------------------------


def test_project_edit_changes_what_is_given_and_leaves_the_rest(run, store, demo):
    before = show(run, "bakad")
    assert before["version"] == 2
    out = run("project", "edit", "bakad", "--title", "BAKAD ring road", "--host", "KOR", "--partner", "Kazakhstan",
              "--value", "1000000", "--currency", "USD", "--value-date", "2020-01-01",
              "--planned-start", "2020-01-01", "--planned-end", "2022-12-31",
              "--alias", "BAKAD", "--alias", "Ring road")
    after = show(run, "bakad")
    assert out == "✓ project bakad edited (version 3)\n"
    expected = before | {
        "title": "BAKAD ring road", "host_country": "KOR", "partner_country": "KAZ", "aliases": ["BAKAD", "Ring road"],
        "value": {"amount": "1000000", "currency": "USD", "value_date": "2020-01-01", "source": None, "claim": None},
        "usd": {"amount": "1000000", "rate": "1", "rate_period": "", "rate_source": "identity"},
        "planned": {"start": "2020-01-01", "end": "2022-12-31"}, "version": 3}
    assert after == expected
    assert grown(demo, count_rows(store)) == {"audit_events": 1}
    event = latest_event(run)
    assert (event["action"], event["entity"], event["entity_id"], event["actor"]) == (
        "update", "project", "bakad", "tester")
    assert changed_keys(event) == {"title", "host_country", "partner_country", "aliases", "value_amount",
                                   "value_currency", "value_date", "planned_start", "planned_end"}
    assert (event["before"]["version"], event["after"]["version"]) == (2, 3)


def test_project_edit_sectors_are_the_whole_new_list(run, store, demo):
    before = show(run, "bakad")
    out = run("project", "edit", "bakad", "--sector", "21020=60", "--sector", "21030=40")
    after = show(run, "bakad")
    assert out == "✓ project bakad edited (version 3)\n"
    assert after == before | {"sectors": [{"code": "21020", "percent": "60", "name": "Road transport"},
                                          {"code": "21030", "percent": "40", "name": "Rail transport"}],
                              "version": 3}
    assert grown(demo, count_rows(store)) == {"audit_events": 1, "project_sectors": 1}
    event = latest_event(run)
    assert (event["action"], event["entity_id"], changed_keys(event)) == ("update", "bakad", {"sectors"})
    assert (event["before"]["sectors"], event["after"]["sectors"]) == ({"21020": "100"}, {"21020": "60", "21030": "40"})
    run("project", "edit", "bakad", "--sector", "")  # '' alone: no sectors
    assert show(run, "bakad")["sectors"] == []
    assert grown(demo, count_rows(store)) == {"audit_events": 2, "project_sectors": -1}


def test_project_edit_of_a_field_and_the_sectors_moves_the_version_once(run, demo):
    out = run("project", "edit", "bakad", "--host", "KOR", "--sector", "21030=100")
    assert out == "✓ project bakad edited (version 3)\n"


@pytest.mark.parametrize("if_version", [("--if-version", "2"), ()], ids=["if-version", "version-read"])
def test_project_edit_json_prints_the_project_as_show_does(run, store, demo, if_version):
    printed = run("project", "edit", "bakad", "--description", "The ring road around Almaty.", *if_version, "--json")
    shown = show(run, "bakad")
    assert printed == shown
    assert (shown["description"], shown["version"]) == ("The ring road around Almaty.", 3)
    assert grown(demo, count_rows(store)) == {"audit_events": 1}
    event = latest_event(run)
    assert (event["action"], event["entity_id"], changed_keys(event)) == ("update", "bakad", {"description"})


def test_project_edit_empty_values_remove_optional_fields(run, store, demo):
    run("project", "edit", "car-assembly-plant", "--description", "Plant.", "--value", "5000", "--currency", "USD",
        "--value-date", "2020-01-01", "--actual-start", "2020-02-01", "--actual-end", "2020-03-01",
        "--alias", "Plant", "--national-id", "KZ-PPP-0042")
    before = show(run, "car-assembly-plant")
    assert (before["value"]["amount"], before["actual"], before["aliases"], before["national_id"]) == (
        "5000", {"start": "2020-02-01", "end": "2020-03-01"}, ["Plant"], "KZ-PPP-0042")
    out = run("project", "edit", "car-assembly-plant", "--description", "", "--value", "", "--value-date", "",
              "--actual-start", "", "--actual-end", "", "--alias", "", "--host", "", "--national-id", "",
              "--source", "")
    after = show(run, "car-assembly-plant")
    assert out == "✓ project car-assembly-plant edited (version 4)\n"
    assert after == before | {"description": None, "value": None, "usd": None, "actual": {"start": None, "end": None},
                              "aliases": [], "host_country": None, "source": None, "national_id": None,
                              "version": 4}
    event = latest_event(run)
    assert changed_keys(event) == {"description", "value_amount", "value_currency", "value_date", "actual_start",
                                   "actual_end", "aliases", "host_country", "national_id", "source_id"}
    assert (event["before"]["national_id"], event["after"]["national_id"]) == ("KZ-PPP-0042", None)
    assert (event["before"]["source_id"], event["after"]["source_id"]) == (1, None)


def test_project_edit_source_is_the_value_source_too(run, demo):
    run("project", "edit", "bakad", "--value", "900", "--currency", "USD", "--source", "nbk-2019-average")
    shown = show(run, "bakad")
    assert shown["source"] == NBK | {"kind": "official"}
    assert shown["value"] == {"amount": "900", "currency": "USD", "value_date": None,
                              "source": NBK | {"kind": "official"}, "claim": None}


def test_project_edit_participants_are_the_whole_new_list(run, store, demo):
    out = run("project", "edit", "bakad", "--participant", "Korea Expressway Corporation:contractor:KOR",
              "--participant", "KazAvtoZhol:implementing:Kazakhstan")
    assert out == "✓ project bakad edited (version 3)\n"
    assert show(run, "bakad")["participants"] == [
        {"name": "Korea Expressway Corporation", "role": "contractor", "country": "KOR"},
        {"name": "KazAvtoZhol", "role": "implementing", "country": "KAZ"}]
    # New organisations are the service's own events; the project's edit is one event.
    events = run("audit", "--limit", "3", "--json")
    assert [(e["action"], e["entity"]) for e in events] == [
        ("update", "project"), ("create", "organisation"), ("create", "organisation")]
    assert changed_keys(events[0]) == {"participants"}
    assert grown(demo, count_rows(store)) == {"audit_events": 3, "organisations": 2, "project_participants": 2}
    run("project", "edit", "bakad", "--participant", "KazAvtoZhol:implementing")
    assert show(run, "bakad")["participants"] == [{"name": "KazAvtoZhol", "role": "implementing", "country": "KAZ"}]
    run("project", "edit", "bakad", "--participant", "")
    assert show(run, "bakad")["participants"] == []
    assert grown(demo, count_rows(store)) == {"audit_events": 5, "organisations": 2}


def test_project_edit_programme_and_industry(cli, run, store, demo):
    run("programme", "add", "p2", "--name", "Second programme", "--party", "KAZ", "--party", "KOR",
        "--industry", "Vehicles=32172", "--industry", "Roads=21020")
    # No industry yet: the new programme's industry is derived from the main sector.
    run("project", "edit", "car-assembly-plant", "--programme", "p2")
    shown = show(run, "car-assembly-plant")
    assert (shown["programme"], shown["programme_name"], shown["industry"]) == ("p2", "Second programme", "Vehicles")
    # bakad is filed under Infrastructure, which p2 lacks: moved without --industry, it is filed
    # under p2's industry of its main sector (21020 roads), as a new project would be.
    moved = run("project", "edit", "bakad", "--programme", "p2", "--json")
    assert (moved["programme"], moved["industry"]) == ("p2", "Roads")
    # An industry given with the move is kept, checked against the new programme.
    before = show(run, "bakad")
    stderr = refused(cli, store, "project", "edit", "bakad", "--programme", "fresh-wind", "--industry", "Roads")
    assert stderr.startswith("error: industry 'Roads' is not one of programme 'fresh-wind' industries (")
    assert show(run, "bakad") == before
    run("project", "edit", "bakad", "--industry", "vehicles")
    assert show(run, "bakad")["industry"] == "Vehicles"
    run("project", "edit", "bakad", "--industry", "")  # no sectors or programme given: none derived
    assert show(run, "bakad")["industry"] is None
    alone = run("project", "edit", "bakad", "--programme", "", "--json")
    assert (alone["programme"], alone["programme_name"], alone["industry"]) == (None, None, None)


def test_project_edit_with_the_values_it_has_changes_nothing(run, store, demo):
    before = show(run, "bakad")
    out = run("project", "edit", "bakad", "--title", "Big Almaty Ring Road (BAKAD)", "--host", "KAZ")
    assert out == "✓ project bakad unchanged (version 2): it has these values already\n"
    assert show(run, "bakad") == before
    assert count_rows(store) == demo


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(("--host", "Narnia"), f"host country {NARNIA}", id="unknown-country"),
    pytest.param(("--planned-start", "2020-13-01"), "planned start '2020-13-01' is not a date; write YYYY-MM-DD",
                 id="bad-date"),
    pytest.param(("--value-date", "2020-02-30"), "value date '2020-02-30' is not a date; write YYYY-MM-DD",
                 id="bad-value-date"),
    pytest.param(("--planned-start", "2021-01-01", "--planned-end", "2020-01-01"),
                 "planned end 2020-01-01 is before planned start 2021-01-01; swap them or fix the date",
                 id="end-before-start"),
    pytest.param(("--sector", "99999=100"), "sectors '99999' is not a DAC 5-digit sector code; see `cooptrack codes "
                 "sectors` (e.g. 21020 Road transport)", id="unknown-dac"),
    pytest.param(("--sector", "21020=60", "--sector", "21030=30"), "sector percentages sum to 90, not 100 "
                 "(21020=60, 21030=30); adjust them so they add up to 100", id="sector-sum"),
    pytest.param(("--sector", "21020"), "--sector '21020' must look like 21020=100", id="sector-shape"),
    pytest.param(("--industry", "Nope"), "industry 'Nope' is not one of programme 'fresh-wind' industries "
                 "(Information and communication technologies; Digitalisation; Fourth Industrial Revolution; "
                 "Transport and logistics centres; Infrastructure; Oil and gas; Mining; Construction; Tourism; "
                 "Health care; Education)", id="unknown-industry"),
    pytest.param(("--participant", "NoRole"), "--participant 'NoRole' must look like 'Name:role' or "
                 "'Name:role:country'", id="participant-shape"),
    pytest.param(("--participant", "X:boss"), "participant 'X' role 'boss' is not one of funding, accountable, "
                 "extending, implementing, investor, contractor", id="unknown-role"),
    pytest.param(("--title", ""), "title is required", id="empty-title"),
    pytest.param(("--value", "100"), "a value needs its currency, e.g. --currency USD", id="value-without-currency"),
    pytest.param(("--value", "100", "--currency", "USDD"), "currency 'USDD' is not an ISO 4217 currency code; use a "
                 "code such as USD, KZT or KRW", id="unknown-currency"),
    pytest.param(("--value=-5", "--currency", "USD"), "value -5 is negative; money values must be zero or more",
                 id="negative-value"),
    pytest.param(("--source", "nope"), "source 'nope' does not exist; `cooptrack source list` shows the ids",
                 id="unknown-source"),
])
def test_project_edit_bad_input_is_refused(cli, run, store, demo, args, message):
    before = show(run, "bakad")
    assert refused(cli, store, "project", "edit", "bakad", *args) == f"error: {message}\n"
    assert show(run, "bakad") == before


@pytest.mark.parametrize("code", ["car-assembly-plant", "bakad"])  # bakad is filed under an industry
def test_project_edit_unknown_programme_is_refused(cli, run, store, demo, code):
    """One finding, the programme's (a project filed under an industry also got one saying an
    industry needs a programme)."""
    before = show(run, code)
    stderr = refused(cli, store, "project", "edit", code, "--programme", "nope")
    assert stderr == "error: programme 'nope' does not exist; `cooptrack programme list` shows the ids\n"
    assert show(run, code) == before


def test_project_edit_reports_every_problem(cli, run, store, demo):
    before = show(run, "bakad")
    stderr = refused(cli, store, "project", "edit", "bakad", "--host", "Narnia", "--sector", "99999=100",
                     "--actual-start", "2020-01-01", "--actual-end", "2019-01-01")
    assert stderr.splitlines() == [
        "error: 3 problems; nothing was written",
        f"  - host country: host country {NARNIA}",
        "  - actual end: actual end 2019-01-01 is before actual start 2020-01-01; swap them or fix the date",
        "  - sectors: sectors '99999' is not a DAC 5-digit sector code; see `cooptrack codes sectors` "
        "(e.g. 21020 Road transport)"]
    assert show(run, "bakad") == before


def test_project_edit_of_one_date_is_checked_against_the_stored_other(cli, run, store, demo):
    run("project", "edit", "bakad", "--planned-start", "2021-01-01")
    before = show(run, "bakad")
    stderr = refused(cli, store, "project", "edit", "bakad", "--planned-end", "2020-06-30")
    assert stderr == "error: planned end 2020-06-30 is before planned start 2021-01-01; swap them or fix the date\n"
    assert show(run, "bakad") == before


@pytest.mark.parametrize("args", [("--description", "Texts only."), ("--host", "KOR")], ids=["text", "field"])
def test_project_edit_stale_version_is_refused(cli, run, store, demo, args):
    run("project", "edit", "bakad", "--alias", "BAKAD")  # version 2 -> 3
    before = show(run, "bakad")
    stderr = refused(cli, store, "project", "edit", "bakad", *args, "--if-version", "2")
    assert stderr == f"error: project 'bakad' is at version 3, the edit was based on version 2; {STALE}\n"
    assert show(run, "bakad") == before
    run("project", "edit", "bakad", *args, "--if-version", "3")
    assert show(run, "bakad")["version"] == 4


def test_project_edit_unknown_project_is_refused(cli, store, demo):
    for extra in ((), ("--if-version", "1")):
        stderr = refused(cli, store, "project", "edit", "nope", "--title", "X", *extra)
        assert stderr == "error: project 'nope' does not exist; `cooptrack project list` shows the ids\n"


# -- target edit ----------------------------------------------------------------------------------


def test_target_edit_changes_what_is_given_and_leaves_the_rest(run, store, demo):
    before = target_row(run)
    out = run("target", "edit", "1", "--note", "Double by the end of 2019.", "--exact", "--source", "nbk-2019-average")
    assert out == "✓ target 1 edited: trade_turnover KAZ-KOR 2019 (version 2)\n"
    assert target_row(run) == before | {"note": "Double by the end of 2019.", "approximate": False, "source": NBK}
    assert before["source"] == QAZAQTV
    assert grown(demo, count_rows(store)) == {"audit_events": 1}
    event = latest_event(run)
    assert (event["action"], event["entity"], event["entity_id"], event["actor"]) == (
        "update", "target", "1", "tester")
    assert changed_keys(event) == {"note", "approximate", "source_id"}
    assert (event["before"]["version"], event["after"]["version"]) == (1, 2)


def test_target_edit_json_prints_the_target(run, store, demo):
    printed = run("target", "edit", "1", "--partner", "South Korea", "--approximate", "--json")
    assert printed == TARGET  # the values it had: unchanged, version 1
    assert count_rows(store) == demo
    printed = run("target", "edit", "1", "--hs", "2709", "--if-version", "1", "--json")
    assert printed == TARGET | {"hs_code": "2709", "version": 2}
    assert target_row(run)["hs_code"] == "2709"
    assert grown(demo, count_rows(store)) == {"audit_events": 1}


def test_target_edit_with_the_values_it_has_changes_nothing(run, store, demo):
    before = target_row(run)
    out = run("target", "edit", "1", "--reporter", "Kazakhstan", "--unit", "USD")
    assert out == "✓ target 1 unchanged (version 1): it has these values already\n"
    assert target_row(run) == before
    assert count_rows(store) == demo


def test_target_edit_period_moves_a_deadline_at_its_end(run, demo):
    moved = run("target", "edit", "1", "--period", "2020", "--json")
    assert (moved["period"], moved["deadline"], moved["version"]) == ("2020", "2020-12-31", 2)
    kept = run("target", "edit", "1", "--deadline", "2021-06-30", "--json")
    assert (kept["period"], kept["deadline"]) == ("2020", "2021-06-30")
    kept = run("target", "edit", "1", "--period", "2021", "--json")  # a deadline of its own stays
    assert (kept["period"], kept["deadline"]) == ("2021", "2021-06-30")
    back = run("target", "edit", "1", "--deadline", "", "--json")  # '': the period's end
    assert back["deadline"] == "2021-12-31"


def test_target_edit_switches_between_absolute_and_multiple(run, store, demo):
    absolute = run("target", "edit", "1", "--value", "5000000000", "--multiple", "", "--json")
    assert absolute == TARGET | {"kind": "absolute", "value": "5000000000", "multiple": None, "version": 2}
    row = target_row(run)
    assert (row["kind"], row["target_value"], row["multiple"]) == ("absolute", "5000000000", None)
    multiple = run("target", "edit", "1", "--multiple", "3", "--value", "", "--json")
    assert multiple == TARGET | {"multiple": "3", "version": 3}
    row = target_row(run)
    assert (row["kind"], row["target_value"], row["multiple"]) == ("multiple", "6000000000", "3")
    assert grown(demo, count_rows(store)) == {"audit_events": 2}


def test_target_edit_empty_values_remove_optional_fields(run, demo):
    out = run("target", "edit", "1", "--note", "", "--source", "", "--partner", "")
    assert out == "✓ target 1 edited: trade_turnover KAZ-world 2019 (version 2)\n"
    shown = run("target", "edit", "1", "--note", "", "--json")  # nothing left to remove: unchanged
    assert shown == TARGET | {"note": None, "source": None, "partner": None, "version": 2}
    row = target_row(run)
    assert (row["note"], row["source"], row["partner"]) == (None, None, None)


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(("--reporter", "Narnia"), f"reporter {NARNIA}", id="unknown-country"),
    pytest.param(("--deadline", "2020-02-30"), "deadline '2020-02-30' is not a date; write YYYY-MM-DD",
                 id="bad-date"),
    pytest.param(("--period", "2019-H3"), "period '2019-H3' is not a period; write 2019, 2019-H1, 2019-Q3, 2019-07 "
                 "or 2019-07-15", id="bad-period"),
    pytest.param(("--indicator", "nope"), "indicator 'nope' is not known; use one of enterprises, exports, "
                 "fdi_inflow, fdi_stock, imports, joint_ventures, re_exports, re_imports, trade_turnover",
                 id="unknown-indicator"),
    pytest.param(("--unit", "XYZ"), "unit 'XYZ' is not an ISO 4217 currency code; use a code such as USD, KZT or KRW",
                 id="unknown-unit"),
    pytest.param(("--value", "5"), "give either an absolute --value or a --multiple of the baseline, not both",
                 id="value-and-multiple"),
    pytest.param(("--baseline-period", ""), "a multiple needs --baseline-period (e.g. 2019-H1)",
                 id="multiple-without-baseline"),
    pytest.param(("--hs", "9876"), "hs_code '9876' is not an HS 2022 code at 2, 4 or 6 digits; e.g. 2709 "
                 "(crude petroleum)", id="unknown-hs"),
    pytest.param(("--source", "nope"), "source 'nope' does not exist; `cooptrack source list` shows the ids",
                 id="unknown-source"),
    pytest.param(("--reporter", ""), "a target's reporter cannot be removed; give a new one", id="removed-reporter"),
])
def test_target_edit_bad_input_is_refused(cli, run, store, demo, args, message):
    before = target_row(run)
    assert refused(cli, store, "target", "edit", "1", *args) == f"error: {message}\n"
    assert target_row(run) == before


def test_target_edit_reports_every_problem(cli, run, store, demo):
    before = target_row(run)
    stderr = refused(cli, store, "target", "edit", "1", "--partner", "Narnia", "--deadline", "2020-02-30",
                     "--unit", "")
    assert stderr.splitlines() == [
        "error: 3 problems; nothing was written",
        "  - unit: a target's unit cannot be removed; give a new one",
        f"  - partner: partner {NARNIA}",
        "  - deadline: deadline '2020-02-30' is not a date; write YYYY-MM-DD"]
    assert target_row(run) == before


def test_target_edit_stale_version_is_refused(cli, run, store, demo):
    run("target", "edit", "1", "--note", "Checked.")  # version 1 -> 2
    before = target_row(run)
    stderr = refused(cli, store, "target", "edit", "1", "--period", "2020", "--if-version", "1")
    assert stderr == f"error: target '1' is at version 2, the edit was based on version 1; {STALE}\n"
    assert target_row(run) == before
    assert run("target", "edit", "1", "--period", "2020", "--if-version", "2", "--json")["version"] == 3


def test_target_edit_unknown_target_is_refused(cli, store, demo):
    for extra in ((), ("--if-version", "1")):
        stderr = refused(cli, store, "target", "edit", "99", "--note", "x", *extra)
        assert stderr == ("error: target 99 does not exist; `cooptrack target list PROGRAMME` (or GET "
                          "/api/v1/programmes/PROGRAMME/targets) lists a programme's targets with their ids\n")


# -- both -----------------------------------------------------------------------------------------


def panel_text(stderr: str) -> str:
    """The message of a usage error, without the box drawn around it."""
    return " ".join(line.strip("│ ") for line in stderr.splitlines() if line.startswith("│"))


@pytest.mark.parametrize(("args", "options"), [
    pytest.param(("project", "edit", "bakad"), PROJECT_OPTIONS, id="project"),
    pytest.param(("project", "edit", "bakad", "--if-version", "2", "--json"), PROJECT_OPTIONS, id="project-json"),
    pytest.param(("project", "edit", "nope"), PROJECT_OPTIONS, id="project-unknown"),
    pytest.param(("target", "edit", "1"), TARGET_OPTIONS, id="target"),
    pytest.param(("target", "edit", "1", "--if-version", "1", "--json"), TARGET_OPTIONS, id="target-json"),
])
def test_edit_without_an_option_is_a_usage_error(cli, store, demo, args, options):
    result = cli(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert f" {args[0]} edit --help' for help." in result.stderr
    assert panel_text(result.stderr) == f"nothing to edit: give at least one of {options}"
    assert count_rows(store) == demo


@pytest.mark.parametrize(("group", "options"), [("project", PROJECT_OPTIONS), ("target", TARGET_OPTIONS)])
def test_the_usage_error_names_every_option_of_the_command(group, options):
    assert ", ".join(edit_options(group)) == options


def test_target_show_gives_the_version_edit_needs(run, cli, demo):
    shown = run("target", "show", "1", "--json")
    assert (shown["id"], shown["programme"], shown["indicator"], shown["version"]) == (1, "fresh-wind",
                                                                                       "trade_turnover", 1)
    edited = run("target", "edit", "1", "--note", "checked", "--if-version", str(shown["version"]), "--json")
    assert run("target", "show", "1", "--json") == edited and edited["version"] == 2
    text = cli("target", "show", "1")
    assert text.exit_code == 0 and "note: checked\n" in text.stdout and "version: 2\n" in text.stdout
    missing = cli("target", "show", "99")
    assert missing.exit_code == 1 and "target 99 does not exist" in missing.stderr
