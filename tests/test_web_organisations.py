"""The organisation register's pages on both databases: the list (search, country and type
filters as GET parameters, the empty register and no match), an organisation with its
participations, the project page's participants linking to it (their numbers found in one query),
and the edit form for editors: a correction saved and audited, each refused value shown beside its
field with nothing written, a stale form showing what changed meanwhile, the CSRF token and the
role it needs; English and Russian."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from organisation_support import (
    AKIMAT,
    BAD_COUNTRY,
    BAD_KIND,
    KEXIM,
    KOTRA,
    NOT_FOUND,
    ROADS,
    SAMRUK,
    register_organisations,
)
from sqlalchemy import event, select
from web_support import add_test_user, signed_in

from cooptrack.services.organisations import ORGANISATION_TYPES
from cooptrack.store.models import AuditEvent, Organisation
from cooptrack.web import create_app
from cooptrack.web.i18n import translations
from cooptrack.web.pages_organisations import KIND_LABELS

HTML = {"accept": "text/html"}
# The list's rows in English: name (and aliases), country, type, IATI identifier, projects, roles.
LIST_EN = {
    AKIMAT: [AKIMAT, "Kazakhstan", "Local Government", "–", "1", "accountable: 1"],
    KEXIM: [f"{KEXIM} KEXIM, Korea Eximbank", "South Korea", "Government", "XI-TEST-KEXIM", "2", "funding: 2"],
    ROADS: [ROADS, "Kazakhstan", "–", "–", "1", "implementing: 1"],
    KOTRA: [f"{KOTRA} KOTRA", "South Korea", "Government", "–", "0", "–"],
    SAMRUK: [SAMRUK, "Kazakhstan", "Private Sector", "–", "2", "accountable: 1, implementing: 2"],
}
EVERYONE = [AKIMAT, KEXIM, ROADS, KOTRA, SAMRUK]
MEANWHILE = ("Someone changed this record while you were editing it. Nothing was saved. Compare, then save again to "
             "keep your values.")
CSRF = "the form's security token is missing or out of date; reload the page and try again"


@pytest.fixture
def orgs(demo_db, write, prepare):
    """The demo, then three projects naming four organisations (one registered first with its
    type, IATI identifier and aliases) and one organisation in no project; an editor (erin) and a
    viewer (vic). Returns the organisations' numbers by name."""

    def build():
        with write() as ctx:
            register_organisations(ctx)
            for name, role in (("erin", "editor"), ("vic", "viewer")):
                add_test_user(ctx, name, role)
            return {o.name: o.id for o in ctx.session.scalars(select(Organisation))}

    return prepare("demo, then projects with participants, an organisation in none, erin and vic", build)


@pytest.fixture
def app(orgs, demo_db):
    return create_app(demo_db, public_read=True)


# -- reading pages ---------------------------------------------------------------------------------


class Page(HTMLParser):
    """Every element: its tag, attributes, text (spaces collapsed; <br> a space) and, for a table
    row, its cells' texts; and each form control's value as a browser would send it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element: dict[str, Any] = {"tag": tag, **{k: v or "" for k, v in attrs}, "text": "", "cells": [],
                                   "options": [], "children": []}
        self.elements.append(element)
        if self._open:
            self._open[-1]["children"].append(element)
        if tag == "br":
            self.handle_data(" ")
            return
        if tag in ("td", "th"):
            row = next((e for e in reversed(self._open) if e["tag"] == "tr"), None)
            if row is not None:
                row["cells"].append(element)
        if tag == "option":
            select = next((e for e in reversed(self._open) if e["tag"] == "select"), None)
            if select is not None:
                select["options"].append(element)
        if tag not in ("input", "meta", "link", "img"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element["text"] += data

    def all(self, testid: str) -> list[dict[str, Any]]:
        return [e for e in self.elements if e.get("data-testid") == testid]

    def one(self, testid: str) -> dict[str, Any]:
        found = self.all(testid)
        assert len(found) == 1, (testid, found)
        return found[0]

    def text(self, testid: str) -> str:
        return flat(self.one(testid)["text"])

    def texts(self, testid: str) -> list[str]:
        return [flat(e["text"]) for e in self.all(testid)]

    def control(self, name: str) -> dict[str, Any]:
        found = [e for e in self.elements if e["tag"] in ("input", "select", "textarea") and e.get("name") == name]
        assert len(found) == 1, (name, found)
        return found[0]

    def form(self) -> dict[str, str]:
        """The edit form's values as a browser would send them (the text areas' text as is)."""
        values = {}
        for e in self.elements:
            if e["tag"] == "input" and "name" in e:
                if e.get("type") in ("radio", "checkbox") and "checked" not in e:
                    continue
                values[e["name"]] = e.get("value", "")
            elif e["tag"] == "textarea":
                values[e["name"]] = e["text"].removeprefix("\n")
            elif e["tag"] == "select":
                chosen = [o for o in e["options"] if "selected" in o] or e["options"][:1]
                values[e["name"]] = chosen[0].get("value", "")
        return values


def flat(text: str) -> str:
    return " ".join(text.split())


def parse(response: Any, status: int = 200) -> Page:
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert response.headers["content-type"].startswith("text/html")
    page = Page()
    page.feed(response.text)
    return page


def get(client: TestClient, url: str, status: int = 200, **params: str) -> Page:
    return parse(client.get(url, params=params, headers=HTML), status)


def rows(page: Page) -> dict[str, list[str]]:
    """The list's rows by organisation name (a link a row), each as its cells' texts."""
    links, found = page.all("organisation-link"), page.all("organisation-row")
    assert len(links) == len(found)
    return {flat(link["text"]): [flat(c["text"]) for c in row["cells"]] for link, row in zip(links, found, strict=True)}


def head(page: Page, testid: str) -> list[str]:
    """The column headings of the table with ``testid``: its first row's cells."""
    start = page.elements.index(page.one(testid))
    first = next(e for e in page.elements[start:] if e["tag"] == "tr")
    return [flat(c["text"]) for c in first["cells"]]


