"""The dashboard in a real browser (Debian's Chromium through Playwright) against the demo:
the figures on the pages equal the API's, the as-of control, the project filters and the CSV
download, the Russian UI, a project page and the 404 page. Every test fails on any console
error, page error, failed request or request leaving the machine."""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from browser_support import (
    CHROMIUM_ARGS,
    Watch,
    data_value,
    demo_store,
    new_page,
    number_renderings,
    require_browser,
    screenshot_dir,
    serve,
    spaces,
)

from cooptrack.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PROGRAMME = "fresh-wind"
HEADLINE_KEYS = ("package", "implemented", "in_execution", "not_started")
EARLIER = "2019-01-01"  # the demo's headline differs on this date from today's (checked in the test)
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


@pytest.fixture(scope="session")
def chromium() -> str:
    return require_browser()


@pytest.fixture(scope="session")
def base_url(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = demo_store(tmp_path_factory.mktemp("browser"))
    try:
        with serve(create_app(store, public_read=True)) as base:
            yield base
    finally:
        store.dispose()


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


@pytest.fixture
def browse(browser: Browser, base_url: str, request: pytest.FixtureRequest) -> Iterator[tuple[Page, Watch]]:
    """A fresh browser context (English, no cookies) and the watch over its page. Tests call
    `watch.assert_clean()`; whatever arrives after that fails the teardown (or, when the test
    has already failed, is shown as a warning so it is not lost)."""
    failed_before = request.session.testsfailed
    page, watch = new_page(browser, base_url)
    yield page, watch
    page.context.close()
    if request.session.testsfailed > failed_before:
        late = watch.problems[watch.reported:]
        if late:
            warnings.warn("the browser also reported:\n" + "\n".join(late), stacklevel=1)
        return
    watch.assert_clean()


def get_json(api: httpx.Client, path: str, params: Any = None) -> Any:
    response = api.get(path, params=params)
    assert response.status_code == 200, f"{path} {params}: {response.status_code} {response.text[:300]}"
    return response.json()


def headline_api(api: httpx.Client, as_of: str | None = None) -> dict[str, tuple[int, Decimal]]:
    params = {"as_of": as_of} if as_of else None
    rows = get_json(api, f"/api/v1/programmes/{PROGRAMME}/overview", params)["headline"]["rows"]
    return {r["key"]: (r["count"], Decimal(r["usd"])) for r in rows if r["key"] in HEADLINE_KEYS}


def headline_page(page: Page) -> dict[str, tuple[int, Decimal]]:
    return {key: (int(data_value(page, f"headline-{key}-count")), Decimal(data_value(page, f"headline-{key}-usd")))
            for key in HEADLINE_KEYS}


def wait_for_charts(page: Page) -> None:
    for chart in ("#chart-status", "#chart-industry"):
        page.locator(f"{chart} .main-svg").first.wait_for(state="attached")
        assert page.locator(f"{chart} svg.main-svg").count() >= 1, f"plotly drew no svg in {chart}"


def query_of(url: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if v != ""]


def all_codes(api: httpx.Client, query: list[tuple[str, str]]) -> list[str]:
    """Every project id the API selects for `query` (all pages)."""
    base = [(k, v) for k, v in query if k not in ("page", "page_size")]
    codes: list[str] = []
    page = 1
    while True:
        found = get_json(api, "/api/v1/projects", [*base, ("page", str(page)), ("page_size", "500")])
        codes += [item["code"] for item in found["items"]]
        if not found["next"]:
            return codes
        page += 1


def page_rows(page: Page) -> list[str]:
    rows = page.locator("tr[data-testid=project-row]")
    return [rows.nth(i).get_attribute("data-code") or "" for i in range(rows.count())]


def assert_projects_match_api(page: Page, api: httpx.Client) -> list[tuple[str, str]]:
    query = query_of(page.url)
    found = get_json(api, "/api/v1/projects", query)
    assert int(data_value(page, "projects-total")) == found["total"], f"total on {page.url} differs from the API's"
    assert page_rows(page) == [item["code"] for item in found["items"]], f"rows on {page.url} differ from the API's"
    return query


def csv_ids(text: str) -> list[str]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    column = next((name for name in ("id", "code") if name in header), None)
    assert column, f"the CSV has no id column: {header}"
    return [row[column] for row in reader]


def test_home_links_to_the_demo_dashboard(browse: tuple[Page, Watch], api: httpx.Client) -> None:
    page, watch = browse
    page.goto("/")
    links = page.locator("a[data-testid=programme-link]")
    assert links.count() == len(get_json(api, "/api/v1/programmes"))
    page.locator(f"a[data-testid=programme-link][href*='/programmes/{PROGRAMME}']").first.click()
    page.wait_for_url(re.compile(rf"/programmes/{PROGRAMME}(\?.*)?$"))
    page.wait_for_load_state("load")
    assert page.locator("[data-testid=headline-package-count]").count() == 1
    watch.assert_clean()


def test_dashboard_figures_equal_the_api_and_charts_draw(browse: tuple[Page, Watch], api: httpx.Client) -> None:
    page, watch = browse
    page.goto("/")
    page.locator(f"a[data-testid=programme-link][href*='/programmes/{PROGRAMME}']").first.click()
    page.wait_for_url(re.compile(rf"/programmes/{PROGRAMME}(\?.*)?$"))
    assert headline_page(page) == headline_api(api)
    wait_for_charts(page)
    assert page.locator("[data-testid=timeline]").is_visible()
    assert page.locator("[data-testid=targets]").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=str(screenshot_dir() / "dashboard-en.png"), full_page=True)
    watch.assert_clean()


