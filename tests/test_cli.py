"""The happy paths of every command, read back through --json where a command offers it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import count_rows

from cooptrack.store.migrate import head_revision

README = Path(__file__).resolve().parents[1] / "README.md"
RATE_SOURCE = "Central Bank of Uzbekistan, 2022 average"


@pytest.fixture
def run(cli):
    """Run a command that must succeed; return its stdout (parsed when --json is given)."""

    def _run(*args: str):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return json.loads(result.stdout) if "--json" in args else result.stdout

    return _run


@pytest.fixture
def uz(run):
    """The README's invented Uzbekistan-Korea example, registered through the CLI."""
    added = run("programme", "add", "uz-kr", "--name", "Uzbekistan-Korea cooperation", "--party", "Uzbekistan",
                "--party", "South Korea", "--signed", "2022-06", "--start", "2022", "--end", "2026",
                "--industry", "Infrastructure=21020,21030", "--industry", "Health care=12191", "--json")
    assert added == {"code": "uz-kr", "parties": ["UZB", "KOR"]}
    added = run("project", "add", "tashkent-ring", "--title", "Tashkent ring road", "--programme", "uz-kr",
                "--host", "UZB", "--partner", "KOR", "--value", "1200000000000", "--currency", "UZS",
                "--value-date", "2022-07-01", "--sector", "21020=100",
                "--participant", "Korea Expressway Corporation:contractor:KOR", "--json")
    assert added == {"code": "tashkent-ring", "programme": "uz-kr", "industry": "Infrastructure"}
    assert "UZS 2022: 11050 per USD" in run("rate", "add", "UZS", "2022", "11050", "--source", RATE_SOURCE)
    assert "recorded: project tashkent-ring agreed from 2022-06" in run(
        "project", "status", "tashkent-ring", "agreed", "--date", "2022-06")
    run("project", "status", "tashkent-ring", "in_execution", "--date", "2023-03", "--note", "works started")


def test_programme_list_and_show(run, uz):
    [listed] = run("programme", "list", "--json")
    assert (listed["code"], listed["parties"], listed["projects"]) == ("uz-kr", ["UZB", "KOR"], 1)
    assert (listed["signed"], listed["period_start"], listed["period_end"]) == ("2022-06", "2022", "2026")
    shown = run("programme", "show", "uz-kr", "--json")
    assert shown["parties"] == [{"code": "UZB", "name": "Uzbekistan"}, {"code": "KOR", "name": "South Korea"}]
    assert shown["industries"] == [{"name": "Infrastructure", "dac_codes": ["21020", "21030"]},
                                   {"name": "Health care", "dac_codes": ["12191"]}]
    assert "Uzbekistan-Korea cooperation (uz-kr)" in run("programme", "show", "uz-kr")
    assert "uz-kr" in run("programme", "list")


def test_project_list_show_and_status(run, uz):
    [listed] = run("project", "list", "--programme", "uz-kr", "--status", "in_execution", "--json")
    assert (listed["code"], listed["status"], listed["status_since"]) == ("tashkent-ring", "in_execution", "2023-03")
    assert listed["value"] == {"amount": "1200000000000", "currency": "UZS"}
    assert run("project", "list", "--status", "pipeline", "--json") == []
    shown = run("project", "show", "tashkent-ring", "--json")
    assert (shown["host_country"], shown["partner_country"], shown["industry"]) == ("UZB", "KOR", "Infrastructure")
    assert shown["usd"] == {"amount": "108597285.07", "rate": "11050", "rate_period": "2022",
                            "rate_source": RATE_SOURCE}
    assert shown["sectors"] == [{"code": "21020", "percent": "100", "name": "Road transport"}]
    assert shown["participants"] == [{"name": "Korea Expressway Corporation", "role": "contractor", "country": "KOR"}]
    assert [(e["status"], e["effective"], e["note"]) for e in shown["history"]] == [
        ("agreed", "2022-06", None), ("in_execution", "2023-03", "works started")]
    text = run("project", "show", "tashkent-ring")
    assert "Status: in_execution" in text
    assert "Sectors: 21020 (100%)" in text
    assert "Value: 1,200,000,000,000 UZS = 108,597,285.07 USD at 11050 per USD (2022, " in text