def facts(page: Page, testid: str) -> list[tuple[str, str]]:
    """The terms and descriptions of the list with ``testid``, in pairs."""
    items = [flat(e["text"]) for e in page.one(testid)["children"] if e["tag"] in ("dt", "dd")]
    return list(zip(items[::2], items[1::2], strict=True))


def names(page: Page) -> list[str]:
    return [flat(e["text"]) for e in page.all("organisation-link")]


def error_message(page: Page) -> str:
    return page.text("error-message")


# -- the list ----------------------------------------------------------------------------------------


def test_the_list_shows_every_organisation_by_name(app, orgs):
    page = get(TestClient(app), "/organisations")
    assert head(page, "organisations") == ["Name", "Country", "Organisation type", "IATI identifier", "Projects",
                                           "Roles"]
    assert names(page) == EVERYONE
    assert rows(page) == LIST_EN
    assert [e["href"] for e in page.all("organisation-link")] == [f"/organisations/{orgs[n]}" for n in EVERYONE]
    assert (page.text("organisations-total"), page.one("organisations-total")["data-value"]) == (
        "5 organisations", "5")
    assert page.all("organisations-empty") == [] and page.all("organisations-no-match") == []
    nav = page.one("nav-organisations")
    assert (nav["href"], flat(nav["text"]), nav["aria-current"]) == ("/organisations", "Organisations", "page")
    assert [e["data-testid"] for e in page.elements if e.get("data-testid", "").startswith("nav-")] == [
        "nav-home", "nav-projects", "nav-sources", "nav-organisations", "nav-claims", "nav-conflicts", "nav-docs"]
    options = page.control("kind")["options"]
    assert [(o["value"], flat(o["text"])) for o in options] == [("", "any")] + [
        (code, f"{code} {name}") for code, name in ORGANISATION_TYPES.items()]


@pytest.mark.parametrize("params, expected", [
    pytest.param({"search": "eximbank"}, [KEXIM], id="an-alias"),
    pytest.param({"search": "xi-test-kex"}, [KEXIM], id="the-iati-identifier"),
    pytest.param({"search": "KOREA"}, [KEXIM, KOTRA], id="names-in-any-case"),
    pytest.param({"search": "  energy "}, [SAMRUK], id="trimmed"),
    pytest.param({"country": "Kazakhstan"}, [AKIMAT, ROADS, SAMRUK], id="a-country-by-name"),
    pytest.param({"country": "kor", "kind": "10"}, [KEXIM, KOTRA], id="country-and-type"),
    pytest.param({"kind": "70"}, [SAMRUK], id="a-type"),
    pytest.param({"search": "", "country": "", "kind": ""}, EVERYONE, id="blank-filters"),
])
def test_search_and_filters_select_the_rows_and_stay_in_the_form(app, params, expected):
    page = get(TestClient(app), "/organisations", **params)
    assert names(page) == expected
    assert rows(page) == {name: LIST_EN[name] for name in expected}
    assert page.control("search")["value"] == params.get("search", "")
    assert page.control("country")["value"] == params.get("country", "")
    chosen = [o["value"] for o in page.control("kind")["options"] if "selected" in o]
    assert chosen == ([params["kind"]] if params.get("kind") else [])
    assert page.all("organisations-no-match") == []


def test_no_match_says_so_and_keeps_the_filters(app):
    page = get(TestClient(app), "/organisations", search="korea", country="KAZ")
    assert page.all("organisations") == [] and page.all("organisations-total") == []
    assert page.all("organisations-empty") == []
    assert page.text("organisations-no-match") == "No organisation matches these filters."
    assert page.control("search")["value"] == "korea" and page.control("country")["value"] == "KAZ"


def test_the_empty_register_says_how_organisations_enter_it(demo_db):
    """The demo names no participant: the register is empty."""
    client = TestClient(create_app(demo_db, public_read=True))
    empty = get(client, "/organisations")
    assert empty.all("organisations") == [] and empty.all("organisations-no-match") == []
    assert empty.text("organisations-empty") == ("No organisation is registered yet: an organisation enters the "
                                                 "register when a project names it as a participant.")
    filtered = get(client, "/organisations", kind="10")
    assert filtered.all("organisations-empty") == []
    assert filtered.text("organisations-no-match") == "No organisation matches these filters."


