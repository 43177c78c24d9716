"""The HTML pages on both databases: every page renders from the same service call as the API
(the dashboard's headline figures equal the API's, as of any date), the project filters and
their CSV/Excel downloads, English and Russian (cookie and Accept-Language, locale number and
date formats, a complete catalog), the error page (404, 400 naming the parameter), the
language switch refusing open redirects, and formula-injection escaping in downloads."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from web_support import add_projects_and_trade

from cooptrack.services.programmes import ProgrammeSpec, register_programme
from cooptrack.web import create_app
from cooptrack.web.i18n import negotiate
from cooptrack.web.pages_base import chart_json, safe_next

WEB = Path(__file__).resolve().parents[1] / "src" / "cooptrack" / "web"
NBSP = "\u00a0"
HTML = {"accept": "text/html,application/xhtml+xml"}
EXTRA = [
    # code, title, status, value, currency, sector, host
    ("alpha-plant", "Alpha chemical plant", "implemented", "150000000", "USD", "32110", "KAZ"),
    ("beta-road", "Beta road section", "implemented", "90000000000", "KZT", "21020", "KAZ"),
    ("gamma-clinic", "Gamma clinic", "in_execution", "20000000", "USD", "12191", "KOR"),
    ("delta-farm", "=HYPERLINK(\"http://x\") farm", "agreed", None, None, "31120", "KAZ"),
    ("epsilon-mine", "-1+2 mine <b>bold</b>", "pipeline", "5000000", "USD", "32220", "KAZ"),
]


@pytest.fixture
def client(demo_db, write, prepare):
    """The demo, more projects of every status and trade by HS code (added once per session: see
    `prepare`); a client of the app reading it."""

    def more():
        with write() as ctx:
            add_projects_and_trade(ctx, EXTRA, (("2709", "700000000"), ("7403", "150000000")))
            register_programme(ctx, ProgrammeSpec("empty-one", "An empty programme", ["UZB", "KOR"]))

    prepare("demo, then the web pages tests' projects and trade", more)
    with TestClient(create_app(demo_db, public_read=True)) as c:
        yield c


class Elements(HTMLParser):
    """Every element with a data-testid (or an id): its attributes and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, **{k: v or "" for k, v in attrs}, "text": ""}
        self.found.append(element)
        if tag not in ("input", "meta", "link", "br", "img"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element["text"] += data


def page(client: TestClient, url: str, status: int = 200, **headers: str) -> tuple[str, Elements]:
    response = client.get(url, headers={**HTML, **headers})
    assert response.status_code == status, (url, response.text[:2000])
    assert response.headers["content-type"].startswith("text/html")
    parsed = Elements()
    parsed.feed(response.text)
    return response.text, parsed


def by_testid(parsed: Elements, testid: str) -> list[dict[str, Any]]:
    return [e for e in parsed.found if e.get("data-testid") == testid]


def one(parsed: Elements, testid: str) -> dict[str, Any]:
    found = by_testid(parsed, testid)
    assert len(found) == 1, (testid, found)
    return found[0]


def api(client: TestClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json()


# -- every page ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("/", "Fresh Wind economic cooperation programme"),
    ("/programmes/fresh-wind", "Portfolio by status"),
    ("/programmes/fresh-wind?as_of=2019-06-01", "State as known on June 1, 2019"),
    ("/programmes/empty-one", "no data"),
    ("/projects", "Big Almaty Ring Road (BAKAD)"),
    ("/projects/bakad", "Status timeline"),
    ("/projects/beta-road", "KZT"),
    ("/sources", "Qazaq TV"),
    ("/sources/qazaqtv-40-projects", "Claims (67)"),
    ("/claims", "Review queue"),
    ("/claims?review=accepted", "about US$7 billion"),
    ("/conflicts", "US$7.2 billion"),
])
def test_pages_render(client, url, expected):
    text, parsed = page(client, url)
    assert expected in text
    assert '<html lang="en">' in text
    nav = {e["data-testid"] for e in parsed.found if e.get("data-testid", "").startswith("nav-")}
    assert nav == {"nav-home", "nav-projects", "nav-sources", "nav-organisations", "nav-claims", "nav-conflicts",
                   "nav-docs"}
    for code in ("en", "ru"):
        link = one(parsed, f"lang-{code}")["href"]
        assert link.startswith(f"/lang/{code}?next=")


