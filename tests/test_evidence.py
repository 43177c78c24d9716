"""Evidence through the services, on both databases: the Fresh Wind news text ingested into
pending claims, the review (accept, reject, edit) with the facts it creates and the audit trail,
the reported figures beside the register in the overview, and conflicts between sources."""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal

import pytest
from conftest import count_rows
from sqlalchemy import select
from test_extract import EN, RU

from cooptrack.errors import InvalidInput
from cooptrack.extract import extract
from cooptrack.services.claims import (
    AcceptOptions,
    accept,
    edit,
    get_claim,
    ingest,
    linked,
    list_claims,
    reject,
)
from cooptrack.services.conflicts import find_conflicts, resolve
from cooptrack.services.datasets import demo_path, load_dataset, read_dataset
from cooptrack.services.overview import programme_overview
from cooptrack.services.projects import get_project
from cooptrack.services.sources import SourceSpec
from cooptrack.store.models import AuditEvent, Claim, ConflictResolution, Observation, ReportedFigure, StatusEvent

PUBLISHED = "2019-09-01"
SECOND = ("The package of Kazakh-Korean cooperation now includes 40 industrial projects worth US$7.2 billion, "
          "the Korean embassy said.")


@pytest.fixture
def demo(write, prepare):
    """The demo's register without its evidence section: these tests ingest and review the texts."""

    def load():
        data = read_dataset(demo_path())
        data.pop("evidence")
        with write() as ctx:
            load_dataset(ctx, data, "fresh_wind.yaml")

    prepare("register without evidence", load)


def ingest_text(write, path, text, published=PUBLISHED, title="Qazaq TV article", encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    with write() as ctx:
        result = ingest(ctx, path, "fresh-wind", SourceSpec(title=title, published=published, kind="media"))
        return result.source.id, result.source_created, result.language, [c.id for c in result.claims]


@pytest.fixture
def claims(demo, write, read, tmp_path, prepare):
    """The EN text ingested for fresh-wind; returns a finder: claim id by kind and quote."""
    prepare("register without evidence, then en.txt ingested", lambda: ingest_text(write, tmp_path / "en.txt", EN))

    def find(kind, quote, nth=0):
        with read() as ctx:
            rows = [(c.id, c.kind, c.quote) for c in ctx.session.scalars(select(Claim).order_by(Claim.id))]
        found = [i for i, k, q in rows if k == kind and q == quote]
        assert len(found) > nth, (kind, quote, rows)
        return found[nth]

    return find


def refused(store, write, call, *args):
    """Run a service call that must raise InvalidInput and write nothing; return the error."""
    before = count_rows(store)
    with pytest.raises(InvalidInput) as info, write() as ctx:
        call(ctx, *args)
    assert count_rows(store) == before
    return info.value


def audit_actions(read, entity, entity_id):
    with read() as ctx:
        return [e.action for e in ctx.session.scalars(
            select(AuditEvent).where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.id))]


# -- ingest ---------------------------------------------------------------------------------------


LANGUAGES = [pytest.param("en", EN, "utf-8", id="en"), pytest.param("ru", RU, "cp1251", id="ru-cp1251")]


@pytest.mark.parametrize(("language", "text", "encoding"), LANGUAGES)
def test_ingest_stores_pending_claims_with_exact_quotes_and_database_links(demo, write, read, tmp_path, language,
                                                                          text, encoding):
    source_id, created, found, ids = ingest_text(write, tmp_path / "news.txt", text, encoding=encoding)
    assert created and found == language and ids
    extraction = extract(text, published=date(2019, 9, 1))
    with read() as ctx:
        stored = [get_claim(ctx, i) for i in ids]
        source = stored[0].source
        assert (source.text, source.published, source.kind, source.language) == (text, PUBLISHED, "media", language)
        assert source.media_type == "text/plain" and source.filename == "news.txt"
        assert len(stored) == len(extraction.claims)
        db_id = {c.extracted["id"]: c.id for c in stored}
        for claim, original in zip(stored, extraction.claims, strict=True):
            assert claim.review == "pending" and claim.source_id == source_id
            assert claim.programme.code == "fresh-wind"
            assert claim.quote == source.text[claim.span_start:claim.span_end] == original.text
            assert claim.method == f"rule:{original.rule}"
            assert claim.links == [db_id[i] for i in original.links]
            assert set(claim.links) <= set(ids) and claim.id not in claim.links
        pending = list_claims(ctx, "fresh-wind")
        assert {c.kind for c in pending} == {"money", "count", "percent", "status"}
    assert audit_actions(read, "source", source_id) == ["create", "ingest"]