@pytest.mark.parametrize("params, parameter, message", [
    pytest.param({"kind": "99"}, "kind", BAD_KIND, id="type"),
    pytest.param({"country": "Atlantis"}, "country", "country 'Atlantis' is not a country name or ISO code",
                 id="country"),
])
def test_an_unknown_filter_is_the_error_page_naming_it(app, params, parameter, message):
    page = get(TestClient(app), "/organisations", 400, **params)
    assert page.one("error-parameter")["data-value"] == parameter and error_message(page) == message


def test_reading_needs_what_the_other_pages_need(orgs, demo_db):
    """Without --public-read, as /sources: anonymous people are asked to sign in; a viewer reads."""
    private = create_app(demo_db, public_read=False)
    for url in ("/sources", "/organisations", f"/organisations/{orgs[KEXIM]}"):
        assert get(TestClient(private), url, 401).text("error-status") == "401"
    vic = signed_in(private, "vic")
    assert names(get(vic, "/organisations")) == EVERYONE
    assert get(vic, f"/organisations/{orgs[KEXIM]}").text("organisation-name") == KEXIM


# -- an organisation --------------------------------------------------------------------------------


def test_an_organisation_with_its_fields_and_participations(app, orgs):
    page = get(TestClient(app), f"/organisations/{orgs[KEXIM]}")
    assert page.text("organisation-name") == KEXIM and page.one("organisation-name")["data-id"] == str(orgs[KEXIM])
    assert facts(page, "organisation-details") == [
        ("Id", str(orgs[KEXIM])), ("Country", "South Korea"), ("Organisation type", "Government (10)"),
        ("IATI identifier", "XI-TEST-KEXIM"), ("Also known as", "KEXIM; Korea Eximbank")]
    assert (page.one("organisation-kind")["data-value"], page.one("organisation-country")["data-value"]) == (
        "10", "KOR")
    assert [(e["data-project"], e["data-role"], [flat(c["text"]) for c in e["cells"]])
            for e in page.all("participation")] == [
        ("solar-park", "funding", ["Solar park near Shymkent solar-park", "funding", "–"]),
        ("wind-farm", "funding", ["Zhanatas wind farm wind-farm", "funding", "fresh-wind"])]
    assert [e["href"] for e in page.all("project-link")] == ["/projects/solar-park", "/projects/wind-farm"]
    assert [e["href"] for e in page.all("programme-link")] == ["/programmes/fresh-wind"]
    assert [flat(e["text"]) for e in page.elements if e["tag"] == "h2"] == ["Projects (2)"]
    assert page.all("organisation-edit") == []  # not for anonymous readers
    samruk = get(TestClient(app), f"/organisations/{orgs[SAMRUK]}")
    assert [(e["data-project"], e["data-role"]) for e in samruk.all("participation")] == [
        ("solar-park", "accountable"), ("solar-park", "implementing"), ("wind-farm", "implementing")]
    assert [flat(e["text"]) for e in samruk.elements if e["tag"] == "h2"] == ["Projects (2)"]
    assert facts(samruk, "organisation-details") == [
        ("Id", str(orgs[SAMRUK])), ("Country", "Kazakhstan"), ("Organisation type", "Private Sector (70)"),
        ("IATI identifier", "–"), ("Also known as", "–")]
    kotra = get(TestClient(app), f"/organisations/{orgs[KOTRA]}")
    assert kotra.all("participations") == []
    assert kotra.text("participations-empty") == "This organisation takes part in no project."
    assert [flat(e["text"]) for e in kotra.elements if e["tag"] == "h2"] == ["Projects (0)"]


def test_an_unknown_organisation_is_the_404_page(app):
    assert error_message(get(TestClient(app), "/organisations/999", 404)) == NOT_FOUND
    malformed = get(TestClient(app), "/organisations/kexim", 400)
    assert malformed.one("error-parameter")["data-value"] == "organisation_id"


def organisation_queries(store, client: TestClient, url: str) -> list[str]:
    """The statements that read the organisations table while ``client`` gets ``url``."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        if "organisations" in statement:
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        get(client, url)
    finally:
        event.remove(store.engine, "before_cursor_execute", note)
    return seen


def test_a_project_page_links_its_participants_here_in_one_query(app, orgs, demo_db):
    client = TestClient(app)
    page = get(client, "/projects/solar-park")
    links = [(flat(e["text"]), e["href"]) for e in page.all("participant-link")]
    assert links == [(KEXIM, f"/organisations/{orgs[KEXIM]}"), (SAMRUK, f"/organisations/{orgs[SAMRUK]}"),
                     (SAMRUK, f"/organisations/{orgs[SAMRUK]}")]
    # the names are mapped to numbers in one query however many participants the project has
    for code, participants in (("solar-park", 3), ("road-study", 2), ("wind-farm", 2)):
        mapping = [s for s in organisation_queries(demo_db, client, f"/projects/{code}")
                   if re.search(r"organisations\.name IN", s)]
        assert len(mapping) == 1, (code, mapping)
        assert len(get(client, f"/projects/{code}").all("participant-link")) == participants
    assert not [s for s in organisation_queries(demo_db, client, "/projects/bakad")
                if re.search(r"organisations\.name IN", s)]  # no participant: no query for them
    assert get(client, "/projects/bakad").all("participant-link") == []


# -- the edit form -------------------------------------------------------------------------------------


def events(read) -> list[AuditEvent]:
    """The organisations' update events (registering the projects created them)."""
    with read() as ctx:
        return list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.entity == "organisation",
                                                                 AuditEvent.action == "update")
                                        .order_by(AuditEvent.id)))