def test_as_of_control_reconstructs_an_earlier_state(browse: tuple[Page, Watch], api: httpx.Client) -> None:
    page, watch = browse
    today, earlier = headline_api(api), headline_api(api, EARLIER)
    assert today != earlier, f"precondition: the demo's headline must differ on {EARLIER}"
    page.goto(f"/programmes/{PROGRAMME}")
    before = headline_page(page)
    assert before == today
    form = page.locator("form#as-of")
    form.locator("input[name=as_of]").fill(EARLIER)
    form.locator("[data-testid=as-of-apply]").click()
    page.wait_for_url(re.compile(rf"[?&]as_of={EARLIER}"))
    page.wait_for_load_state("load")
    after = headline_page(page)
    assert after == earlier
    assert after != before
    assert page.locator("form#as-of input[name=as_of]").input_value() == EARLIER
    shown = spaces(page.locator("[data-testid=as-of-shown]").inner_text())
    from babel.dates import format_date

    day = date.fromisoformat(EARLIER)
    forms = {EARLIER} | {spaces(format_date(day, f, locale="en")) for f in ("short", "medium", "long", "full")}
    assert any(f in shown for f in forms), f"as-of-shown says {shown!r}, not {EARLIER} in any English form"
    assert page.locator("#chart-status").count() == 1  # nothing registered yet: a "no data" note, not a chart
    watch.assert_clean()


def test_projects_filter_and_csv_download(browse: tuple[Page, Watch], api: httpx.Client, tmp_path: Path) -> None:
    page, watch = browse
    page.goto("/projects")
    assert_projects_match_api(page, api)
    everything = get_json(api, "/api/v1/projects")["total"]

    form = page.locator("form#project-filters")
    form.locator("select[name=status]").select_option("in_execution")
    form.locator("[data-testid=filter-apply]").click()
    page.wait_for_url(re.compile(r"[?&]status=in_execution"))
    page.wait_for_load_state("load")
    query = assert_projects_match_api(page, api)
    selected = all_codes(api, query)
    assert 0 < len(selected) < everything, "precondition: the status filter must select some, not all, projects"

    link = page.locator("a[data-testid=download-csv]")
    assert "status=in_execution" in (link.get_attribute("href") or "")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    saved = tmp_path / (download.suggested_filename or "projects.csv")
    download.save_as(saved)
    assert csv_ids(saved.read_text(encoding="utf-8")) == selected

    page.goto("/projects")
    form.locator("input[name=q]").fill("assembly")
    form.locator("[data-testid=filter-apply]").click()
    page.wait_for_url(re.compile(r"[?&]q=assembly"))
    page.wait_for_load_state("load")
    query = assert_projects_match_api(page, api)
    assert 0 < len(all_codes(api, query)) < everything, "precondition: the text must select some, not all"
    watch.assert_clean()


def test_downloads_hold_the_whole_selection_not_the_page(browse: tuple[Page, Watch], api: httpx.Client,
                                                         tmp_path: Path) -> None:
    page, watch = browse
    page.goto("/projects?page_size=1&sort=-code")
    query = assert_projects_match_api(page, api)
    selected = all_codes(api, query)
    assert len(selected) > 1, "precondition: more projects than the page shows"
    assert len(page_rows(page)) == 1

    with page.expect_download() as csv_info:
        page.locator("a[data-testid=download-csv]").click()
    csv_file = tmp_path / "projects.csv"
    csv_info.value.save_as(csv_file)
    assert csv_ids(csv_file.read_text(encoding="utf-8")) == selected

    with page.expect_download() as xlsx_info:
        page.locator("a[data-testid=download-xlsx]").click()
    xlsx_file = tmp_path / "projects.xlsx"
    xlsx_info.value.save_as(xlsx_file)
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx_file, read_only=True).worksheets[0]
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    header = [str(c) if c is not None else "" for c in rows[0]]
    column = next((header.index(n) for n in ("id", "code") if n in header), None)
    assert column is not None, f"the workbook's first sheet has no id column: {header}"
    assert [r[column] for r in rows[1:] if any(c is not None for c in r)] == selected
    watch.assert_clean()