@pytest.mark.parametrize(("language", "text", "encoding"), LANGUAGES)
def test_project_mention_is_linked_to_the_registered_project(demo, write, read, tmp_path, language, text,
                                                             encoding):
    """BAKAD is registered with the aliases "BAKAD", "БАКАД" and "Большая Алматинская кольцевая
    автодорога": the mention "Big Almaty Ring Road (BAKAD)" or "Большой Алматинской кольцевой
    автодороги (БАКАД)" is that project."""
    *_, ids = ingest_text(write, tmp_path / "news.txt", text, encoding=encoding)
    with read() as ctx:
        mentions = [c for c in map(functools.partial(get_claim, ctx), ids) if c.kind == "project"]
        assert [(c.quote.endswith(("(BAKAD)", "(БАКАД)")), c.project.code if c.project else None)
                for c in mentions] == [(True, "bakad")]


@pytest.mark.parametrize(("language", "text", "encoding"), LANGUAGES)
def test_package_count_and_amount_land_side_by_side(demo, write, read, tmp_path, language, text, encoding):
    """The package is 40 projects worth about US$7 billion in either language: accepted as they
    were read, both figures sit in the one package row of the overview."""
    *_, ids = ingest_text(write, tmp_path / "news.txt", text, encoding=encoding)
    with write() as ctx:
        (count,) = [c for c in map(functools.partial(get_claim, ctx), ids)
                    if c.kind == "count" and c.subject == "package"]
        (money,) = [m for m in linked(ctx, count) if m.kind == "money"]
        assert (money.amount, money.currency, money.approximate) == (Decimal(7_000_000_000), "USD", True)
        accept(ctx, count.id)
        accept(ctx, money.id)
    with read() as ctx:
        reported = programme_overview(ctx, "fresh-wind").as_dict()["reported"]
    assert [(r["subject"], r["count"]["value"] if r["count"] else None, r["amount"]["value"] if r["amount"] else None)
            for r in reported] == [("package", "40", "7000000000")]


def test_ingesting_the_same_text_again_finds_the_same_claims(demo, store, write, tmp_path):
    first = ingest_text(write, tmp_path / "en.txt", EN)
    before = count_rows(store)
    again = ingest_text(write, tmp_path / "copy.txt", EN, title="The same article again")
    assert count_rows(store) == before
    assert again[1] is False
    assert (again[0], again[2], again[3]) == (first[0], first[2], first[3])


# -- accept ---------------------------------------------------------------------------------------


def test_accepting_19_projects_creates_a_reported_figure_citing_the_claim(claims, write, read):
    claim_id = claims("count", "19 projects")
    with write() as ctx:
        claim = accept(ctx, claim_id)
        assert claim.fact_entity == "reported_figure"
    with read() as ctx:
        claim = get_claim(ctx, claim_id)
        assert (claim.review, claim.reviewed_by) == ("accepted", "tester")
        figure = ctx.session.get(ReportedFigure, int(claim.fact_id))
        assert figure.claim_id == claim_id and figure.source_id == claim.source_id
        assert (figure.subject, figure.status, figure.measure, figure.value, figure.unit) == (
            "project", "implemented", "count", Decimal(19), "project")
    assert audit_actions(read, "claim", claim_id) == ["accept"]


def accept_portfolio(claims, write):
    """Accept the package (40 projects, about US$7 billion) and the programme's 58 projects."""
    package_count = claims("count", "40 Kazakh-Korean industrial and innovative projects")
    package_money = claims("money", "about US$7 billion")
    programme = claims("count", "58 projects")
    with write() as ctx:
        accept(ctx, package_count)
        accept(ctx, package_money)
        accept(ctx, programme, AcceptOptions(subject="programme"))
    return package_count, package_money, programme