def stored(read, org_id: int) -> tuple[Any, ...]:
    with read() as ctx:
        o = ctx.session.get(Organisation, org_id)
        return o.name, o.country, o.kind, o.iati_ref, list(o.aliases or []), o.version


def edit_form(client: TestClient, org_id: int) -> tuple[Page, dict[str, str]]:
    page = get(client, f"/organisations/{org_id}/edit")
    return page, page.form()


def test_the_form_shows_the_organisation_as_saved(app, orgs):
    erin = signed_in(app, "erin")
    detail = get(erin, f"/organisations/{orgs[KEXIM]}")
    assert detail.one("organisation-edit")["href"] == f"/organisations/{orgs[KEXIM]}/edit"
    page, form = edit_form(erin, orgs[KEXIM])
    assert {k: v for k, v in form.items() if k != "csrf"} == {
        "version": "1", "name": KEXIM, "country": "KOR", "kind": "10", "iati_ref": "XI-TEST-KEXIM",
        "aliases": "KEXIM\nKorea Eximbank"}
    assert form["csrf"]
    assert [flat(e["text"]) for e in page.elements if e["tag"] == "h1"] == [f"Edit organisation {orgs[KEXIM]}"]
    labels = {e["data-field"]: flat(e["text"]) for e in page.elements if e["tag"] == "label" and "data-field" in e}
    assert labels["name"] == "Name" and labels["iati_ref"].startswith("IATI identifier")
    assert labels["country"] == "Country An ISO code or a country name; empty when not known."
    assert labels["aliases"] == "Also known as KEXIM Korea Eximbank One name a line."
    options = page.control("kind")["options"]
    assert [(o["value"], flat(o["text"])) for o in options] == [("", "–")] + [
        (code, f"{code} {name}") for code, name in ORGANISATION_TYPES.items()]


