"""The services on both databases: registering, status history, the overview as of a date,
targets, the audit log and all-or-nothing dataset loads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from conftest import count_rows

from cooptrack.errors import InvalidInput
from cooptrack.services.audit import recent
from cooptrack.services.datasets import FORMAT, demo_path, load_dataset, read_dataset
from cooptrack.services.observations import ObservationSpec, add_observation
from cooptrack.services.overview import programme_overview
from cooptrack.services.programmes import IndustrySpec, ProgrammeSpec, get_programme, register_programme
from cooptrack.services.projects import (
    LocationSpec,
    ParticipantSpec,
    ProjectSpec,
    StatusSpec,
    add_status_event,
    get_project,
    history,
    register_project,
)
from cooptrack.services.rates import RateSpec, add_rate
from cooptrack.services.sources import SourceSpec, add_source
from cooptrack.services.targets import TargetSpec, define_target


def programme(ctx, code="kk"):
    return register_programme(ctx, ProgrammeSpec(
        code=code, name="Kazakhstan-Korea", parties=["Kazakhstan", "KOR"], signed="2019-04",
        period_start="2019", period_end="2022",
        industries=[IndustrySpec("Infrastructure", ["21020", "21030"]), IndustrySpec("Energy", ["23210"])]))


def project(ctx, code, sector=None, value=None, currency=None, value_date=None, **status_dates):
    """A project in programme kk, with status events given as status=effective."""
    register_project(ctx, ProjectSpec(code=code, title=code.title(), programme="kk", value=value, currency=currency,
                                      value_date=value_date, sectors={sector: "100"} if sector else {}))
    for status, effective in status_dates.items():
        add_status_event(ctx, StatusSpec(code, status, effective))


def by_key(buckets):
    return {b["key"]: b for b in buckets}


def test_register_programme_and_project(write, read):
    with write() as ctx:
        programme(ctx)
        register_project(ctx, ProjectSpec(code="road", title="Ring road", programme="kk", host_country="KAZ",
                                          partner_country="Korea", value="2500000000.50", currency="kzt",
                                          value_date="2019-06-01", sectors={"21020": "60", "21030": "40"}))
    with read() as ctx:
        p = get_programme(ctx, "kk")
        assert [x.country for x in p.parties] == ["KAZ", "KOR"]
        assert (p.signed, p.period_start, p.period_end) == ("2019-04", "2019", "2022")
        assert [(i.name, i.dac_codes) for i in p.industries] == [("Infrastructure", ["21020", "21030"]),
                                                                   ("Energy", ["23210"])]
        road = get_project(ctx, "road")
        assert (road.host_country, road.partner_country) == ("KAZ", "KOR")
        assert (road.value_amount, road.value_currency, road.value_date) == (
            Decimal("2500000000.50"), "KZT", date(2019, 6, 1))
        assert road.industry.name == "Infrastructure"  # from the largest sector
        assert sorted((s.dac_code, s.percent) for s in road.sectors) == [("21020", 60), ("21030", 40)]
        assert road.status is None and history(ctx, road) == []


def test_an_edit_derives_the_industry_only_when_sectors_or_programme_change(write, read):
    from cooptrack.services.editing import update_project

    def industry_and_version():
        with read() as ctx:
            road = get_project(ctx, "road")
            return (road.industry.name if road.industry else None), road.version

    with write() as ctx:
        programme(ctx)
        project(ctx, "road", "21020")
    assert industry_and_version()[0] == "Infrastructure"
    with write() as ctx:  # cleared on purpose: not derived again from the unchanged sectors
        update_project(ctx, "road", {"industry": None}, industry_and_version()[1])
    assert industry_and_version()[0] is None
    with write() as ctx:  # an edit of anything else leaves "no industry" alone
        update_project(ctx, "road", {"description": "A ring road."}, industry_and_version()[1])
    assert industry_and_version()[0] is None
    with write() as ctx:  # new sectors: the industry follows the largest one
        update_project(ctx, "road", {"sectors": {"23210": "100"}}, industry_and_version()[1])
    assert industry_and_version()[0] == "Energy"
    with write() as ctx:
        update_project(ctx, "road", {"industry": "Infrastructure"}, industry_and_version()[1])
    assert industry_and_version()[0] == "Infrastructure"


def test_status_history_is_never_overwritten(write, read, store):
    with write() as ctx:
        programme(ctx)
        project(ctx, "road", "21020", pipeline="2019-03")
    with write() as ctx:
        add_status_event(ctx, StatusSpec("road", "in_execution", "2020-05", note="works started"))
    assert count_rows(store)["status_events"] == 2
    with read() as ctx:
        road = get_project(ctx, "road")
        assert (road.status, road.status_effective) == ("in_execution", "2020-05")
    with write() as ctx:  # backdated into the middle: kept, and the current status stays the latest
        event = add_status_event(ctx, StatusSpec("road", "agreed", "2019-09", backdate=True))
        assert event.backdated
    assert count_rows(store)["status_events"] == 3
    with read() as ctx:
        road = get_project(ctx, "road")
        assert [(e.status, e.effective) for e in history(ctx, road)] == [
            ("pipeline", "2019-03"), ("agreed", "2019-09"), ("in_execution", "2020-05")]
        assert (road.status, road.status_effective, road.status_start) == ("in_execution", "2020-05", date(2020, 5, 1))


def test_an_edit_of_texts_alone_writes_what_the_whole_edit_writes(demo_db, write, read):
    """An edit of the title, description or aliases alone takes the short way (no rebuilding and
    re-checking of the whole project); its rows and audit event are those of the whole way, which
    an edit that also names another field (with its value unchanged) takes."""
    from sqlalchemy import event, select

    from cooptrack.services.editing import update_project
    from cooptrack.store.models import AuditEvent

    def last_event():
        with read() as ctx:
            found = ctx.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
            return found.before, found.after

    statements: list[str] = []
    event.listen(demo_db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with read() as ctx:
        version = get_project(ctx, "bakad").version
    with write() as ctx:
        update_project(ctx, "bakad", {"participants": [{"name": "KazAvtoZhol", "role": "implementing"}],
                                      "locations": [{"name": "Almaty ring road", "country": "KZ"}]}, version)
    with read() as ctx:
        bakad = get_project(ctx, "bakad")
        version, host, title = bakad.version, bakad.host_country, bakad.title
    with write() as ctx:
        statements.clear()
        _, action = update_project(ctx, "bakad", {"description": "short way", "aliases": ["BAKAD"]}, version)
        short_way = len(statements)
    assert action == "updated"
    short_before, short_after = last_event()
    with write() as ctx:
        statements.clear()
        _, action = update_project(ctx, "bakad", {"description": "whole way", "aliases": ["BAKAD"],
                                                  "host_country": host}, version + 1)
        whole_way = len(statements)
    assert action == "updated"
    whole_before, whole_after = last_event()
    assert short_way < whole_way  # the short way was taken
    assert short_before["participants"] and short_before["sectors"] and short_before["locations"]
    varying = {"description", "version", "updated_at"}
    assert {k: v for k, v in short_after.items() if k not in varying} == \
        {k: v for k, v in whole_before.items() if k not in varying} == \
        {k: v for k, v in whole_after.items() if k not in varying}
    assert (short_after["description"], whole_before["description"], whole_after["description"]) == \
        ("short way", "short way", "whole way")
    assert short_after["version"] == short_before["version"] + 1 == whole_after["version"] - 1
    with write() as ctx:  # the same text again: nothing to record
        assert update_project(ctx, "bakad", {"title": title}, version + 2)[1] == "unchanged"
    with write() as ctx, pytest.raises(InvalidInput) as refused:
        update_project(ctx, "bakad", {"title": ""}, version + 2)
    assert [f.field for f in refused.value.findings] == ["title"]


def test_overview_counts_and_usd_values_by_status_and_industry(write, read):
    with write() as ctx:
        programme(ctx)
        add_rate(ctx, RateSpec("KZT", "2019", "382.75", "NBK 2019 average"))
        project(ctx, "road", "21020", "3827500", "KZT", "2019-06-01", in_execution="2019")
        project(ctx, "bridge", "21030", "1000", "KRW", in_execution="2020")  # no KRW rate
        project(ctx, "plant", "23210", "100", "USD", pipeline="2021")
        project(ctx, "depot")  # no value, no sector, no status
    with read() as ctx:
        ov = programme_overview(ctx, "kk").as_dict()
    assert ov["rates_used"] == [{"currency": "KZT", "period": "2019", "per_usd": "382.75",
                                 "source": "NBK 2019 average"}]
    assert by_key(ov["by_status"]) == {
        "in_execution": {"key": "in_execution", "count": 2, "values": {"KZT": "3827500", "KRW": "1000"},
                         "usd": "10000.00", "usd_missing": 1, "by_status": {"in_execution": 2}},
        "pipeline": {"key": "pipeline", "count": 1, "values": {"USD": "100"}, "usd": "100", "usd_missing": 0,
                     "by_status": {"pipeline": 1}},
        "unrecorded": {"key": "unrecorded", "count": 1, "values": {}, "usd": "0", "usd_missing": 0,
                       "by_status": {"unrecorded": 1}},
    }
    industries = by_key(ov["by_industry"])
    assert {k: (b["count"], b["by_status"], b["usd"], b["usd_missing"]) for k, b in industries.items()} == {
        "Infrastructure": (2, {"in_execution": 2}, "10000.00", 1),
        "Energy": (1, {"pipeline": 1}, "100", 0),
        "(no industry)": (1, {"unrecorded": 1}, "0", 0),
    }
    assert (ov["totals"]["count"], ov["totals"]["usd"], ov["totals"]["usd_missing"]) == (4, "10100.00", 1)
    road = next(p for p in ov["projects"] if p["code"] == "road")
    assert road["usd"] == "10000.00"
    assert road["rate"] == {"per_usd": "382.75", "period": "2019", "source": "NBK 2019 average"}


def test_overview_as_of_shows_the_status_known_then(write, read):
    with write() as ctx:
        programme(ctx)
        add_source(ctx, SourceSpec(title="Later report", code="late", published="2021-03-15"))
        project(ctx, "road", "21020", pipeline="2019-03", in_execution="2020-05")
        register_project(ctx, ProjectSpec(code="plant", title="Plant", programme="kk"))
        add_status_event(ctx, StatusSpec("plant", "agreed", "2019", source="late"))  # effective 2019, known 2021

    def statuses(as_of):
        with read() as ctx:
            ov = programme_overview(ctx, "kk", as_of).as_dict()
        return {p["code"]: (p["status"], p["status_since"]) for p in ov["projects"]}, by_key(ov["by_status"])

    listed, buckets = statuses(date(2019, 12, 31))
    assert listed.get("road") == ("pipeline", "2019-03")
    assert buckets["pipeline"]["count"] == 1 and "in_execution" not in buckets
    assert listed.get("plant", ("unrecorded", None))[0] == "unrecorded"  # its source was not out yet
    listed, buckets = statuses(date(2019, 1, 31))  # before any event
    assert listed.get("road", ("unrecorded", None))[0] == "unrecorded"
    assert set(buckets) <= {"unrecorded"}
    listed, _ = statuses(date(2021, 3, 15))
    assert listed["road"] == ("in_execution", "2020-05") and listed["plant"] == ("agreed", "2019")
    listed, _ = statuses(None)
    assert listed["road"] == ("in_execution", "2020-05")


def test_observations_are_hidden_before_their_source_is_published(write, read):
    with write() as ctx:
        programme(ctx)
        add_source(ctx, SourceSpec(title="Later report", code="late", published="2021-03-15"))
        add_observation(ctx, ObservationSpec("trade_turnover", "KAZ", "2018", "50", "USD", partner="KOR"))
        add_observation(ctx, ObservationSpec("trade_turnover", "KAZ", "2019", "100", "USD", partner="KOR",
                                             source="late"))

    def latest(as_of):
        with read() as ctx:
            indicators = programme_overview(ctx, "kk", as_of).indicators
        return [(i["indicator"], i["period"], i["value"]) for i in indicators]

    assert latest(date(2018, 12, 30)) == []  # no source: known once its period ended
    assert latest(date(2021, 3, 14)) == [("trade_turnover", "2018", Decimal("50"))]
    assert latest(date(2021, 3, 15)) == [("trade_turnover", "2019", Decimal("100"))]
    assert latest(None) == [("trade_turnover", "2019", Decimal("100"))]


def test_demo_target_progress_through_the_overview(write, read):
    with write() as ctx:
        load_dataset(ctx, read_dataset(demo_path()), "fresh_wind.yaml", base=demo_path().parent)
    with read() as ctx:
        [target] = programme_overview(ctx, "fresh-wind").as_dict()["targets"]
        hidden = programme_overview(ctx, "fresh-wind", date(2019, 11, 30)).targets  # source known end of 2019
    assert (target["indicator"], target["period"], target["multiple"]) == ("trade_turnover", "2019", "2")
    assert target["baseline"] == {"period": "2019-H1", "value": "2000000000"}
    assert target["target_value"] == "4000000000"
    assert target["latest"] == {"period": "2019-H1", "value": "2000000000"}
    assert (target["percent_achieved"], target["expected_percent"]) == ("50.0", "49.6")
    assert (target["state"], target["on_track"]) == ("on_track", True)
    assert hidden == []


def test_every_mutation_is_audited(write, read):
    with write("alice") as ctx:
        source = add_source(ctx, SourceSpec(title="Report", code="rep", published="2019"))
        add_rate(ctx, RateSpec("KZT", "2019", "382.75", "NBK"))
        add_rate(ctx, RateSpec("KZT", "2019", "400", "NBK revised"), replace=True)
        programme(ctx)
        project(ctx, "road", "21020", pipeline="2019-03", in_execution="2020-05")
        observation = add_observation(ctx, ObservationSpec("trade_turnover", "KAZ", "2019", "1", "USD",
                                                           partner="KOR"))
        target = define_target(ctx, TargetSpec("kk", "trade_turnover", "KAZ", "2022", "USD", value="5",
                                               partner="KOR"))
    with read() as ctx:
        events = list(reversed(recent(ctx, 50)))
    assert [(e.action, e.entity, e.entity_id) for e in events] == [
        ("create", "source", str(source.id)),
        ("create", "exchange_rate", "KZT/2019"),
        ("update", "exchange_rate", "KZT/2019"),
        ("create", "programme", "kk"),
        ("create", "project", "road"),
        ("status", "project", "road"),
        ("status", "project", "road"),
        ("create", "observation", str(observation.id)),
        ("create", "target", str(target.id)),
    ]
    assert {e.actor for e in events} == {"alice"}
    assert all(e.at is not None and e.after for e in events)
    assert all(e.before is None for e in events if e.action == "create")
    rate_update = events[2]
    assert (rate_update.before["per_usd"], rate_update.after["per_usd"]) == ("382.75", "400")
    assert events[3].after["parties"] == ["KAZ", "KOR"]
    change = events[6]
    assert change.before == {"status": "pipeline", "status_effective": "2019-03"}
    assert change.after["status"] == "in_execution"
    assert (change.after["event"]["status"], change.after["event"]["effective"]) == ("in_execution", "2020-05")
    assert change.after["event"]["actor"] == "alice"


def test_failed_dataset_load_writes_nothing_and_reports_every_place(write, store):
    data = {
        "format": FORMAT,
        "programmes": [{"id": "kk", "name": "KK", "parties": ["KAZ", "KOR"]}],
        "projects": [
            {"id": "road", "programme": "kk", "title": "Road", "sectors": {"21020": 100},
             "status": [{"status": "pipeline", "effective": "2019"}]},
            {"id": "bad", "programme": "kk", "title": "Bad", "value": 5, "currency": "USDD",
             "sectors": {"99999": 100}},
        ],
        "observations": [
            {"indicator": "exports", "reporter": "KAZ", "partner": "KOR", "period": 2019, "value": 1, "unit": "USD"},
            {"indicator": "exports", "reporter": "KAZ", "partner": "KOR", "period": 2019, "value": 1, "unit": "USD",
             "hs_code": "9876"},
        ],
        "targets": [{"programme": "nope", "indicator": "exports", "reporter": "KAZ", "period": 2020, "unit": "USD",
                     "value": 10}],
    }
    before = count_rows(store)
    with pytest.raises(InvalidInput) as caught, write() as ctx:
        load_dataset(ctx, data, "bad.yaml")
    assert count_rows(store) == before
    findings = caught.value.findings
    assert [(f.field, f.code) for f in findings] == [
        ("projects[1].currency", "unknown_currency"),
        ("projects[1].sectors", "unknown_sector"),
        ("observations[1].hs_code", "unknown_hs_code"),
        ("targets[0]", "not_found"),
    ]
    assert {f.source for f in findings} == {"bad.yaml"}
    assert "(and 3 more)" in caught.value.message


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"national_id": "N" * 101}, "national_id", "national_id is 101 characters; at most 100"),
    ({"iati_identifier": "XM-" + "1" * 198}, "iati_identifier", "iati_identifier is 201 characters; at most 200"),
    ({"participants": [ParticipantSpec("Kexim", "funding", kind="123456789")]}, "participants[0].kind",
     "participants[0].kind is 9 characters; at most 8"),
    ({"participants": [ParticipantSpec("Kexim", "funding", iati_ref="KR-" + "9" * 98)]}, "participants[0].iati_ref",
     "participants[0].iati_ref is 101 characters; at most 100"),
    ({"locations": [LocationSpec("L" * 301)]}, "locations[0].name", "locations[0].name is 301 characters; at most 300"),
    ({"locations": [LocationSpec("Almaty", admin_area="A" * 201)]}, "locations[0].admin_area",
     "locations[0].admin_area is 201 characters; at most 200"),
])
def test_texts_longer_than_their_columns_are_findings(write, store, change, field, message):
    """Texts kept as given are checked against their columns' size: PostgreSQL refused them with a
    raw DataError (a traceback from the command line) and SQLite kept them."""
    from dataclasses import replace

    from conftest import count_rows

    spec = replace(ProjectSpec("long-one", "Long one"), **change)
    before = count_rows(store)
    with pytest.raises(InvalidInput) as info, write() as ctx:
        register_project(ctx, spec)
    assert [(f.code, f.field, f.message) for f in info.value.findings] == [("too_long", field, message)]
    assert count_rows(store) == before