def test_package_and_programme_figures(claims, write, read):
    package_count, package_money, programme = accept_portfolio(claims, write)
    with read() as ctx:
        figures = {f.claim_id: f for f in ctx.session.scalars(select(ReportedFigure))}
        assert set(figures) == {package_count, package_money, programme}
        got = {cid: (f.subject, f.status, f.measure, f.value, f.unit, f.approximate) for cid, f in figures.items()}
        assert got == {
            package_count: ("package", None, "count", Decimal(40), "project", False),
            package_money: ("package", None, "amount", Decimal(7_000_000_000), "USD", True),
            programme: ("programme", None, "count", Decimal(58), "project", False),
        }
        assert get_claim(ctx, programme).subject == "programme"  # the reviewer's reading is kept


def test_overview_reports_figures_beside_the_register(claims, write, read):
    _, package_money, programme = accept_portfolio(claims, write)
    with read() as ctx:
        overview = programme_overview(ctx, "fresh-wind").as_dict()
    assert overview["projects_total"] == 2
    reported = {(r["subject"], r["status"]): r for r in overview["reported"]}
    assert list(reported) == [("programme", None), ("package", None)]
    whole = reported["programme", None]
    assert whole["count"]["value"] == "58" and whole["count"]["claim"] == programme
    assert whole["registered"]["count"] == 2
    assert whole["difference"] == {"count": 56, "text": "register: 2 projects; 56 not registered"}
    package = reported["package", None]
    assert package["count"]["value"] == "40"
    assert (package["amount"]["value"], package["amount"]["unit"], package["amount"]["approximate"]) == (
        "7000000000", "USD", True)
    assert package["amount"]["claim"] == package_money and package["amount"]["quote"] == "about US$7 billion"
    assert package["amount"]["source"]["published"] == PUBLISHED
    assert package["difference"] == {"count": 38, "text": "register: 2 projects; 38 not registered"}


def test_accepting_trade_turnover_creates_an_observation_for_2018(claims, write, read):
    claim_id = claims("money", "US$2.5 billion")
    with write() as ctx:
        claim = accept(ctx, claim_id)
        assert claim.fact_entity == "observation"
    with read() as ctx:
        observation = ctx.session.get(Observation, int(get_claim(ctx, claim_id).fact_id))
        assert observation.claim_id == claim_id
        assert (observation.indicator.code, observation.reporter, observation.partner) == (
            "trade_turnover", "KAZ", "KOR")
        assert (observation.period, observation.value, observation.unit) == ("2018", Decimal(2_500_000_000), "USD")
        assert observation.source_id == get_claim(ctx, claim_id).source_id


def test_money_without_period_needs_period_for_an_observation(claims, store, write, read):
    claim_id = claims("money", "about US$4 billion")  # Korean investment: no period stated
    exc = refused(store, write, accept, claim_id, AcceptOptions(as_="observation"))
    assert [f.code for f in exc.findings] == ["missing_period"]
    assert "--period" in exc.message and f"claim {claim_id}" in exc.message
    with read() as ctx:
        assert get_claim(ctx, claim_id).review == "pending"
    with write() as ctx:  # with the period, it goes through
        assert accept(ctx, claim_id, AcceptOptions(as_="observation", period="2019")).fact_entity == "observation"


def test_accepting_twice_is_refused(claims, store, write):
    claim_id = claims("count", "19 projects")
    with write() as ctx:
        accept(ctx, claim_id)
    exc = refused(store, write, accept, claim_id)
    assert [f.code for f in exc.findings] == ["already_accepted"]
    assert f"claim {claim_id} is already accepted" in exc.message


@pytest.mark.parametrize("how", ["option", "link"])
def test_status_claim_for_a_project_creates_a_status_event(claims, write, read, how):
    claim_id = claims("status", "have been implemented")
    with write() as ctx:
        if how == "option":
            claim = accept(ctx, claim_id, AcceptOptions(project="bakad"))
        else:
            edit(ctx, claim_id, {"project": "bakad"})
            claim = accept(ctx, claim_id)
        assert claim.fact_entity == "status_event"
    with read() as ctx:
        event = ctx.session.get(StatusEvent, int(get_claim(ctx, claim_id).fact_id))
        project = get_project(ctx, "bakad")
        assert event.claim_id == claim_id and event.project_id == project.id
        assert (event.status, event.effective) == ("implemented", PUBLISHED)
        assert event.source_id == get_claim(ctx, claim_id).source_id
        assert project.status == "implemented"