def test_an_edit_is_saved_audited_and_shown(app, orgs, read):
    erin = signed_in(app, "erin")
    org_id = orgs[ROADS]
    _page, form = edit_form(erin, org_id)
    done = erin.post(f"/organisations/{org_id}/edit", data=form | {
        "name": " KazAvtoZhol ", "country": "Kyrgyzstan", "kind": "15", "iati_ref": " XI-TEST-KAZAVTOZHOL ",
        "aliases": "Kazakhavtodor\r\n KAZ Roads \r\n\r\nKazakhavtodor\r\n"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/organisations/{org_id}"
    assert stored(read, org_id) == ("KazAvtoZhol", "KGZ", "15", "XI-TEST-KAZAVTOZHOL",
                                    ["Kazakhavtodor", "KAZ Roads"], 2)
    (audited,) = events(read)
    assert (audited.actor, audited.action, audited.entity_id, audited.request_id) == (
        "erin", "update", str(org_id), done.headers["x-request-id"])
    page = get(erin, f"/organisations/{org_id}")
    assert page.text("organisation-name") == "KazAvtoZhol"
    assert facts(page, "organisation-details") == [
        ("Id", str(org_id)), ("Country", "Kyrgyzstan"), ("Organisation type", "Other Public Sector (15)"),
        ("IATI identifier", "XI-TEST-KAZAVTOZHOL"), ("Also known as", "Kazakhavtodor; KAZ Roads")]
    project = get(erin, "/projects/road-study")
    assert [(flat(e["text"]), e["href"]) for e in project.all("participant-link")] == [
        ("KazAvtoZhol", f"/organisations/{org_id}"), (AKIMAT, f"/organisations/{orgs[AKIMAT]}")]
    # sent again unchanged, nothing changes; blank fields clear the optional ones
    _page, again = edit_form(erin, org_id)
    assert erin.post(f"/organisations/{org_id}/edit", data=again, follow_redirects=False).status_code == 303
    assert stored(read, org_id)[-1] == 2 and len(events(read)) == 1
    cleared = erin.post(f"/organisations/{org_id}/edit", data=again | {"country": "", "kind": "", "iati_ref": "",
                                                                     "aliases": ""}, follow_redirects=False)
    assert cleared.status_code == 303
    assert stored(read, org_id) == ("KazAvtoZhol", None, None, None, [], 3) and len(events(read)) == 2


@pytest.mark.parametrize("changes, expected", [
    pytest.param({"name": "  "}, {"name": ["name is required"]}, id="blank-name"),
    pytest.param({"name": "n" * 301}, {"name": ["name is 301 characters; at most 300"]}, id="long-name"),
    pytest.param({"name": SAMRUK}, {"name": ["name 'Samruk-Energy' is organisation {samruk}'s already; choose "
                                             "another name"]}, id="name-taken"),
    pytest.param({"country": "Atlantis"}, {"country": [BAD_COUNTRY]}, id="unknown-country"),
    pytest.param({"kind": "99"}, {"kind": [BAD_KIND]}, id="unknown-type"),
    pytest.param({"iati_ref": "XI-TEST-KEXIM"}, {"iati_ref": [
        f"IATI identifier 'XI-TEST-KEXIM' is organisation {{kexim}}'s already ({KEXIM}); choose another, or clear "
        "it there first"]}, id="iati-ref-taken"),
    pytest.param({"iati_ref": "r" * 101}, {"iati_ref": ["iati_ref is 101 characters; at most 100"]},
                 id="long-iati-ref"),
    pytest.param({"aliases": "KAZ Roads\n" + "a" * 301}, {"aliases": ["aliases[1] is 301 characters; at most 300"]},
                 id="long-alias"),
    pytest.param({"name": "", "country": "Atlantis", "kind": "99", "aliases": "a" * 301},
                 {"name": ["name is required"], "country": [BAD_COUNTRY], "kind": [BAD_KIND],
                  "aliases": ["aliases[0] is 301 characters; at most 300"]}, id="every-finding-at-once"),
])
def test_a_refused_value_comes_back_beside_its_field_and_nothing_is_written(app, orgs, store, read, changes,
                                                                           expected):
    erin = signed_in(app, "erin")
    org_id = orgs[ROADS]
    _page, form = edit_form(erin, org_id)
    before = count_rows(store)
    page = parse(erin.post(f"/organisations/{org_id}/edit", data=form | changes), 422)
    wanted = {field: [m.format(samruk=orgs[SAMRUK], kexim=orgs[KEXIM]) for m in messages]
              for field, messages in expected.items()}
    shown = {field: page.texts(f"error-{field}") for field in ("name", "country", "kind", "iati_ref", "aliases")}
    assert {f: m for f, m in shown.items() if m} == wanted
    assert page.all("form-errors") == [] and page.all("changed-meanwhile") == []
    for field in ("name", "country", "kind", "iati_ref", "aliases"):
        assert (page.control(field).get("aria-invalid") == "true") is (field in expected), field
    sent = form | changes
    kept = page.form()
    assert kept["version"] == "1"
    for field in ("name", "country", "kind", "iati_ref"):
        assert kept[field] == sent[field].strip(), field  # what was typed is kept
    assert kept["aliases"] == "\n".join(line.strip() for line in sent["aliases"].splitlines() if line.strip())
    assert count_rows(store) == before and events(read) == []
    assert stored(read, org_id) == (ROADS, "KAZ", None, None, [], 1)


def test_a_stale_form_shows_what_changed_meanwhile_and_saves_only_when_sent_again(app, orgs, store, read):
    erin = signed_in(app, "erin")
    org_id = orgs[ROADS]
    _page, mine = edit_form(erin, org_id)
    _page, other = edit_form(erin, org_id)
    assert erin.post(f"/organisations/{org_id}/edit", data=other | {"name": "KazAvtoZhol", "aliases": "KAZ Roads"},
                     follow_redirects=False).status_code == 303
    before = count_rows(store)
    page = parse(erin.post(f"/organisations/{org_id}/edit", data=mine | {"kind": "15"}), 409)
    notice = page.one("changed-meanwhile")
    assert flat(notice["text"]).startswith(MEANWHILE)
    table = [[flat(c["text"]) for c in e["cells"]] for e in page.elements
             if e["tag"] == "tr" and e.get("data-field")]
    assert table == [["Name", "KazAvtoZhol", ROADS], ["Organisation type", "", "15"],
                     ["Also known as", "KAZ Roads", ""]]
    assert count_rows(store) == before and len(events(read)) == 1
    assert stored(read, org_id) == ("KazAvtoZhol", "KAZ", None, None, ["KAZ Roads"], 2)
    again = page.form()
    assert (again["version"], again["name"], again["kind"], again["aliases"]) == ("2", ROADS, "15", "")
    assert erin.post(f"/organisations/{org_id}/edit", data=again, follow_redirects=False).status_code == 303
    assert stored(read, org_id) == (ROADS, "KAZ", "15", None, [], 3) and len(events(read)) == 2


def test_the_form_needs_the_token_and_an_editor(app, orgs, store, read):
    org_id = orgs[ROADS]
    url = f"/organisations/{org_id}/edit"
    erin, vic, anonymous = signed_in(app, "erin"), signed_in(app, "vic"), TestClient(app)
    _page, form = edit_form(erin, org_id)
    before = count_rows(store)
    without = {k: v for k, v in form.items() if k != "csrf"}
    for sent in (form | {"csrf": "forged"}, form | {"csrf": ""}, without):
        refused = parse(erin.post(url, data=sent | {"name": "Forged"}, headers=HTML), 403)
        assert error_message(refused) == CSRF
    no_role = ("user 'vic' has the role viewer, which may not edit; an admin can change it with "
               "`cooptrack user set NAME --role ...`")
    assert error_message(get(vic, url, 403)) == no_role
    assert get(vic, f"/organisations/{org_id}").all("organisation-edit") == []
    assert error_message(parse(vic.post(url, data=form | {"name": "Viewer's"}, headers=HTML), 403)) == no_role
    sign_in = "sign in, or send 'Authorization: Bearer <token>'; `cooptrack token create USER` makes a token"
    assert error_message(get(anonymous, url, 401)) == sign_in
    assert error_message(parse(anonymous.post(url, data=form | {"name": "Anonymous"}, headers=HTML), 401)) == sign_in
    assert count_rows(store) == before and events(read) == []
    assert stored(read, org_id) == (ROADS, "KAZ", None, None, [], 1)
    assert error_message(get(erin, "/organisations/999/edit", 404)) == NOT_FOUND
    assert error_message(parse(erin.post("/organisations/999/edit", data=form, headers=HTML), 404)) == NOT_FOUND


# -- the merge form ------------------------------------------------------------------------------------

MERGE_TITLE = "Merge another organisation into this one"
MERGE_STALE = ("Someone changed this organisation while you were filling in the form. Nothing was merged. Check it, "
               "then merge again.")


def merge_form(client: TestClient, org_id: int) -> tuple[Page, dict[str, str]]:
    page = get(client, f"/organisations/{org_id}/merge")
    return page, page.form()


def merge_events(read) -> list[tuple[str, str, str, str | None]]:
    with read() as ctx:
        return [(e.actor, e.action, e.entity_id, e.request_id) for e in ctx.session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "organisation", AuditEvent.action.in_(("merge", "delete")))
            .order_by(AuditEvent.id))]