def test_home_lists_programmes_with_headline_figures(client):
    _text, parsed = page(client, "/")
    links = {e["href"]: e["text"] for e in by_testid(parsed, "programme-link")}
    assert links == {"/programmes/empty-one": "An empty programme",
                     "/programmes/fresh-wind": "Fresh Wind economic cooperation programme"}
    summaries = {p["code"]: p for p in api(client, "/api/v1/programmes")}
    cards = {e["data-code"]: e for e in by_testid(parsed, "programme-card")}
    assert set(cards) == set(summaries)
    counts = [int(e["data-value"]) for e in by_testid(parsed, "programme-projects")]
    assert sorted(counts) == sorted(p["projects"] for p in summaries.values())
    assert "Kazakhstan" in cards["fresh-wind"]["text"] and "South Korea" in cards["fresh-wind"]["text"]


# -- the dashboard equals the API ------------------------------------------------------------------


def headline_of_page(parsed: Elements) -> dict[str, tuple[int, str]]:
    return {key: (int(one(parsed, f"headline-{key}-count")["data-value"]),
                  one(parsed, f"headline-{key}-usd")["data-value"])
            for key in ("package", "implemented", "in_execution", "not_started")}


def headline_of_api(client: TestClient, query: str = "") -> dict[str, tuple[int, str]]:
    body = api(client, f"/api/v1/programmes/fresh-wind/overview{query}")
    return {r["key"]: (r["count"], r["usd"]) for r in body["headline"]["rows"]}


def test_dashboard_headline_equals_the_api(client):
    _text, parsed = page(client, "/programmes/fresh-wind")
    assert headline_of_page(parsed) == headline_of_api(client)
    assert headline_of_page(parsed)["implemented"][0] == 2
    reported = one(parsed, "headline-implemented-reported")
    assert reported["data-count"] == "19" and "19 projects" in reported["text"]
    quote = next(e for e in by_testid(parsed, "quote-link") if "US$2 billion" in e["text"])
    assert re.fullmatch(r"/sources/qazaqtv-40-projects#claim-\d+", quote["href"])
    assert one(parsed, "as-of-shown")["data-value"] == ""
    for hook in ("chart-status", "chart-industry", "chart-series", "timeline", "trade-sections", "targets"):
        assert by_testid(parsed, hook), hook
    form = next(e for e in parsed.found if e.get("id") == "as-of")
    assert form["method"] == "get"
    assert any(e["tag"] == "input" and e.get("name") == "as_of" and e.get("type") == "date" for e in parsed.found)
    one(parsed, "as-of-apply")


def test_dashboard_as_of_changes_the_figures(client):
    now = headline_of_api(client)
    before = headline_of_api(client, "?as_of=2019-04-15")
    assert before != now
    _text, parsed = page(client, "/programmes/fresh-wind?as_of=2019-04-15")
    assert headline_of_page(parsed) == before
    shown = one(parsed, "as-of-shown")
    assert shown["data-value"] == "2019-04-15" and "April 15, 2019" in shown["text"]
    assert next(e for e in parsed.found if e.get("name") == "as_of")["value"] == "2019-04-15"


def test_dashboard_trade_targets_timeline_and_chart_data(client):
    text, parsed = page(client, "/programmes/fresh-wind")
    body = api(client, "/api/v1/programmes/fresh-wind/overview")
    blocks = [e for e in parsed.found if "trade-block" in e.get("class", "")]
    assert [(b["data-reporter"], b["data-flow"]) for b in blocks] == [
        (t["reporter"], t["flow"]) for t in body["trade_sections"]]
    events = by_testid(parsed, "timeline-event")
    assert [e["data-project"] for e in events] == [t["project"] for t in body["timeline"]]
    assert any(e["href"] == "/projects/bakad" for e in by_testid(parsed, "timeline-project"))
    [target] = by_testid(parsed, "target-row")
    assert one(parsed, "target-percent")["data-value"] == body["targets"][0]["percent_achieved"]
    assert one(parsed, "target-on-track")["data-value"] == "yes"
    data = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', text, re.S)[1])
    targets = {c["target"] for c in data["charts"]}
    assert {"chart-status", "chart-industry", "chart-series", "chart-trade-0"} <= targets
    status = next(c for c in data["charts"] if c["target"] == "chart-status")
    assert sum(status["traces"][0]["y"]) == body["totals"]["count"]


def test_empty_programme_says_no_data(client):
    text, parsed = page(client, "/programmes/empty-one")
    assert one(parsed, "headline-package-count")["data-value"] == "0"
    one(parsed, "trade-sections-empty")
    assert text.count("no data") >= 4
    data = json.loads(re.search(r'id="chart-data">(.*?)</script>', text, re.S)[1])
    assert data["charts"] == []