def test_status_the_lifecycle_forbids_writes_nothing(claims, store, write, read):
    implemented, executing = claims("status", "have been implemented"), claims("status", "being executed")
    with write() as ctx:
        accept(ctx, implemented, AcceptOptions(project="bakad"))
    exc = refused(store, write, accept, executing, AcceptOptions(project="bakad"))
    assert "cannot go from implemented to in_execution" in exc.message
    with read() as ctx:
        assert get_claim(ctx, executing).review == "pending"
        assert get_project(ctx, "bakad").status == "implemented"


# -- reject and edit ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_needs_a_reason(claims, store, write, reason):
    exc = refused(store, write, reject, claims("money", "US$7 billion"), reason)
    assert [f.code for f in exc.findings] == ["missing_reason"] and "--reason" in exc.message


def test_rejected_claim_is_kept_with_its_reason(claims, write, read):
    claim_id = claims("money", "US$7 billion")  # the headline's figure
    with write() as ctx:
        reject(ctx, claim_id, "  headline; the body says about US$7 billion  ")
    with read() as ctx:
        claim = get_claim(ctx, claim_id)
        assert (claim.review, claim.reason, claim.reviewed_by) == (
            "rejected", "headline; the body says about US$7 billion", "tester")
        assert claim_id not in [c.id for c in list_claims(ctx, "fresh-wind")]
        assert claim_id in [c.id for c in list_claims(ctx, "fresh-wind", review="rejected")]
    assert audit_actions(read, "claim", claim_id) == ["reject"]


def test_rejecting_an_accepted_claim_is_refused(claims, store, write, read):
    claim_id = claims("count", "19 projects")
    with write() as ctx:
        accept(ctx, claim_id)
    exc = refused(store, write, reject, claim_id, "changed my mind")
    assert [f.code for f in exc.findings] == ["already_accepted"]
    with read() as ctx:
        assert get_claim(ctx, claim_id).review == "accepted"


def test_edit_into_an_unknown_currency_is_refused(claims, store, write, read):
    claim_id = claims("money", "about US$7 billion")
    exc = refused(store, write, edit, claim_id, {"currency": "USDD"})
    assert "USDD" in exc.message and "ISO 4217" in exc.message
    assert [(f.code, f.value) for f in exc.findings] == [("unknown_currency", "USDD")]
    with read() as ctx:
        claim = get_claim(ctx, claim_id)
        assert (claim.currency, claim.method) == ("USD", "rule:money.prefix")


@pytest.mark.parametrize(("changes", "code"), [
    ({"amount": "-5"}, "negative_amount"),
    ({"count": "many"}, "bad_count"),
    ({"period": "2019-13"}, "bad_period"),
    ({"project": "no-such-project"}, "not_found"),
    ({"colour": "red"}, "not_editable"),
    ({}, "nothing_to_edit"),
])
def test_edit_into_other_invalid_values_is_refused(claims, store, write, changes, code):
    exc = refused(store, write, edit, claims("money", "about US$7 billion"), changes)
    assert code in [f.code for f in exc.findings]


def test_valid_edit_keeps_the_extracted_reading(claims, write, read):
    claim_id = claims("money", "about US$7 billion")
    with read() as ctx:
        original = dict(get_claim(ctx, claim_id).extracted)
    with write() as ctx:
        edit(ctx, claim_id, {"amount": "7200000000", "approximate": False})
    with write() as ctx:
        edit(ctx, claim_id, {"period": "2019"})
    with read() as ctx:
        claim = get_claim(ctx, claim_id)
        assert claim.extracted == original
        assert (claim.amount, claim.approximate, claim.period) == (Decimal(7_200_000_000), False, "2019")
        assert claim.method.startswith("manual") and claim.method == "manual"
        assert claim.data["amount"] == "7200000000" and claim.review == "pending"
    assert audit_actions(read, "claim", claim_id) == ["edit", "edit"]


def test_first_edit_records_the_rule_it_replaced(claims, write, read):
    claim_id = claims("count", "58 projects")
    with write() as ctx:
        edit(ctx, claim_id, {"subject": "programme"})
    with read() as ctx:
        assert get_claim(ctx, claim_id).method == "manual (was rule:count)"