def participations(page: Page) -> list[tuple[str, str]]:
    return [(e["data-project"], e["data-role"]) for e in page.all("participation")]


def test_the_merge_link_and_form_are_for_editors(app, orgs):
    erin = signed_in(app, "erin")
    link = get(erin, f"/organisations/{orgs[ROADS]}").one("organisation-merge")
    assert (link["href"], flat(link["text"])) == (f"/organisations/{orgs[ROADS]}/merge", MERGE_TITLE)
    assert get(TestClient(app), f"/organisations/{orgs[ROADS]}").all("organisation-merge") == []
    assert get(signed_in(app, "vic"), f"/organisations/{orgs[ROADS]}").all("organisation-merge") == []
    page, form = merge_form(erin, orgs[ROADS])
    assert [flat(e["text"]) for e in page.elements if e["tag"] == "h1"] == [MERGE_TITLE]
    options = page.control("other")["options"]
    assert [(o["value"], flat(o["text"])) for o in options] == [("", "–")] + [
        (str(orgs[n]), f"{n} ({orgs[n]})") for n in EVERYONE if n != ROADS]
    assert {k: v for k, v in form.items() if k != "csrf"} == {
        "version": "1", "other": "", "country": "keep", "kind": "keep", "iati_ref": "keep"}
    assert form["csrf"]
    assert [[flat(label["text"]) for label in page.one(f"choice-{f}")["children"] if label["tag"] == "label"]
            for f in ("country", "kind", "iati_ref")] == [["keep this one's", "take the other's"]] * 3
    assert [flat(page.one(f"choice-{f}")["text"]).split(" keep")[0] for f in ("country", "kind", "iati_ref")] == [
        "Country", "Organisation type", "IATI identifier"]
    assert page.text("choices-explained") == ("Used only when the two organisations hold different values; a value "
                                              "only one of them holds is kept.")
    assert flat(page.one("merge")["text"]) == "Merge"


