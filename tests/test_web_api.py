"""The read API under /api/v1 on both databases: the demo through every endpoint, the filters,
sort and paging of the project list, "as of" dates, and the one error envelope for every
error (400 naming the parameter, 404, never a 500)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from web_support import add_projects_and_trade

from cooptrack.services.dashboard import programme_dashboard
from cooptrack.web import create_app

EXTRA = [
    # code, title, status, value, currency, sector, host
    ("alpha-plant", "Alpha chemical plant", "implemented", "150000000", "USD", "32110", "KAZ"),
    ("beta-road", "Beta road section", "implemented", "90000000000", "KZT", "21020", "KAZ"),
    ("gamma-clinic", "Gamma clinic", "in_execution", "20000000", "USD", "12191", "KOR"),
    ("delta-farm", "=HYPERLINK(\"http://x\") farm", "agreed", None, None, "31120", "KAZ"),
]


@pytest.fixture
def client(demo_db, write, prepare):
    """The demo, more projects of every status and trade by HS code (added once per session: see
    `prepare`); a client of the app reading it."""

    def more():
        with write() as ctx:
            add_projects_and_trade(ctx, EXTRA, (("2709", "700000000"), ("7403", "150000000"), ("27", "800000000")))

    prepare("demo, then the web api tests' projects and trade", more)
    with TestClient(create_app(demo_db, public_read=True)) as c:
        yield c


def ok(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"]
    return response.json()


def error(client, url, status):
    response = client.get(url, headers={"accept": "application/json"})
    assert response.status_code == status, (url, response.text)
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) >= {"status", "code", "message", "findings"}
    assert body["error"]["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body["error"]


def test_programmes_list_headline_figures(client):
    [programme] = ok(client, "/api/v1/programmes")
    assert programme["code"] == "fresh-wind"
    assert [p["code"] for p in programme["parties"]] == ["KAZ", "KOR"]
    assert programme["projects"] == 6
    assert programme["by_status"]["implemented"] == 2
    # 150,000,000 USD + 90,000,000,000 KZT at the demo's 2019 rate + 20,000,000 USD (+ the demo's own values)
    assert Decimal(programme["usd"]) > Decimal("170000000")


def test_overview_is_the_dashboard_service(client, read):
    body = ok(client, "/api/v1/programmes/fresh-wind/overview")
    with read() as ctx:
        expected = programme_dashboard(ctx, "fresh-wind")
    assert body == expected
    rows = {r["key"]: r for r in body["headline"]["rows"]}
    assert (rows["package"]["count"], rows["implemented"]["count"], rows["in_execution"]["count"]) == (6, 2, 2)
    assert rows["package"]["reported"]["count"] == "40"
    assert rows["implemented"]["reported"]["count"] == "19"


def test_overview_as_of_reconstructs_an_earlier_state(client):
    now = {r["key"]: r["count"] for r in ok(client, "/api/v1/programmes/fresh-wind/overview")["headline"]["rows"]}
    then = ok(client, "/api/v1/programmes/fresh-wind/overview?as_of=2019-04-30")
    counts = {r["key"]: r["count"] for r in then["headline"]["rows"]}
    assert then["as_of"] == "2019-04-30"
    assert counts["implemented"] == 0 < now["implemented"]  # the extra projects' events are dated 2019-05
    assert all(e["start"] <= "2019-04-30" for e in then["timeline"])


def test_trade_by_hs_section_counts_each_chapter_once(client):
    body = ok(client, "/api/v1/programmes/fresh-wind/overview")
    blocks = {(b["reporter"], b["partner"], b["flow"]): b for b in body["trade_sections"]}
    exports = {s["section"]: s for s in blocks[("KAZ", "KOR", "exports")]["sections"]}
    # chapter 27 is reported as a whole: its heading 2709 is not added again; 7403 is section XV
    assert exports["V"]["total"] == "800000000"
    assert exports["XV"]["total"] == "150000000"
    imports = {s["section"]: s for s in blocks[("KAZ", "KOR", "imports")]["sections"]}
    assert imports["XVII"]["values"] == ["300000000"]
    assert blocks[("KAZ", "KOR", "exports")]["periods"] == ["2019"]


def test_projects_filters_sort_and_paging(client):
    page = ok(client, "/api/v1/projects?programme=fresh-wind&status=implemented&page_size=50")
    assert [p["code"] for p in page["items"]] == ["alpha-plant", "beta-road"]
    assert (page["total"], page["page"], page["pages"], page["next"]) == (2, 1, 1, None)
    beta = page["items"][1]
    assert beta["value"] == {"amount": "90000000000", "currency": "KZT", "value_date": "2019-06-30"}
    assert beta["rate"]["period"] and Decimal(beta["usd"]) > 0

    both = ok(client, "/api/v1/projects?status=implemented&status=in_execution")
    assert both["total"] == 4
    assert ok(client, "/api/v1/projects?status=implemented,in_execution")["total"] == 4

    first = ok(client, "/api/v1/projects?page_size=2&sort=code")
    assert first["total"] == 6 and first["pages"] == 3
    assert first["next"].endswith("page=2") or "page=2" in first["next"]
    second = ok(client, first["next"].split("testserver", 1)[1])
    assert [p["code"] for p in second["items"]] == ["beta-road", "car-assembly-plant"]
    past = ok(client, "/api/v1/projects?page_size=2&sort=code&page=9")  # past the last page: still the count
    assert (past["items"], past["total"], past["pages"], past["next"]) == ([], 6, 3, None)
    by_programme = [(p["programme"] or "", p["code"]) for p in ok(client, "/api/v1/projects?sort=-programme")["items"]]
    assert len(by_programme) == 6 and by_programme == sorted(by_programme, reverse=True)

    assert [p["code"] for p in ok(client, "/api/v1/projects?sector=32110")["items"]] == ["alpha-plant"]
    assert [p["code"] for p in ok(client, "/api/v1/projects?sector=121")["items"]] == ["gamma-clinic"]
    assert {p["code"] for p in ok(client, "/api/v1/projects?country=Korea&programme=fresh-wind")["items"]} >= {
        "gamma-clinic", "alpha-plant"}
    assert [p["code"] for p in ok(client, "/api/v1/projects?country=KOR&q=clinic")["items"]] == ["gamma-clinic"]
    assert [p["code"] for p in ok(client, "/api/v1/projects?q=ROAD%20SECTION")["items"]] == ["beta-road"]

    by_value = ok(client, "/api/v1/projects?sort=-value&page_size=3")
    usd = [Decimal(p["usd"]) for p in by_value["items"] if p["usd"] is not None]
    assert usd == sorted(usd, reverse=True) and len(usd) == 3
    assert [p["code"] for p in by_value["items"]] == ["beta-road", "alpha-plant", "gamma-clinic"]
    ascending = ok(client, "/api/v1/projects?sort=value")["items"]
    assert [p["code"] for p in ascending][:3] == ["gamma-clinic", "alpha-plant", "beta-road"]
    assert ascending[-1]["usd"] is None  # projects without a value come last either way
    ranged = ok(client, "/api/v1/projects?value_min=100000000&value_max=1000000000")
    assert {p["code"] for p in ranged["items"]} == {"alpha-plant", "beta-road"}  # 90 bn KZT is ~ 235 m USD
    assert ok(client, "/api/v1/projects?status=unrecorded")["total"] == 0


def test_project_detail_observations_sources_claims_conflicts(client):
    bakad = ok(client, "/api/v1/projects/bakad")
    assert bakad["programme"] == "fresh-wind" and bakad["history"]
    assert all("source" in e for e in bakad["history"])
    observations = ok(client, "/api/v1/observations?indicator=exports&reporter=Kazakhstan&hs_code=27")
    assert {o["hs_code"] for o in observations["items"]} == {"2709", "27"}
    assert observations["total"] == 2
    then = ok(client, "/api/v1/observations?indicator=trade_turnover&as_of=2019-12-30")
    assert then["items"] == []  # their source is dated 2019: known from the end of that year
    later = ok(client, "/api/v1/observations?indicator=trade_turnover&as_of=2020-01-01")
    assert [o["period"] for o in later["items"]] == ["2018", "2019-H1"]
    sources = ok(client, "/api/v1/sources")
    article = next(s for s in sources if s["id"] == "qazaqtv-40-projects")
    assert article["claims"] > 0
    detail = ok(client, "/api/v1/sources/qazaqtv-40-projects")
    text = "".join(s["text"] for s in detail["segments"])
    marked = [s for s in detail["segments"] if s["claim"]]
    assert marked and all(text.find(s["text"]) >= 0 for s in marked)
    pending = ok(client, "/api/v1/claims")
    assert pending and all(c["review"] == "pending" for c in pending)
    accepted = ok(client, "/api/v1/claims?review=accepted&programme=fresh-wind")
    assert accepted and all(c["review"] == "accepted" for c in accepted)
    one = ok(client, f"/api/v1/claims/{accepted[0]['id']}")
    assert one["context"]["quote"] == accepted[0]["quote"]
    conflicts = ok(client, "/api/v1/conflicts?programme=fresh-wind")
    assert any(c["severity"] == "discrepancy" for c in conflicts)  # US$7 bn beside US$7.2 bn
    assert ok(client, "/api/v1/conflicts?tolerance=1")[0]["severity"] == "conflict"
    targets = ok(client, "/api/v1/programmes/fresh-wind/targets")
    assert targets[0]["indicator"] == "trade_turnover"


@pytest.mark.parametrize("url, parameter", [
    ("/api/v1/projects?status=foo", "status"),
    ("/api/v1/projects?page=-1", "page"),
    ("/api/v1/projects?page=0", "page"),
    ("/api/v1/projects?page=two", "page"),
    ("/api/v1/projects?page_size=100000", "page_size"),
    ("/api/v1/projects?sort=price", "sort"),
    ("/api/v1/projects?sector=99999", "sector"),
    ("/api/v1/projects?country=Atlantis", "country"),
    ("/api/v1/projects?value_min=lots", "value_min"),
    ("/api/v1/programmes/fresh-wind/overview?as_of=2019-13-45", "as_of"),
    ("/api/v1/programmes/fresh-wind/targets?as_of=yesterday", "as_of"),
    ("/api/v1/observations?indicator=gdp", "indicator"),
    ("/api/v1/observations?hs_code=27%25", "hs_code"),
    ("/api/v1/claims?review=maybe", "review"),
    ("/api/v1/claims/abc", "claim_id"),
    ("/api/v1/conflicts?tolerance=a%20lot", "tolerance"),
])
def test_malformed_parameters_are_400_naming_the_parameter(client, url, parameter):
    err = error(client, url, 400)
    assert err["code"] == "bad_parameter"
    assert err["parameter"] == parameter
    assert parameter in err["message"]
    assert err["findings"][0]["field"] == parameter


@pytest.mark.parametrize("url, word", [
    ("/api/v1/programmes/nope/overview", "programme 'nope'"),
    ("/api/v1/projects/nope", "project 'nope'"),
    ("/api/v1/projects?programme=nope", "programme 'nope'"),
    ("/api/v1/sources/nope", "source"),
    ("/api/v1/claims/999999", "claim 999999"),
    ("/api/v1/nothing-here", "/api/v1/nothing-here"),
])
def test_unknown_ids_are_404_in_the_envelope(client, url, word):
    err = error(client, url, 404)
    assert err["code"] == "not_found"
    assert word in err["message"]


def test_openapi_documents_the_api_and_plotly_is_served_locally(client):
    spec = ok(client, "/api/v1/openapi.json")
    assert {"/api/v1/projects", "/api/v1/programmes/{code}/overview", "/api/v1/observations", "/api/v1/sources",
            "/api/v1/claims", "/api/v1/conflicts"} <= set(spec["paths"])
    params = {p["name"] for p in spec["paths"]["/api/v1/projects"]["get"]["parameters"]}
    assert {"programme", "status", "sector", "country", "value_min", "value_max", "q", "sort", "page",
            "page_size"} <= params
    assert "ErrorEnvelope" in spec["components"]["schemas"]
    assert "ProjectRow" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert b"plotly" in js.content[:2000].lower()


def test_request_id_is_echoed(client):
    response = client.get("/api/v1/programmes", headers={"x-request-id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"


def test_answers_write_decimals_dates_and_text_as_the_audit_log_does():
    import json
    from datetime import UTC, date, datetime, timedelta, timezone
    from decimal import Decimal

    from cooptrack.services.audit import jsonable
    from cooptrack.web.api import JSON

    content = {
        "amount": Decimal("7000000000.50"), "tiny": Decimal("0.0000005"), "big": Decimal("1E+3"),
        "day": date(2019, 4, 22), "at": datetime(2026, 11, 28, 12, 30, 5, 123456, tzinfo=UTC),
        "local": datetime(2019, 4, 22, 9, 0, tzinfo=timezone(timedelta(hours=6))),
        "name": "Қазақстан — Корея «Свежий ветер»", "none": None, "yes": True, "n": 58, "share": 0.5,
        "nested": [{"pair": ("KAZ", "KOR"), "values": [Decimal("1.10"), None]}], 7: "int key",
    }
    expected = json.dumps(jsonable(content), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert JSON(content).body == expected


def test_hot_reads_answer_alike_on_the_event_loop_and_in_threads(client, demo_db, monkeypatch):
    """The hot read routes run on the event loop's thread (`serve --workers N`) or in the thread
    pool: the same answers, the same errors, and no thread switch when on the loop."""
    import threading

    import cooptrack.web.context as context

    urls = ["/api/v1/projects?programme=fresh-wind&sort=-value", "/api/v1/projects?sector=321&page=1",
            "/api/v1/projects?country=KOR&status=in_execution", "/api/v1/projects/car-assembly-plant",
            "/api/v1/observations?reporter=KAZ&partner=KOR&page=1", "/api/v1/projects/no-such-project",
            "/api/v1/projects?page=0"]
    threaded = {url: client.get(url) for url in urls}
    ran_in: list[str] = []
    real = context.Context

    def noting(*args, **kwargs):
        ran_in.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(context, "Context", noting)
    monkeypatch.setenv("COOPTRACK_RESPONSE_CACHE", "off")
    with TestClient(create_app(demo_db, public_read=True, read_threads=False)) as loop_client:
        loop_thread = loop_client.portal.call(threading.current_thread).name
        for url in urls:
            answer = loop_client.get(url)
            assert answer.status_code == threaded[url].status_code, url
            if answer.status_code == 200:
                assert answer.content == threaded[url].content, url
            else:
                assert answer.json()["error"]["code"] == threaded[url].json()["error"]["code"], url
    assert ran_in and set(ran_in) == {loop_thread}
    monkeypatch.delenv("COOPTRACK_READ_THREADS", raising=False)
    assert create_app(demo_db, public_read=True).state.read_threads is True
    monkeypatch.setenv("COOPTRACK_READ_THREADS", "off")
    assert create_app(demo_db, public_read=True).state.read_threads is False