def test_every_review_action_is_audited(claims, write, read):
    accepted, rejected, edited = claims("count", "19 projects"), claims("money", "US$7 billion"), claims(
        "count", "six projects")
    with write() as ctx:
        accept(ctx, accepted)
        reject(ctx, rejected, "headline")
        edit(ctx, edited, {"count": "7"})
    with read() as ctx:
        events = list(ctx.session.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(("accept", "reject", "edit", "ingest"))).order_by(AuditEvent.id)))
    got = [(e.action, e.entity, e.entity_id, e.actor) for e in events]
    assert got[0][:2] == ("ingest", "source") and got[0][3] == "tester"
    assert got[1:] == [("accept", "claim", str(accepted), "tester"), ("reject", "claim", str(rejected), "tester"),
                       ("edit", "claim", str(edited), "tester")]
    for event in events[1:]:
        assert event.before["review"] == "pending" and event.after is not None
    assert events[0].after["claims"] > 0 and events[0].after["language"] == "en"
    assert events[3].before["count"] == 6 and events[3].after["count"] == 7


# -- conflicts ------------------------------------------------------------------------------------


@pytest.fixture
def two_sources(claims, write, tmp_path):
    """The EN text and, later, the embassy's US$7.2 billion; returns (about 7 bn id, 7.2 bn id)."""
    ingest_text(write, tmp_path / "embassy.txt", SECOND, published="2019-11-12", title="Korean embassy")
    return claims("money", "about US$7 billion"), claims("money", "US$7.2 billion")


def test_package_figures_differ_within_tolerance_as_a_discrepancy(two_sources, read):
    older, newer = two_sources
    with read() as ctx:
        found = find_conflicts(ctx, "fresh-wind")
        assert [(c.a.id, c.b.id, c.severity, c.resolution) for c in found] == [(older, newer, "discrepancy", None)]
        assert found[0].difference == Decimal("0.0278")
        strict = find_conflicts(ctx, "fresh-wind", tolerance=Decimal("0.01"))
        assert [(c.a.id, c.b.id, c.severity, c.difference) for c in strict] == [
            (older, newer, "conflict", Decimal("0.0278"))]


def test_rejected_claims_do_not_conflict(two_sources, write, read):
    older, _ = two_sources
    with write() as ctx:
        reject(ctx, older, "superseded")
    with read() as ctx:
        assert find_conflicts(ctx, "fresh-wind") == []


def test_resolve_by_precedence_prefers_the_newer_media_source(two_sources, write, read):
    older, newer = two_sources
    with write() as ctx:
        row = resolve(ctx, newer, older)
        assert (row.claim_a_id, row.claim_b_id, row.preferred_claim_id) == (older, newer, newer)
        assert row.method == "precedence" and "newer" in row.reason and row.actor == "tester"
    with read() as ctx:
        (conflict,) = find_conflicts(ctx, "fresh-wind")
        assert conflict.resolution is not None and conflict.resolution.preferred_claim_id == newer
        assert {get_claim(ctx, i).review for i in (older, newer)} == {"pending"}  # both kept
    assert audit_actions(read, "conflict", f"{older}/{newer}") == ["resolve"]


def test_manual_resolve_needs_a_reason(two_sources, store, write, read):
    older, newer = two_sources
    for reason in (None, "  "):
        exc = refused(store, write, resolve, older, newer, older, reason)
        assert [f.code for f in exc.findings] == ["missing_reason"] and "--reason" in exc.message
    exc = refused(store, write, resolve, older, newer, 999_999, "a reason")
    assert [f.code for f in exc.findings] == ["bad_choice"]
    with write() as ctx:
        resolve(ctx, older, newer)
    with write() as ctx:  # a person's choice replaces the rule's, in the same row
        resolve(ctx, older, newer, prefer=older, reason="the ambassador's own figure")
    with read() as ctx:
        (row,) = ctx.session.scalars(select(ConflictResolution)).all()
        assert (row.preferred_claim_id, row.method, row.reason) == (older, "manual", "the ambassador's own figure")
        assert get_claim(ctx, older) is not None and get_claim(ctx, newer) is not None
        assert {get_claim(ctx, i).review for i in (older, newer)} == {"pending"}
    assert audit_actions(read, "conflict", f"{older}/{newer}") == ["resolve", "resolve"]