def test_observation_and_target(run, uz):
    added = run("observation", "add", "trade_turnover", "--reporter", "UZB", "--partner", "KOR", "--period", "2022",
                "--value", "2300000000", "--unit", "USD", "--flag", "estimated", "--json")
    assert {k: added[k] for k in ("indicator", "reporter", "partner", "period", "value", "unit")} == {
        "indicator": "trade_turnover", "reporter": "UZB", "partner": "KOR", "period": "2022",
        "value": "2300000000", "unit": "USD"}
    [listed] = run("observation", "list", "--indicator", "trade_turnover", "--reporter", "Uzbekistan", "--json")
    assert (listed["id"], listed["flags"], listed["hs_code"]) == (added["id"], ["estimated"], None)
    exports = run("observation", "add", "exports", "--reporter", "UZB", "--partner", "KOR", "--period", "2022-Q1",
                  "--value", "1000", "--unit", "USD", "--hs", "2709", "--json")
    assert exports["period"] == "2022-Q1"
    assert "target" in run("target", "add", "uz-kr", "--indicator", "trade_turnover", "--reporter", "UZB",
                           "--partner", "KOR", "--period", "2026", "--multiple", "2", "--baseline-period", "2022",
                           "--unit", "USD")
    [target] = run("target", "list", "uz-kr", "--json")
    assert (target["kind"], target["multiple"], target["target_value"]) == ("multiple", "2", "4600000000")
    assert target["baseline"] == {"period": "2022", "value": "2300000000"}
    assert "trade_turnover" in run("target", "list", "uz-kr")


def test_rate_list(run, uz):
    assert run("rate", "list", "--json") == [{"currency": "UZS", "period": "2022", "per_usd": "11050",
                                              "source": RATE_SOURCE}]
    assert run("rate", "list", "--currency", "KZT", "--json") == []
    assert re.search(r"UZS\W+2022\W+11050\W", run("rate", "list"))


def test_overview_with_and_without_as_of(run, uz):
    now = run("overview", "uz-kr", "--json")
    assert now["as_of"] is None
    assert [(b["key"], b["count"], b["usd"]) for b in now["by_status"]] == [("in_execution", 1, "108597285.07")]
    assert now["rates_used"] == [{"currency": "UZS", "period": "2022", "per_usd": "11050", "source": RATE_SOURCE}]
    then = run("overview", "uz-kr", "--as-of", "2022-12-31", "--json")
    assert then["as_of"] == "2022-12-31"
    assert [(p["code"], p["status"], p["status_since"]) for p in then["projects"]] == [
        ("tashkent-ring", "agreed", "2022-06")]
    text = run("overview", "uz-kr", "--as-of", "2022-12-31")
    assert "As of: 2022-12-31" in text and "Tashkent ring road" in text


def test_overview_as_of_before_a_status_change(run):
    run("demo")
    run("project", "add", "new-road", "--title", "New road", "--programme", "fresh-wind", "--sector", "21020=100")
    run("project", "status", "new-road", "pipeline", "--date", "2019-03")
    run("project", "status", "new-road", "in_execution", "--date", "2020-05")

    def status(*as_of: str) -> str:
        ov = run("overview", "fresh-wind", *as_of, "--json")
        return next(p["status"] for p in ov["projects"] if p["code"] == "new-road")

    assert status("--as-of", "2019-12-31") == "pipeline"
    assert status() == "in_execution"


def test_audit_json(run, uz):
    events = run("audit", "--json", "--limit", "100")
    assert {e["actor"] for e in events} == {"tester"}
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)  # newest first
    assert ("create", "programme", "uz-kr") in {(e["action"], e["entity"], e["entity_id"]) for e in events}
    [latest] = run("audit", "--entity", "project", "--limit", "1", "--json")
    assert (latest["action"], latest["entity_id"]) == ("status", "tashkent-ring")
    assert latest["before"]["status"] == "agreed" and latest["after"]["status"] == "in_execution"
    assert "tashkent-ring" in run("audit")


@pytest.mark.parametrize(("table", "query", "expected"), [
    ("sectors", "21020", {"code": "21020", "name": "Road transport"}),
    ("hs", "2709", {"code": "2709", "level": 4}),
    ("currencies", "KZT", {"code": "KZT", "name": "Tenge"}),
])
def test_codes(run, table, query, expected):
    rows = run("codes", table, query, "--json")
    first = next(r for r in rows if r["code"] == query)
    assert {k: first[k] for k in expected} == expected
    assert query in run("codes", table, query)


DATASET = """\
format: cooptrack-dataset/1
sources:
  - {id: mini-src, title: Mini source, published: "2020"}
rates:
  - {currency: KZT, period: "2020", per_usd: "412.95", source: NBK 2020 average}
programmes:
  - {id: mini, name: Mini programme, parties: [KAZ, KOR], source: mini-src}
projects:
  - {id: mini-road, programme: mini, title: Mini road, value: 4129500, currency: KZT, value_date: 2020-06-01,
     sectors: {"21020": 100}, status: [{status: pipeline, effective: "2020", source: mini-src}]}
observations:
  - {indicator: trade_turnover, reporter: KAZ, partner: KOR, period: "2020", value: "10", unit: USD}
targets:
  - {programme: mini, indicator: trade_turnover, reporter: KAZ, partner: KOR, period: "2021", value: "20", unit: USD}
"""