def test_russian_ui_is_remembered_and_formats_numbers(browse: tuple[Page, Watch], api: httpx.Client) -> None:
    page, watch = browse
    page.goto(f"/programmes/{PROGRAMME}")
    assert page.locator("html").get_attribute("lang") == "en"
    english_nav = page.locator("nav").first.inner_text()
    assert "Projects" in english_nav
    targets_en = spaces(page.locator("[data-testid=targets]").inner_text())

    page.locator("a[data-testid=lang-ru]").click()
    page.wait_for_url(re.compile(rf"/programmes/{PROGRAMME}(\?.*)?$"))
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "ru"
    nav = page.locator("nav").first.inner_text()
    assert "Проекты" in nav, f"the nav is not in Russian: {nav!r}"
    assert headline_page(page) == headline_api(api)  # the raw figures do not depend on the language

    target = Decimal(get_json(api, f"/api/v1/programmes/{PROGRAMME}/overview")["targets"][0]["target_value"])
    targets_ru = spaces(page.locator("[data-testid=targets]").inner_text())
    assert CYRILLIC.search(targets_ru), f"the targets are not labelled in Russian: {targets_ru!r}"
    assert any(f in targets_en for f in number_renderings(target, "en")), \
        f"the target {target} is not shown formatted for English: {targets_en!r}"
    assert any(f in targets_ru for f in number_renderings(target, "ru")), \
        f"the target {target} is not shown formatted for Russian: {targets_ru!r}"
    from babel.numbers import format_decimal

    assert format_decimal(target, locale="en") not in targets_ru, "English digit grouping on the Russian page"
    wait_for_charts(page)
    page.screenshot(path=str(screenshot_dir() / "dashboard-ru.png"), full_page=True)

    page.goto("/projects")  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "ru"
    assert CYRILLIC.search(page.locator("nav").first.inner_text())
    page.locator("a[data-testid=lang-en]").click()
    page.wait_for_url(re.compile(r"/projects(\?.*)?$"))
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Projects" in page.locator("nav").first.inner_text()
    watch.assert_clean()


def test_project_page_shows_title_and_status_timeline(browse: tuple[Page, Watch], api: httpx.Client) -> None:
    page, watch = browse
    project = get_json(api, "/api/v1/projects/bakad")
    page.goto("/projects?q=bakad")
    row = page.locator("tr[data-testid=project-row][data-code=bakad]")
    row.locator("a").first.click()
    page.wait_for_url(re.compile(r"/projects/bakad$"))
    assert page.locator("h1").first.inner_text().strip() == project["title"]
    timeline = page.locator("[data-testid=status-timeline]")
    assert timeline.is_visible()
    text = spaces(timeline.inner_text()).lower()
    assert project["history"], "precondition: bakad has status events"
    for event in project["history"]:
        assert event["effective"][:4] in text
        source = event["source_title"] or event["source"]
        if source:
            assert spaces(source).lower() in text, f"the timeline does not name the source {source!r}: {text!r}"
    watch.assert_clean()


def test_unknown_programme_shows_the_404_page(browse: tuple[Page, Watch]) -> None:
    page, watch = browse
    target = "/programmes/no-such-programme"
    watch.allow_error_status(f"{watch.base}{target}")
    response = page.goto(target)
    assert response is not None and response.status == 404
    assert page.locator("[data-testid=error-status]").inner_text().strip() == "404"
    watch.assert_clean()


