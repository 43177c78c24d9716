"""Evidence through the command line, on both databases: `extract`, `source add`, `ingest`,
`claims list|show|accept|reject|edit`, `conflicts [resolve]` and the overview's reported
figures; and the bad inputs (empty, binary, too large, scripts, a claim accepted twice, an edit
into an invalid value), each with its message, exit code 1 and nothing written."""

from __future__ import annotations

import json
import random

import pytest
from conftest import count_rows
from test_documents import HTML, make_pdf
from test_extract import EN

from cooptrack.services.datasets import demo_path, read_dataset
from cooptrack.services.documents import DEFAULT_MAX_MB, read_document

MB = 1024 * 1024
PUBLISHED = "2019-09-01"
SECOND = ("The package of Kazakh-Korean cooperation now includes 40 industrial projects worth US$7.2 billion, "
          "the Korean embassy said.")
GERMAN = ("Kasachstan und Korea wollen gemeinsam 40 Projekte im Wert von sieben Milliarden Dollar umsetzen, sagte "
          "der Botschafter der Republik Korea am Montag vor Journalisten in der Hauptstadt des Landes.")


def write_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def ok(cli, *args):
    result = cli(*args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result


def ok_json(cli, *args):
    return json.loads(ok(cli, *args, "--json").stdout)


def refused(cli, store, before, *args, code=1):
    """A command that must fail with ``code`` and write nothing; returns its stderr."""
    result = cli(*args)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    if code == 1:
        assert result.stderr.startswith("error: "), result.stderr
    assert count_rows(store) == before
    return result.stderr


@pytest.fixture
def demo(cli, store, tmp_path, prepare):
    """The demo's register without its evidence section: these tests ingest and review the texts.
    Returns the row counts right after."""
    data = read_dataset(demo_path())
    data.pop("evidence")
    path = tmp_path / "register.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    prepare("register without evidence, through `cooptrack load`", lambda: ok(cli, "load", str(path)))
    return count_rows(store)


def ingest(cli, path, published=PUBLISHED, *extra):
    return ok_json(cli, "ingest", path, "--programme", "fresh-wind", "--published", published, "--kind", "media",
                   *extra)


@pytest.fixture
def claims(demo, cli, tmp_path, prepare):
    """The EN text ingested for fresh-wind; returns a finder: claim id by kind and quote."""
    path = write_file(tmp_path, "qazaqtv.txt", EN)
    prepare("register without evidence, then qazaqtv.txt through `cooptrack ingest`", lambda: ingest(cli, path))

    def find(kind, quote):
        rows = ok_json(cli, "claims", "list", "--review", "all", "--all-kinds")
        found = [r["id"] for r in rows if r["kind"] == kind and r["quote"] == quote]
        assert len(found) == 1, (kind, quote, found)
        return found[0]

    return find


# -- extract --------------------------------------------------------------------------------------


def test_extract_json_gives_language_and_claims_with_exact_spans(cli, store, tmp_path):
    before = count_rows(store)
    path = write_file(tmp_path, "qazaqtv.txt", EN)
    data = ok_json(cli, "extract", path, "--published", PUBLISHED)
    assert set(data) == {"language", "claims"} and data["language"] == "en"
    assert len(data["claims"]) > 20
    for claim in data["claims"]:
        assert EN[claim["start"]:claim["end"]] == claim["text"]
    trade = [c for c in data["claims"] if c["kind"] == "money" and c["amount"] == "2500000000"]
    assert [(c["currency"], c["subject"], c["period"]) for c in trade] == [("USD", "trade_turnover", "2018")]
    assert count_rows(store) == before  # extract stores nothing


def test_extract_html_spans_refer_to_the_main_text_and_skip_scripts(cli, tmp_path):
    path = write_file(tmp_path, "page.html", HTML)
    text = read_document(tmp_path / "page.html").text
    data = ok_json(cli, "extract", path)
    assert data["claims"]
    for claim in data["claims"]:
        assert text[claim["start"]:claim["end"]] == claim["text"]
        assert "9 billion" not in claim["text"] and claim.get("amount") != "9000000000"


def test_extract_reads_a_pdf(cli, tmp_path):
    path = write_file(tmp_path, "note.pdf", make_pdf(b"BT /F1 12 Tf 72 720 Td (Korea invested US$2 billion) Tj ET"))
    data = ok_json(cli, "extract", path, "--lang", "en")
    money = [c for c in data["claims"] if c["kind"] == "money"]
    assert [(c["text"], c["amount"], c["currency"]) for c in money] == [("US$2 billion", "2000000000", "USD")]


def test_extract_refuses_an_unknown_language_code(cli, store, tmp_path):
    stderr = refused(cli, store, count_rows(store), "extract", write_file(tmp_path, "en.txt", EN), "--lang", "xx")
    assert "language 'xx' is not supported" in stderr and "en or ru" in stderr


def test_extract_refuses_a_text_in_another_language(cli, store, tmp_path):
    stderr = refused(cli, store, count_rows(store), "extract", write_file(tmp_path, "de.txt", GERMAN))
    assert "not English or Russian" in stderr and "--lang" in stderr


# -- sources and ingest ---------------------------------------------------------------------------


def test_source_add_twice_finds_the_existing_source(demo, cli, store, tmp_path):
    path = write_file(tmp_path, "qazaqtv.txt", EN)
    first = ok_json(cli, "source", "add", path, "--published", PUBLISHED, "--kind", "media")
    assert first["created"] is True and first["characters"] == len(EN)
    before = count_rows(store)
    again = ok_json(cli, "source", "add", write_file(tmp_path, "copy.txt", EN), "--title", "Another title")
    assert again["created"] is False and (again["id"], again["sha256"]) == (first["id"], first["sha256"])
    text = ok(cli, "source", "add", path).stdout
    assert f"already stored as source {first['id']}" in text
    assert count_rows(store) == before
    listed = ok_json(cli, "source", "list")
    assert [s["id"] for s in listed].count(first["id"]) == 1
    shown = ok_json(cli, "source", "show", str(first["id"]))
    assert (shown["text"], shown["filename"], shown["published"]) == (EN, "qazaqtv.txt", PUBLISHED)


@pytest.mark.parametrize("command", [("source", "add"), ("ingest", "--programme", "fresh-wind")])
def test_unknown_language_code_is_refused_when_storing(demo, cli, store, tmp_path, command):
    """`--lang` takes en or ru (its help says so; `extract` and `ingest` refuse others): a source
    must not be stored as language 'xx'."""
    stderr = refused(cli, store, demo, *command, write_file(tmp_path, "en.txt", EN), "--lang", "xx")
    assert "'xx'" in stderr


def test_ingest_then_again_writes_nothing_new(demo, cli, store, tmp_path):
    path = write_file(tmp_path, "qazaqtv.txt", EN)
    first = ingest(cli, path)
    assert first["source_created"] is True and first["language"] == "en"
    for row in first["claims"]:
        assert EN[row["start"]:row["end"]] == row["quote"] and row["review"] == "pending"
        assert row["programme"] == "fresh-wind" and row["method"].startswith("rule:")
    before = count_rows(store)
    again = ingest(cli, path)
    assert again["source_created"] is False
    assert [r["id"] for r in again["claims"]] == [r["id"] for r in first["claims"]]
    assert count_rows(store) == before
    assert "already stored" in ok(cli, "ingest", path, "--programme", "fresh-wind").stdout


def test_claims_list_and_show(claims, cli):
    pending = ok_json(cli, "claims", "list")
    assert pending and {r["kind"] for r in pending} == {"money", "count", "percent", "status"}
    assert {r["review"] for r in pending} == {"pending"}
    everything = ok_json(cli, "claims", "list", "--review", "all", "--all-kinds")
    assert len(everything) > len(pending) and {"party", "sector", "project"} <= {r["kind"] for r in everything}
    assert ok_json(cli, "claims", "list", "--programme", "fresh-wind") == pending

    claim_id = claims("money", "US$2.5 billion")
    shown = ok_json(cli, "claims", "show", str(claim_id))
    assert (shown["id"], shown["quote"], shown["amount"], shown["currency"], shown["period"]) == (
        claim_id, "US$2.5 billion", "2500000000", "USD", "2018")
    assert EN[shown["start"]:shown["end"]] == shown["quote"]
    assert shown["source_title"] == "qazaqtv"
    assert [o["id"] for o in shown["linked"]] == shown["links"] and shown["links"]
    assert [o["quote"] for o in shown["linked"]] == ["Last year"]
    text = ok(cli, "claims", "show", str(claim_id)).stdout
    assert "US$2.5 billion" in text and "trade turnover" in text


def test_claims_show_unknown_id(claims, cli, store):
    stderr = refused(cli, store, count_rows(store), "claims", "show", "999999")
    assert "claim 999999 does not exist" in stderr


# -- review ---------------------------------------------------------------------------------------


def test_claims_accept_creates_the_fact(claims, cli, store):
    claim_id = claims("count", "19 projects")
    before = count_rows(store)
    text = ok(cli, "claims", "accept", str(claim_id)).stdout
    assert f"claim {claim_id} accepted: reported_figure" in text
    after = count_rows(store)
    assert after["reported_figures"] == before["reported_figures"] + 1
    assert after["audit_events"] == before["audit_events"] + 2  # the figure created, the claim accepted
    shown = ok_json(cli, "claims", "show", str(claim_id))
    assert shown["review"] == "accepted" and shown["reviewed_by"] == "tester"
    assert shown["fact"]["entity"] == "reported_figure"


def test_claims_accept_observation_and_needs_period(claims, cli, store):
    trade = claims("money", "US$2.5 billion")
    assert f"claim {trade} accepted: observation" in ok(cli, "claims", "accept", str(trade)).stdout
    investment = claims("money", "about US$4 billion")
    stderr = refused(cli, store, count_rows(store), "claims", "accept", str(investment), "--as", "observation")
    assert "does not say its period" in stderr and "--period" in stderr
    ok(cli, "claims", "accept", str(investment), "--as", "observation", "--period", "2019")


def test_claims_accept_unknown_fact_kind(claims, cli, store):
    stderr = refused(cli, store, count_rows(store), "claims", "accept", str(claims("count", "19 projects")),
                     "--as", "rumour")
    assert "--as 'rumour' is not one of" in stderr


def test_claim_accepted_twice_is_refused(claims, cli, store):
    claim_id = claims("count", "19 projects")
    ok(cli, "claims", "accept", str(claim_id))
    stderr = refused(cli, store, count_rows(store), "claims", "accept", str(claim_id))
    assert f"claim {claim_id} is already accepted" in stderr and "nothing to do" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_claims_reject_keeps_the_reason(claims, cli, store):
    claim_id = claims("money", "US$7 billion")
    refused(cli, store, count_rows(store), "claims", "reject", str(claim_id), code=2)  # --reason is required
    stderr = refused(cli, store, count_rows(store), "claims", "reject", str(claim_id), "--reason", " ")
    assert "--reason" in stderr
    assert f"claim {claim_id} rejected" in ok(cli, "claims", "reject", str(claim_id), "--reason", "headline").stdout
    shown = ok_json(cli, "claims", "show", str(claim_id))
    assert (shown["review"], shown["reason"]) == ("rejected", "headline")
    assert claim_id in [r["id"] for r in ok_json(cli, "claims", "list", "--review", "rejected")]
    assert claim_id not in [r["id"] for r in ok_json(cli, "claims", "list")]


def test_rejecting_an_accepted_claim_is_refused(claims, cli, store):
    claim_id = claims("count", "19 projects")
    ok(cli, "claims", "accept", str(claim_id))
    stderr = refused(cli, store, count_rows(store), "claims", "reject", str(claim_id), "--reason", "oops")
    assert f"claim {claim_id} is accepted" in stderr


@pytest.mark.parametrize(("args", "expected"), [
    pytest.param(("--currency", "USDD"), ["currency 'USDD' is not an ISO 4217 currency code"], id="currency"),
    pytest.param(("--amount=-5",), ["amount -5 is negative"], id="negative-amount"),
    pytest.param(("--amount", "seven"), ["amount 'seven' is not a number"], id="amount-not-a-number"),
    pytest.param(("--count", "many"), ["count 'many' is not a whole number"], id="count"),
    pytest.param(("--period", "2019-13"), ["period '2019-13'"], id="period"),
    pytest.param(("--status", "dreaming"), ["dreaming"], id="status"),
    pytest.param(("--project", "nowhere"), ["nowhere"], id="project"),
    pytest.param((), ["give at least one change"], id="nothing"),
])
def test_claim_edited_into_an_invalid_value_is_refused(claims, cli, store, args, expected):
    claim_id = claims("money", "about US$7 billion")
    stderr = refused(cli, store, count_rows(store), "claims", "edit", str(claim_id), *args)
    for part in expected:
        assert part in stderr
    shown = ok_json(cli, "claims", "show", str(claim_id))
    assert (shown["amount"], shown["currency"], shown["method"]) == ("7000000000", "USD", "rule:money.prefix")


def test_claims_edit_keeps_the_extracted_reading(claims, cli):
    claim_id = claims("money", "about US$7 billion")
    text = ok(cli, "claims", "edit", str(claim_id), "--amount", "7200000000", "--exact").stdout
    assert f"claim {claim_id} edited: 7.2 bn USD (package" in text
    shown = ok_json(cli, "claims", "show", str(claim_id))
    assert (shown["amount"], shown["approximate"]) == ("7200000000", False)
    assert shown["method"] == "manual (was rule:money.prefix)"
    assert (shown["extracted"]["amount"], shown["extracted"]["approximate"]) == ("7000000000", True)


# -- conflicts and the overview -------------------------------------------------------------------


def test_conflicts_list_and_resolve(claims, cli, store, tmp_path):
    assert ok_json(cli, "conflicts") == []
    ingest(cli, write_file(tmp_path, "embassy.txt", SECOND), "2019-11-12")
    older, newer = claims("money", "about US$7 billion"), claims("money", "US$7.2 billion")
    (row,) = ok_json(cli, "conflicts")
    assert (row["a"]["id"], row["b"]["id"], row["severity"], row["difference"]) == (
        older, newer, "discrepancy", "0.0278")
    assert (row["a"]["source_kind"], row["b"]["source_title"], row["resolution"]) == ("media", "embassy", None)
    (strict,) = ok_json(cli, "conflicts", "--tolerance", "1", "--programme", "fresh-wind")
    assert strict["severity"] == "conflict"
    assert "2.8%" in ok(cli, "conflicts").stdout

    before = count_rows(store)
    text = ok(cli, "conflicts", "resolve", str(older), str(newer)).stdout
    assert f"prefer {newer}" in text and "newer source" in text
    after = count_rows(store)
    assert after["conflict_resolutions"] == before["conflict_resolutions"] + 1 and after["claims"] == before["claims"]
    (row,) = ok_json(cli, "conflicts")
    assert row["resolution"]["preferred"] == newer and row["resolution"]["by"] == "tester"
    assert row["resolution"]["method"] == "precedence"

    stderr = refused(cli, store, count_rows(store), "conflicts", "resolve", str(older), str(newer),
                     "--prefer", str(older))
    assert "--reason" in stderr
    ok(cli, "conflicts", "resolve", str(older), str(newer), "--prefer", str(older), "--reason", "the ambassador")
    (row,) = ok_json(cli, "conflicts")
    assert (row["resolution"]["preferred"], row["resolution"]["method"]) == (older, "manual")


def test_conflicts_bad_tolerance(claims, cli, store):
    stderr = refused(cli, store, count_rows(store), "conflicts", "--tolerance", "lots")
    assert "--tolerance" in stderr


def test_overview_shows_reported_figures_beside_the_register(claims, cli):
    for kind, quote, *options in [("count", "40 Kazakh-Korean industrial and innovative projects"),
                                  ("money", "about US$7 billion"),
                                  ("count", "58 projects", "--subject", "programme")]:
        ok(cli, "claims", "accept", str(claims(kind, quote)), *options)
    data = ok_json(cli, "overview", "fresh-wind")
    reported = {r["subject"]: r for r in data["reported"]}
    assert set(reported) == {"programme", "package"}
    assert reported["programme"]["count"]["value"] == "58"
    assert reported["programme"]["difference"]["text"] == "register: 2 projects; 56 not registered"
    assert (reported["package"]["count"]["value"], reported["package"]["amount"]["value"]) == ("40", "7000000000")
    assert reported["package"]["amount"]["approximate"] is True
    text = ok(cli, "overview", "fresh-wind").stdout
    assert "Reported against registered" in text
    assert "~7 bn USD" in text and "58 projects" in text and "56 not registered" in text


# -- bad files ------------------------------------------------------------------------------------

COMMANDS = {
    "extract": ("extract",),
    "source-add": ("source", "add"),
    "ingest": ("ingest", "--programme", "fresh-wind"),
}


def bad_file(tmp_path, kind):
    if kind == "empty":
        return write_file(tmp_path, "empty.txt", b""), ["is empty; nothing to read"]
    if kind == "binary":
        noise = random.Random(3).randbytes(2048)
        return write_file(tmp_path, "data.txt", b"\x01\x00" + noise), ["binary data", "NUL bytes", "not text"]
    if kind == "missing":
        return str(tmp_path / "nowhere.txt"), ["cannot read", "nowhere.txt"]
    if kind == "no-text-pdf":
        return write_file(tmp_path, "scan.pdf", make_pdf(b"0 0 1 rg 72 72 200 200 re f")), ["no text layer", "OCR"]
    raise AssertionError(kind)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", ["empty", "binary", "missing", "no-text-pdf"])
def test_bad_files_are_refused(demo, cli, store, tmp_path, command, kind):
    path, expected = bad_file(tmp_path, kind)
    stderr = refused(cli, store, demo, *COMMANDS[command], path)
    assert len(stderr.strip().splitlines()) == 1, stderr
    for part in expected:
        assert part in stderr, stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_file_above_max_mb_is_refused(demo, cli, store, tmp_path, command):
    # Just over 1 MB, mostly prose without figures (so the accepted run stays quick).
    filler = b"The two delegations discussed cooperation in many areas of mutual interest.\n"
    path = write_file(tmp_path, "huge.txt", EN.encode() + filler * (MB // len(filler) + 1))
    stderr = refused(cli, store, demo, *COMMANDS[command], path, "--max-mb", "1")
    assert "above the 1 MB limit" in stderr and "--max-mb" in stderr
    ok(cli, *COMMANDS[command], path, "--max-mb", "2")  # a higher limit lets it through


@pytest.mark.parametrize("command", COMMANDS)
def test_default_limit_names_the_limit_and_the_option(demo, cli, store, tmp_path, command):
    path = tmp_path / "sparse.txt"
    with path.open("wb") as f:  # a sparse file just above the default limit
        f.seek(DEFAULT_MAX_MB * MB)
        f.write(b"a")
    stderr = refused(cli, store, demo, *COMMANDS[command], str(path))
    assert f"above the {DEFAULT_MAX_MB} MB limit" in stderr and "--max-mb" in stderr


def test_html_script_text_never_becomes_a_claim(demo, cli, store, tmp_path):
    path = write_file(tmp_path, "page.html", HTML)
    result = ingest(cli, path)
    assert result["claims"]
    source = ok_json(cli, "source", "show", str(result["source"]))
    assert "$9 billion" not in source["text"] and "window.track" not in source["text"]
    assert source["filename"] == "page.html"
    for row in result["claims"]:
        assert source["text"][row["start"]:row["end"]] == row["quote"]
        assert "9 billion" not in row["quote"] and row["amount"] != "9000000000"
    amounts = {r["amount"] for r in result["claims"] if r["kind"] == "money"}
    assert amounts == {"7000000000", "2000000000"}