def test_load_with_and_without_dry_run(run, store, tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(DATASET, encoding="utf-8")
    before = count_rows(store)
    assert "dry run, nothing written" in run("load", str(path), "--dry-run")
    assert count_rows(store) == before
    assert "loaded: 1 sources, 1 rates, 1 programmes, 1 projects, 1 observations, 1 targets" in run("load", str(path))
    after = count_rows(store)
    assert {t: after[t] - before[t] for t in ("programmes", "projects", "status_events", "observations", "targets",
                                               "exchange_rates", "sources")} == dict.fromkeys(
        ("programmes", "projects", "status_events", "observations", "targets", "exchange_rates", "sources"), 1)
    ov = run("overview", "mini", "--json")
    assert (ov["totals"]["count"], ov["totals"]["usd"]) == (1, "10000.00")


def test_db_commands(run, db_url):
    assert f"revision {head_revision()} (this cooptrack: {head_revision()})" in run("db", "current")
    assert "models and migrations agree" in run("db", "check")
    assert head_revision() in run("init")
    assert head_revision() in run("db", "upgrade")


def _readme_commands() -> list[str]:
    """The command words of every `cooptrack ...` span in README's CLI section: 'project add|list' gives
    'project', 'project add', 'project list' (the second word only counts when it is lower-case)."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Command line\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match is not None, "README.md must have a '## Command line' section"
    found = []
    for span in re.findall(r"`cooptrack ([^`]+)`", match.group(1)):
        words = span.replace("\\|", "|").split()
        for first in words[0].split("|"):
            found.append(first)
            if len(words) > 1 and re.fullmatch(r"[a-z][a-z_-]*(\|[a-z][a-z_-]*)*", words[1]):
                found.extend(f"{first} {second}" for second in words[1].split("|"))
    return found


def test_readme_commands_exist_in_help(cli):
    commands = _readme_commands()
    assert len(commands) > 10, commands
    helps: dict[tuple[str, ...], str] = {}  # each group's --help, rendered once (74 commands, 16 groups)
    for command in commands:
        *parent, name = command.split()
        if tuple(parent) not in helps:
            helps[tuple(parent)] = cli(*parent, "--help").stdout
        help_text = helps[tuple(parent)]
        if parent and "Commands" not in help_text:
            continue  # `cooptrack overview PROGRAMME`-like: the second word is an argument
        assert re.search(rf"^\W*{re.escape(name)}\s", help_text, re.M), f"`cooptrack {command}` is not in --help"


def _all_commands() -> list[list[str]]:
    import typer.main

    from cooptrack.cli import app

    def walk(command, prefix):  # type: ignore[no-untyped-def]
        subcommands = getattr(command, "commands", None)
        if not subcommands:
            return [prefix]
        return [path for name, sub in subcommands.items() for path in walk(sub, [*prefix, name])]

    return walk(typer.main.get_command(app), [])


def test_every_command_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    commands = _all_commands()
    assert len(commands) > 30
    undocumented = [
        " ".join(path) for path in commands
        if f"cooptrack {' '.join(path)}" not in readme  # e.g. `cooptrack trade mirror`
        and not (len(path) == 2 and f"cooptrack {path[0]} " in readme and path[1] in readme)  # `programme add|list`
    ]
    assert undocumented == [], f"commands missing from README.md: {undocumented}"


def test_a_lost_race_is_a_message_and_exit_code_1():
    """Another writer changing a row between a command's read and its write (StaleDataError, on
    PostgreSQL) is told as the API tells it (412 there), not as a traceback."""
    import typer
    from sqlalchemy.orm.exc import StaleDataError
    from typer.testing import CliRunner

    from cooptrack.cli.common import command

    app = typer.Typer()

    @command(app, "race")
    def race() -> None:
        raise StaleDataError("UPDATE statement on table 'projects' expected to update 1 row(s); 0 were matched.")

    @command(app, "other")
    def other() -> None:
        """A second command, so that Typer keeps the names (with one it would run it bare)."""

    result = CliRunner().invoke(app, ["race"])
    assert result.exit_code == 1
    assert "error: the record was changed by someone else meanwhile; nothing was written: look at it again and " \
        "reapply your change" in " ".join(result.output.split())
    assert "Traceback" not in result.output