@pytest.fixture(scope="module")
def register_site(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    """The demo with two projects naming three organisations (one registered first with its type,
    IATI identifier and aliases) and an editor, erin, served on its own (the edit must not change
    what the other tests read). Yields the base URL and the organisations' numbers by name."""
    from sqlalchemy import select
    from web_support import PASSWORD, add_test_user

    from cooptrack.services.context import Context
    from cooptrack.services.projects import ParticipantSpec, ProjectSpec, register_project
    from cooptrack.store.models import Organisation

    store = demo_store(tmp_path_factory.mktemp("register"))
    with store.write() as session:
        ctx = Context(session, "tester")
        session.add(Organisation(name="Export-Import Bank of Korea", country="KOR", kind="10",
                                 iati_ref="XI-TEST-KEXIM", aliases=["KEXIM", "Korea Eximbank"]))
        session.flush()
        register_project(ctx, ProjectSpec("wind-farm", "Zhanatas wind farm", programme=PROGRAMME, participants=[
            ParticipantSpec("Export-Import Bank of Korea", "funding", "KOR"),
            ParticipantSpec("Samruk-Energy", "implementing", "KAZ", "70")]))
        register_project(ctx, ProjectSpec("road-study", "Feasibility study of the Taraz ring road", participants=[
            ParticipantSpec("KazAutoZhol", "implementing", "KAZ")]))
        add_test_user(ctx, "erin", "editor", PASSWORD)
        ids = {o.name: o.id for o in session.scalars(select(Organisation))}
    try:
        with serve(create_app(store, public_read=True)) as base:
            yield base, ids
    finally:
        store.dispose()


def test_organisations_search_open_and_edit_as_an_editor(browser: Browser,
                                                         register_site: tuple[str, dict[str, int]]) -> None:
    """The register from the navigation: every organisation the API lists, a search narrowing it
    as the API's does, one opened; then, signed in as an editor, corrected through its form (every
    control found by its label) and shown corrected, also from the project page that names it."""
    from web_support import PASSWORD

    base, ids = register_site
    kexim = ids["Export-Import Bank of Korea"]
    page, watch = new_page(browser, base)
    try:
        with httpx.Client(base_url=base, timeout=10) as api:
            page.goto("/")
            page.locator("a[data-testid=nav-organisations]").click()
            page.wait_for_url(re.compile(r"/organisations$"))
            listed = [o["name"] for o in get_json(api, "/api/v1/organisations")]
            assert page.locator("a[data-testid=organisation-link]").all_inner_texts() == listed
            assert listed == ["Export-Import Bank of Korea", "KazAutoZhol", "Samruk-Energy"]

            form = page.locator("form#organisation-filters")
            form.get_by_role("searchbox", name="Search").fill("eximbank")
            form.get_by_role("button", name="Apply").click()
            page.wait_for_url(re.compile(r"[?&]search=eximbank"))
            found = [o["name"] for o in get_json(api, "/api/v1/organisations", {"search": "eximbank"})]
            assert found == ["Export-Import Bank of Korea"]
            assert page.locator("a[data-testid=organisation-link]").all_inner_texts() == found
            assert form.get_by_role("searchbox", name="Search").input_value() == "eximbank"

            page.get_by_role("link", name="Export-Import Bank of Korea").click()
            page.wait_for_url(re.compile(rf"/organisations/{kexim}$"))
            assert page.locator("h1").inner_text().strip() == "Export-Import Bank of Korea"
            assert page.locator("[data-testid=participation]").count() == 1
            assert page.locator("[data-testid=organisation-edit]").count() == 0  # not signed in

            page.get_by_role("link", name="Sign in").click()
            page.wait_for_url(re.compile(r"/login\?"))
            page.get_by_label("User name").fill("erin")
            page.get_by_label("Password").fill(PASSWORD)
            page.locator("[data-testid=login-submit]").click()
            page.wait_for_url(re.compile(rf"/organisations/{kexim}$"))
            page.locator("a[data-testid=organisation-edit]").click()
            page.wait_for_url(re.compile(rf"/organisations/{kexim}/edit$"))

            edit = page.locator("form#organisation-form")
            kind = edit.get_by_label(re.compile(r"^Organisation type"))
            assert edit.get_by_label("Name", exact=True).input_value() == "Export-Import Bank of Korea"
            assert kind.input_value() == "10"
            edit.get_by_label("Name", exact=True).fill("Korea Eximbank")
            kind.select_option("40")
            edit.get_by_label(re.compile(r"^Also known as")).fill("KEXIM\nExport-Import Bank of Korea")
            edit.get_by_role("button", name="Save").click()
            page.wait_for_url(re.compile(rf"/organisations/{kexim}$"))
            assert page.locator("h1").inner_text().strip() == "Korea Eximbank"
            assert spaces(page.locator("[data-testid=organisation-kind]").inner_text()).strip() == "Multilateral (40)"
            assert page.locator("[data-testid=organisation-aliases]").inner_text().strip() == (
                "KEXIM; Export-Import Bank of Korea")
            saved = get_json(api, f"/api/v1/organisations/{kexim}")
            assert (saved["name"], saved["kind"], saved["aliases"], saved["version"]) == (
                "Korea Eximbank", "40", ["KEXIM", "Export-Import Bank of Korea"], 2)

            page.get_by_role("link", name="Zhanatas wind farm").click()
            page.wait_for_url(re.compile(r"/projects/wind-farm$"))
            link = page.locator("a[data-testid=participant-link]", has_text="Korea Eximbank")
            assert link.get_attribute("href") == f"/organisations/{kexim}"
            link.click()
            page.wait_for_url(re.compile(rf"/organisations/{kexim}$"))
            page.screenshot(path=str(screenshot_dir() / "organisation-edited.png"), full_page=True)
        watch.assert_clean()
    finally:
        page.context.close()