def test_a_merge_moves_the_projects_audits_and_shows_the_kept_one(app, orgs, read):
    erin = signed_in(app, "erin")
    keep, other = orgs[ROADS], orgs[AKIMAT]
    _page, form = merge_form(erin, keep)
    done = erin.post(f"/organisations/{keep}/merge", data=form | {"other": str(other)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/organisations/{keep}"
    page = get(erin, f"/organisations/{keep}")
    assert participations(page) == [("road-study", "accountable"), ("road-study", "implementing")]
    assert facts(page, "organisation-details") == [
        ("Id", str(keep)), ("Country", "Kazakhstan"), ("Organisation type", "Local Government (11)"),
        ("IATI identifier", "–"), ("Also known as", AKIMAT)]
    assert merge_events(read) == [("erin", "merge", str(keep), done.headers["x-request-id"]),
                                  ("erin", "delete", str(other), done.headers["x-request-id"])]
    assert stored(read, keep) == (ROADS, "KAZ", "11", None, [AKIMAT], 2)
    with read() as ctx:
        assert ctx.session.get(Organisation, other) is None
    assert error_message(get(erin, f"/organisations/{other}", 404)) == f"organisation {other} does not exist; " \
        "`cooptrack organisation list` shows the ids"


def kind_conflict(orgs) -> str:
    return (f"kind differs: organisation {orgs[SAMRUK]} ({SAMRUK}) has '70', organisation {orgs[AKIMAT]} ({AKIMAT}) "
            "has '11'; say which to keep (--prefer-keep kind or --prefer-other kind; in the API prefer_keep or "
            "prefer_other)")


def test_a_conflict_nobody_decided_is_refused_with_nothing_merged(app, orgs, store, read):
    """The form always sends a choice (keep by default); a form without one leaves the conflict to the service."""
    erin = signed_in(app, "erin")
    keep, other = orgs[SAMRUK], orgs[AKIMAT]
    _page, form = merge_form(erin, keep)
    before = count_rows(store)
    undecided = {k: v for k, v in form.items() if k != "kind"} | {"other": str(other)}
    page = parse(erin.post(f"/organisations/{keep}/merge", data=undecided), 422)
    assert page.texts("error-kind") == [kind_conflict(orgs)]
    assert page.all("error-other") == [] and page.all("form-errors") == [] and page.all("changed-meanwhile") == []
    kept = page.form()
    assert (kept["other"], kept["version"], kept["kind"]) == (str(other), "1", "keep")
    assert count_rows(store) == before and merge_events(read) == []
    assert stored(read, keep) == (SAMRUK, "KAZ", "70", None, [], 1)
    assert stored(read, other) == (AKIMAT, "KAZ", "11", None, [], 1)


@pytest.mark.parametrize("choice, kind", [pytest.param("other", "11", id="take-the-others"),
                                          pytest.param("keep", "70", id="keep-this-ones-the-default")])
def test_a_chosen_value_decides_the_conflict(app, orgs, read, choice, kind):
    erin = signed_in(app, "erin")
    keep, other = orgs[SAMRUK], orgs[AKIMAT]
    _page, form = merge_form(erin, keep)
    done = erin.post(f"/organisations/{keep}/merge", data=form | {"other": str(other), "kind": choice},
                     follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/organisations/{keep}"
    assert stored(read, keep) == (SAMRUK, "KAZ", kind, None, [AKIMAT], 2)
    assert [action for _actor, action, _id, _request in merge_events(read)] == ["merge", "delete"]
    assert participations(get(erin, f"/organisations/{keep}")) == [
        ("road-study", "accountable"), ("solar-park", "accountable"), ("solar-park", "implementing"),
        ("wind-farm", "implementing")]


@pytest.mark.parametrize("other, message", [
    pytest.param("{keep}", "organisation {keep} cannot be merged with itself; give the number of another "
                           "organisation to merge into it", id="itself"),
    pytest.param("999", NOT_FOUND, id="unknown"),
    pytest.param("kotra", "other 'kotra' is not a whole number", id="not-a-number"),
])
def test_a_refused_other_is_shown_beside_the_choice(app, orgs, store, read, other, message):
    erin = signed_in(app, "erin")
    keep = orgs[ROADS]
    _page, form = merge_form(erin, keep)
    before = count_rows(store)
    page = parse(erin.post(f"/organisations/{keep}/merge", data=form | {"other": other.format(keep=keep)}), 422)
    assert page.texts("error-other") == [message.format(keep=keep)]
    assert page.one("merge-explained") and page.all("form-errors") == []
    assert count_rows(store) == before and merge_events(read) == []
    assert stored(read, keep) == (ROADS, "KAZ", None, None, [], 1)


def test_a_stale_merge_form_is_refused_and_merges_only_when_sent_again(app, orgs, store, read):
    erin = signed_in(app, "erin")
    keep, other = orgs[ROADS], orgs[AKIMAT]
    _page, form = merge_form(erin, keep)
    _page, edit = edit_form(erin, keep)
    assert erin.post(f"/organisations/{keep}/edit", data=edit | {"iati_ref": "XI-TEST-ROADS"},
                     follow_redirects=False).status_code == 303
    before = count_rows(store)
    page = parse(erin.post(f"/organisations/{keep}/merge", data=form | {"other": str(other), "kind": "other"}), 409)
    assert page.text("changed-meanwhile") == MERGE_STALE
    assert count_rows(store) == before and merge_events(read) == []
    assert stored(read, keep) == (ROADS, "KAZ", None, "XI-TEST-ROADS", [], 2)
    assert stored(read, other) == (AKIMAT, "KAZ", "11", None, [], 1)
    again = page.form()
    assert (again["version"], again["other"], again["kind"]) == ("2", str(other), "other")
    assert erin.post(f"/organisations/{keep}/merge", data=again, follow_redirects=False).status_code == 303
    assert stored(read, keep) == (ROADS, "KAZ", "11", "XI-TEST-ROADS", [AKIMAT], 3)


def test_the_merge_needs_the_token_and_an_editor(app, orgs, store, read):
    keep, other = orgs[ROADS], orgs[AKIMAT]
    url = f"/organisations/{keep}/merge"
    erin, vic, anonymous = signed_in(app, "erin"), signed_in(app, "vic"), TestClient(app)
    _page, form = merge_form(erin, keep)
    form |= {"other": str(other)}
    before = count_rows(store)
    without = {k: v for k, v in form.items() if k != "csrf"}
    for sent in (form | {"csrf": "forged"}, form | {"csrf": ""}, without):
        assert error_message(parse(erin.post(url, data=sent, headers=HTML), 403)) == CSRF
    no_role = ("user 'vic' has the role viewer, which may not edit; an admin can change it with "
               "`cooptrack user set NAME --role ...`")
    assert error_message(get(vic, url, 403)) == no_role
    assert error_message(parse(vic.post(url, data=form, headers=HTML), 403)) == no_role
    sign_in = "sign in, or send 'Authorization: Bearer <token>'; `cooptrack token create USER` makes a token"
    assert error_message(get(anonymous, url, 401)) == sign_in
    assert error_message(parse(anonymous.post(url, data=form, headers=HTML), 401)) == sign_in
    assert count_rows(store) == before and merge_events(read) == []
    assert stored(read, keep) == (ROADS, "KAZ", None, None, [], 1)
    assert error_message(get(erin, "/organisations/999/merge", 404)) == NOT_FOUND


# -- Russian ---------------------------------------------------------------------------------------------


def test_the_pages_in_russian(app, orgs):
    client = TestClient(app)
    client.cookies.set("cooptrack_lang", "ru")
    page = get(client, "/organisations")
    assert [flat(e["text"]) for e in page.elements if e["tag"] == "h1"] == ["Организации"]
    assert flat(page.one("nav-organisations")["text"]) == "Организации"
    assert page.text("organisations-total") == "5 организаций"
    assert rows(page) == {
        AKIMAT: [AKIMAT, "Казахстан", "Местный орган власти", "–", "1", "ответственная сторона: 1"],
        KEXIM: [f"{KEXIM} KEXIM, Korea Eximbank", "Республика Корея", "Государственный орган", "XI-TEST-KEXIM", "2",
                "финансирующая сторона: 2"],
        ROADS: [ROADS, "Казахстан", "–", "–", "1", "исполнитель: 1"],
        KOTRA: [f"{KOTRA} KOTRA", "Республика Корея", "Государственный орган", "–", "0", "–"],
        SAMRUK: [SAMRUK, "Казахстан", "Частный сектор", "–", "2", "ответственная сторона: 1, исполнитель: 2"]}
    assert head(page, "organisations") == ["Название", "Страна", "Тип организации", "Идентификатор IATI", "Проекты",
                                           "Роли"]
    assert get(client, "/organisations", kind="70").text("organisations-total") == "1 организация"
    assert get(client, "/organisations", country="KAZ").text("organisations-total") == "3 организации"
    assert get(client, "/organisations", search="nobody").text("organisations-no-match") == (
        "Нет организаций, подходящих под эти условия.")
    detail = get(client, f"/organisations/{orgs[SAMRUK]}")
    assert facts(detail, "organisation-details") == [
        ("Код", str(orgs[SAMRUK])), ("Страна", "Казахстан"), ("Тип организации", "Частный сектор (70)"),
        ("Идентификатор IATI", "–"), ("Другие названия", "–")]
    assert [flat(e["text"]) for e in detail.elements if e["tag"] == "h2"] == ["Проекты (2)"]
    assert [[flat(c["text"]) for c in e["cells"]][1] for e in detail.all("participation")] == [
        "ответственная сторона", "исполнитель", "исполнитель"]
    kotra = get(client, f"/organisations/{orgs[KOTRA]}")
    assert kotra.text("participations-empty") == "Эта организация не участвует ни в одном проекте."
    erin = signed_in(app, "erin")
    erin.cookies.set("cooptrack_lang", "ru")
    form = get(erin, f"/organisations/{orgs[KEXIM]}/edit")
    assert [flat(e["text"]) for e in form.elements if e["tag"] == "h1"] == [f"Изменить организацию {orgs[KEXIM]}"]
    assert [flat(o["text"]) for o in form.control("kind")["options"]][:3] == [
        "–", "10 Государственный орган", "11 Местный орган власти"]
    assert flat(form.one("save")["text"]) == "Сохранить"
    assert flat(get(erin, f"/organisations/{orgs[KEXIM]}").one("organisation-merge")["text"]) == (
        "Присоединить к этой организации другую")
    merge = get(erin, f"/organisations/{orgs[KEXIM]}/merge")
    assert [flat(e["text"]) for e in merge.elements if e["tag"] == "h1"] == ["Присоединить к этой организации другую"]
    assert [flat(label["text"]) for label in merge.one("choice-kind")["children"] if label["tag"] == "label"] == [
        "оставить значение этой", "взять значение другой"]
    assert flat(merge.one("merge")["text"]) == "Объединить"


def test_every_organisation_type_has_its_name_and_a_russian_one():
    assert KIND_LABELS == ORGANISATION_TYPES
    russian = translations("ru")
    assert [name for name in KIND_LABELS.values() if russian.gettext(name) == name] == []