def test_chart_json_cannot_close_the_script_element():
    text = str(chart_json({"name": "</script><script>alert(1)</script> & <!--"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script> & <!--"}


# -- projects, filters, downloads ------------------------------------------------------------------


def codes_of_api(client: TestClient, query: str) -> list[str]:
    codes, url = [], f"/api/v1/projects?{query}"
    while url:
        body = api(client, url)
        codes += [p["code"] for p in body["items"]]
        url = body["next"]
    return codes


def test_filters_narrow_the_rows_like_the_api(client):
    _text, parsed = page(client, "/projects")
    everything = [e["data-code"] for e in by_testid(parsed, "project-row")]
    assert everything == codes_of_api(client, "")
    for query in ("status=implemented", "programme=fresh-wind&status=in_execution&country=Korea", "sector=210",
                  "q=road", "value_min=100000000&sort=-value", "status=implemented&status=in_execution&sort=title"):
        _text, parsed = page(client, f"/projects?{query}")
        rows = [e["data-code"] for e in by_testid(parsed, "project-row")]
        assert rows == codes_of_api(client, query), query
        assert len(rows) < len(everything), query
        assert int(one(parsed, "projects-total")["data-value"]) == len(rows)
    form = next(e for e in parsed.found if e.get("id") == "project-filters")
    assert form["method"] == "get" and form["action"] == "/projects"
    names = {e.get("name") for e in parsed.found if e["tag"] in ("input", "select")}
    assert {"programme", "status", "sector", "country", "value_min", "value_max", "q"} <= names
    one(parsed, "filter-apply")


def test_paging_links_and_sort_headers(client):
    _text, parsed = page(client, "/projects?page_size=3&sort=-code")
    assert [e["data-code"] for e in by_testid(parsed, "project-row")] == codes_of_api(client, "sort=-code")[:3]
    assert not by_testid(parsed, "page-prev")
    following = one(parsed, "page-next")["href"]
    assert "page=2" in following and "page_size=3" in following and "sort=-code" in following
    _text, second = page(client, following)
    assert [e["data-code"] for e in by_testid(second, "project-row")] == codes_of_api(client, "sort=-code")[3:6]
    assert "page=1" in one(second, "page-prev")["href"]
    assert "sort=code" in one(parsed, "sort-code")["href"]  # the active column flips its direction
    assert "sort=title" in one(parsed, "sort-title")["href"]


def test_csv_download_is_the_whole_filtered_selection(client):
    query = "programme=fresh-wind&status=implemented&status=agreed&status=pipeline"
    _text, parsed = page(client, f"/projects?{query}&page_size=1")
    href = one(parsed, "download-csv")["href"]
    assert href.startswith("/projects.csv?") and "page" not in href
    assert one(parsed, "download-xlsx")["href"] == href.replace("/projects.csv", "/projects.xlsx")
    response = client.get(href)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="projects.csv"'
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["code"] for r in rows] == codes_of_api(client, query)
    assert len(rows) > 1  # every page, not the one shown


def test_downloads_escape_formulas(client):
    response = client.get("/projects.csv?q=farm")
    [row] = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert row["title"] == "'=HYPERLINK(\"http://x\") farm"
    [row] = list(csv.DictReader(io.StringIO(client.get("/projects.csv?q=mine").content.decode("utf-8-sig"))))
    assert row["title"] == "'-1+2 mine <b>bold</b>"

    from openpyxl import load_workbook

    response = client.get("/projects.xlsx?q=farm")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="projects.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content), read_only=True)["projects"]
    header, *rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert header[:2] == ["code", "title"]
    assert rows == [[*rows[0][:1], "'=HYPERLINK(\"http://x\") farm", *rows[0][2:]]]
    assert rows[0][0] == "delta-farm"


def test_page_escapes_data(client):
    text, _parsed = page(client, "/projects?q=mine")
    assert "-1+2 mine &lt;b&gt;bold&lt;/b&gt;" in text and "<b>bold</b>" not in text


def test_project_page(client):
    text, parsed = page(client, "/projects/beta-road")
    detail = api(client, "/api/v1/projects/beta-road")
    assert one(parsed, "project-title")["data-code"] == "beta-road"
    assert one(parsed, "project-value")["data-value"] == detail["value"]["amount"]
    assert one(parsed, "project-usd")["data-value"] == detail["usd"]["amount"]
    assert "KZT per USD" in one(parsed, "project-usd")["text"]
    assert "Road transport" in text
    [event] = by_testid(parsed, "status-event")
    assert event["data-status"] == "implemented"

    _text, parsed = page(client, "/projects/bakad")
    links = by_testid(parsed, "source-link")
    assert any(e["href"].startswith("/sources/qazaqtv-40-projects") for e in links)
    claims = by_testid(parsed, "claim-source-link")
    assert claims and all(re.fullmatch(r"/sources/\d+#claim-\d+", e["href"]) for e in claims)


# -- evidence --------------------------------------------------------------------------------------


def test_source_text_highlights_every_claim_span(client):
    text, parsed = page(client, "/sources/qazaqtv-40-projects")
    detail = api(client, "/api/v1/sources/qazaqtv-40-projects")
    marks = [e for e in parsed.found if e["tag"] == "mark" and e.get("data-claim")]
    spans = [s for s in detail["segments"] if s["claim"]]
    assert [(m["id"], m["data-claim"], m["class"], m["text"]) for m in marks] == [
        (f"claim-{s['claim']}", str(s["claim"]), f"review-{s['review']}", s["text"]) for s in spans]
    assert {m["class"] for m in marks} >= {"review-pending", "review-accepted"}
    # the stored text comes through whole, in order
    container = one(parsed, "source-text")
    assert container["text"] == "".join(s["text"] for s in detail["segments"])


def test_claims_queue_and_conflicts(client):
    _text, parsed = page(client, "/claims")
    queue = api(client, "/api/v1/claims")
    assert [int(e["data-claim"]) for e in by_testid(parsed, "claim-row")] == [c["id"] for c in queue]
    for link in by_testid(parsed, "claim-source-link"):
        assert re.fullmatch(r"/sources/\d+#claim-\d+", link["href"])
    _text, parsed = page(client, "/conflicts")
    conflicts = api(client, "/api/v1/conflicts")
    assert [(int(e["data-a"]), int(e["data-b"])) for e in by_testid(parsed, "conflict")] == [
        (c["a"]["id"], c["b"]["id"]) for c in conflicts]


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/programmes/nope", "/projects/nope", "/sources/nope", "/no/such/page"])
def test_not_found_page_and_envelope(client, url):
    _text, parsed = page(client, url, 404)
    assert one(parsed, "error-status")["text"].strip() == "404"
    assert one(parsed, "error-home")["href"] == "/"
    api_url = {"/programmes/nope": "/api/v1/programmes/nope/overview", "/projects/nope": "/api/v1/projects/nope",
               "/sources/nope": "/api/v1/sources/nope", "/no/such/page": "/api/v1/no/such"}[url]
    response = client.get(api_url, headers=HTML)  # the API answers JSON even to a browser
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


@pytest.mark.parametrize("url, parameter", [
    ("/projects?status=foo", "status"),
    ("/projects?page=-1", "page"),
    ("/projects?page=two", "page"),
    ("/projects?page_size=100000", "page_size"),
    ("/projects?sort=colour", "sort"),
    ("/projects?value_min=lots", "value_min"),
    ("/projects.csv?status=foo", "status"),
    ("/programmes/fresh-wind?as_of=2019-13-45", "as_of"),
    ("/claims?review=maybe", "review"),
    ("/conflicts?tolerance=x", "tolerance"),
    ("/lang/fr?next=/", "lang"),
])
def test_bad_parameter_page_names_it(client, url, parameter):
    _text, parsed = page(client, url, 400)
    assert one(parsed, "error-status")["data-value"] == "400"
    assert one(parsed, "error-parameter")["data-value"] == parameter
    assert parameter in one(parsed, "error-message")["text"]


def test_bad_parameter_in_russian(client):
    _text, parsed = page(client, "/programmes/fresh-wind?as_of=2019-13-45", 400, **{"accept-language": "ru"})
    assert "Параметр" in one(parsed, "error-parameter")["text"]
    assert one(parsed, "error-home")["text"] == "На главную страницу"


# -- languages -------------------------------------------------------------------------------------


def test_language_switch_sets_the_cookie_and_goes_back(client):
    response = client.get("/lang/ru?next=/projects?status=implemented%26q=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/projects?status=implemented&q=x"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("cooptrack_lang=ru;")
    for attribute in ("HttpOnly", "Max-Age=31536000", "Path=/", "SameSite=lax"):
        assert attribute.lower() in cookie.lower()


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "evil",
                                    "javascript:alert(1)", "/%0d%0aSet-Cookie:x", "", "\\\\evil"])
def test_language_switch_refuses_open_redirects(client, target):
    response = client.get("/lang/en", params={"next": target}, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location == "/" or (location.startswith("/") and not location.startswith(("//", "/\\"))
                               and "\n" not in location and "\r" not in location)


def test_safe_next():
    assert safe_next("/projects?q=a") == "/projects?q=a"
    for bad in ("//evil", "https://evil", "/\\evil", "/a\\b", "http:/x", "/x\r\nLocation: //evil", None):
        assert safe_next(bad) == "/", bad


def test_negotiation():
    assert negotiate("ru-RU,ru;q=0.9,en-US;q=0.8") == "ru"
    assert negotiate("en-GB,en;q=0.9,ru;q=0.8") == "en"
    assert negotiate("de-DE,de;q=0.9,ru;q=0.5") == "ru"
    assert negotiate("fr, en;q=0") == "en"
    assert negotiate("") == "en"
    assert negotiate("ru;q=garbage, en;q=0.1") == "en"


@pytest.mark.parametrize("how", ["cookie", "accept-language"])
def test_russian_pages(client, how):
    if how == "cookie":
        client.cookies.set("cooptrack_lang", "ru")
        headers = {"accept-language": "en"}
    else:
        headers = {"accept-language": "ru-RU,ru;q=0.9,en;q=0.5"}
    text, parsed = page(client, "/programmes/fresh-wind", **headers)
    assert '<html lang="ru">' in text
    for label in ("Главные показатели", "Портфель по статусам", "Портфель по отраслям", "Целевые показатели",
                  "Хронология статусов", "Реализованы", "Не начаты", "Главная", "Проекты", "Источники"):
        assert label in text, label
    for english in ("Headline", "Portfolio by status", "Targets", "Implemented", "no data", "Projects in the register",
                    "Home", "as reported"):
        assert f">{english}<" not in text, english
    # numbers and dates in Russian form: non-breaking spaces between thousands, months in Russian
    assert f"2{NBSP}500{NBSP}000{NBSP}000{NBSP}$" in text
    assert "апрель 2019" in text
    assert "1-е полугодие 2019" in text
    assert f"50,0{NBSP}%" in text
    # the raw figures for machines stay the same in every language
    assert headline_of_page(parsed) == headline_of_api(client)
    text, parsed = page(client, "/projects?status=implemented", **headers)
    assert "реализован" in text and "Скачать выборку" in text
    assert one(parsed, "projects-total")["text"].strip() == "2 проекта"
    text, _parsed = page(client, "/programmes/empty-one", **headers)
    assert "нет данных" in text and "no data" not in text


def test_english_when_cookie_says_so_despite_accept_language(client):
    client.cookies.set("cooptrack_lang", "en")
    text, _parsed = page(client, "/", **{"accept-language": "ru"})
    assert '<html lang="en">' in text and "Cooperation programmes" in text


def _catalog() -> dict[Any, Any]:
    with (WEB / "locale" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="ru")
    return {m.id: m for m in catalog if m.id}


def _used_messages() -> dict[Any, list[str]]:
    found: dict[Any, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(WEB), [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")],
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords={"_": None, "N_": None, "NP_": (1, 2), "t": None, "gettext": None, "ngettext": (1, 2)}):
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def test_every_ui_message_has_a_russian_translation():
    catalog = _catalog()
    used = _used_messages()
    assert len(used) > 150  # the extraction found the templates and the label tables
    missing = [(m, where) for m, where in used.items() if m not in catalog]
    assert not missing, f"add these to locale/ru/LC_MESSAGES/messages.po: {missing}"
    for message_id, message in catalog.items():
        assert not message.fuzzy, message_id
        translated = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(translated), f"empty translation for {message_id!r}"
        originals = message_id if isinstance(message_id, tuple) else (message_id,)
        wanted = set(re.findall(r"%\((\w+)\)s", " ".join(originals)))
        for text in translated:
            assert set(re.findall(r"%\((\w+)\)s", text)) == wanted, (message_id, text)
    unused = [m for m in catalog if m not in used]
    assert not unused, f"messages no longer used: {unused}"


def test_every_observation_flag_has_a_label_in_english_and_russian():
    from cooptrack.domain.indicators import FLAGS
    from cooptrack.web.i18n import FLAG_LABELS, translations

    assert set(FLAG_LABELS) == FLAGS
    russian = translations("ru")
    untranslated = [msg for msg in FLAG_LABELS.values() if russian.gettext(msg) == msg]
    assert not untranslated, f"flags without a Russian label: {untranslated}"
