"""Correcting a source's description, on both databases: `GET /api/v1/sources/{code}` carries
an ETag, `PATCH` takes If-Match (412 with the source as it is now, 428 without), checks each
field as an upload does, never touches the document (its text, its SHA-256, its id), writes an
audit event, and the answers cached before it (a programme's overview "as of" a date, the
source itself) are recomputed after it."""

from __future__ import annotations

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from sqlalchemy import select

from cooptrack.errors import InvalidInput, StaleVersion
from cooptrack.services.sources import SourceSpec, add_source, get_source, update_source
from cooptrack.services.users import add_user, create_token
from cooptrack.store.changes import EVERYTHING, read_tokens
from cooptrack.store.models import AuditEvent, Source
from cooptrack.web import create_app

CODE = "qazaqtv-40-projects"
URL = f"/api/v1/sources/{CODE}"
OVERVIEW = "/api/v1/programmes/fresh-wind/overview?as_of=2019-06-30"


@pytest.fixture
def world(demo_db, write, prepare):
    """The demo, a viewer's and an editor's tokens; a client of a --public-read server (its
    anonymous answers are cached) and each role's headers."""
    def users():
        tokens = {}
        with write() as ctx:
            for role in ("viewer", "editor"):
                add_user(ctx, f"{role}-user", role)
                tokens[role] = create_token(ctx, f"{role}-user").token
        return tokens

    tokens = prepare("demo, then a viewer and an editor with tokens (source edits)", users)
    client = TestClient(create_app(demo_db, public_read=True))
    return client, {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}


def row(store, code=CODE):
    with store.read() as session:
        found = session.scalar(select(Source).where(Source.code == code))
        session.expunge(found)
        return found


def patch(client, headers, body, if_match, url=URL):
    return client.patch(url, json=body, headers=headers | {"If-Match": if_match})


def findings(response):
    assert response.status_code == 422, response.text
    return [(f["code"], f["field"], f["value"], f["message"]) for f in response.json()["error"]["findings"]]


def source_events(read):
    with read() as ctx:
        return list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.entity == "source",
                                                                 AuditEvent.action == "update")
                                        .order_by(AuditEvent.id)))


def tokens(store):
    with store.engine.connect() as conn:
        return read_tokens(conn)


def test_get_carries_the_etag_and_patch_corrects_the_description(world, demo_db, read):
    client, who = world
    shown = client.get(URL)
    version = shown.json()["version"]
    assert shown.headers["etag"] == f'"{version}"'
    document = row(demo_db)
    before = tokens(demo_db)
    done = patch(client, who["editor"], {
        "title": "  Kazakhstan and Korea: 40 projects worth US$7 billion ", "publisher": "Qazaq TV (Astana)",
        "url": "https://qazaqtv.com/en/news/40-projects", "published": "2019-04-22", "language": "en",
        "kind": "official", "credit": "Qazaq TV", "note": "Date checked against the archive."}, shown.headers["etag"])
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == f'"{version + 1}"'
    body = done.json()
    assert body == client.get(URL).json()  # the source as GET shows it
    assert (body["title"], body["publisher"], body["url"], body["published"], body["language"], body["kind"]) == (
        "Kazakhstan and Korea: 40 projects worth US$7 billion", "Qazaq TV (Astana)",
        "https://qazaqtv.com/en/news/40-projects", "2019-04-22", "en", "official")
    assert body["version"] == version + 1 and body["claims"] == shown.json()["claims"]
    assert (body["credit"], body["note"]) == ("Qazaq TV", "Date checked against the archive.")
    assert body["segments"] == shown.json()["segments"]
    saved = row(demo_db)
    assert (saved.credit, saved.note, str(saved.known_from)) == ("Qazaq TV", "Date checked against the archive.",
                                                                  "2019-04-22")
    # the document itself is as it was
    assert (saved.text, saved.sha256, saved.filename, saved.media_type, saved.code, saved.id) == (
        document.text, document.sha256, document.filename, document.media_type, document.code, document.id)
    moved = {a for a in tokens(demo_db) if tokens(demo_db)[a] != before.get(a)}
    assert moved == {EVERYTHING, "sources"}, moved

    (event,) = source_events(read)
    assert (event.actor, event.entity_id, event.request_id) == ("editor-user", str(document.id),
                                                                 done.headers["x-request-id"])
    assert (event.before["title"], event.after["title"]) == (
        "Kazakhstan and Korea to implement 40 projects worth US$7 billion",
        "Kazakhstan and Korea: 40 projects worth US$7 billion")
    assert (event.before["published"], event.after["published"]) == ("2019", "2019-04-22")
    assert (event.before["known_from"], event.after["known_from"]) == ("2019-12-31", "2019-04-22")
    assert (event.before["kind"], event.after["kind"]) == ("media", "official")
    assert (event.before["version"], event.after["version"]) == (version, version + 1)
    assert "text" not in event.before and "text" not in event.after
    assert event.before["sha256"] == event.after["sha256"] == document.sha256


def test_blank_values_clear_a_field_and_the_same_values_change_nothing(world, demo_db, read):
    client, who = world
    tag = client.get(URL).headers["etag"]
    same = patch(client, who["editor"], {"publisher": "Qazaq TV", "kind": "media"}, tag)
    assert same.status_code == 200 and same.headers["etag"] == tag and source_events(read) == []
    cleared = patch(client, who["editor"], {"publisher": "", "language": None, "url": "  ", "published": None,
                                            "credit": None, "note": ""}, tag)
    assert cleared.status_code == 200, cleared.text
    saved = row(demo_db)
    assert (saved.publisher, saved.language, saved.url, saved.published, saved.known_from, saved.credit,
            saved.note) == (None, None, None, None, None, None, None)
    assert saved.title == "Kazakhstan and Korea to implement 40 projects worth US$7 billion"
    assert len(source_events(read)) == 1


def test_every_invalid_field_is_refused_at_once_and_nothing_is_written(world, demo_db):
    client, who = world
    tag = client.get(URL).headers["etag"]
    before = count_rows(demo_db)
    refused = patch(client, who["editor"], {"title": " ", "publisher": "p" * 201, "url": "u" * 2001,
                                            "published": "2019-13", "language": "english", "kind": "blog"}, tag)
    got = findings(refused)
    assert [(c, f) for c, f, _, _ in got] == [
        ("missing", "title"), ("too_long", "publisher"), ("too_long", "url"), ("bad_period", "published"),
        ("unknown_language", "language"), ("unknown_kind", "kind")]
    messages = {f: m for _, f, _, m in got}
    assert messages["title"] == "title is required"
    assert messages["publisher"] == "publisher is 201 characters; at most 200"
    assert messages["language"] == "language 'english' is not an ISO 639-1 code such as en or ru"
    assert messages["kind"] == "kind 'blog' is not one of official, media, dataset, company"
    assert count_rows(demo_db) == before and client.get(URL).headers["etag"] == tag
    assert row(demo_db).title == "Kazakhstan and Korea to implement 40 projects worth US$7 billion"


@pytest.mark.parametrize("field", ["text", "sha256", "code", "filename", "media_type", "known_from"])
def test_the_document_and_the_id_are_not_editable(world, demo_db, field):
    client, who = world
    tag = client.get(URL).headers["etag"]
    refused = patch(client, who["editor"], {field: "changed"}, tag)
    assert refused.status_code == 422 and [f["field"] for f in refused.json()["error"]["findings"]] == [field]
    assert client.get(URL).headers["etag"] == tag


def test_the_service_refuses_fields_it_does_not_edit(store, write):
    with write() as ctx:
        add_source(ctx, SourceSpec("A report", code="report", text="Trade grew."))
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        update_source(ctx, "report", {"text": "Trade fell.", "sha256": "0" * 64, "title": "Another"}, 1)
    assert [(f.code, f.field, f.message) for f in refused.value.findings] == [
        ("unknown_field", "sha256", "a source has no editable field 'sha256'; editable: title, publisher, url, "
                                    "published, language, kind, credit, note"),
        ("unknown_field", "text", "a source has no editable field 'text'; editable: title, publisher, url, "
                                  "published, language, kind, credit, note")]
    with write() as ctx:
        source = get_source(ctx, "report")
        assert (source.title, source.text, source.version) == ("A report", "Trade grew.", 1)


def test_a_stale_edit_is_412_with_the_source_as_it_is_now(world, demo_db, read):
    client, who = world
    tag = client.get(URL).headers["etag"]
    first = patch(client, who["editor"], {"publisher": "Qazaq TV (Astana)"}, tag)
    assert first.status_code == 200, first.text
    before = count_rows(demo_db)
    stale = patch(client, who["editor"], {"publisher": "Lost"}, tag)
    assert stale.status_code == 412
    error = stale.json()["error"]
    version = int(tag.strip('"'))
    assert error["code"] == "stale_version" and error["message"] == (
        f"source '{CODE}' is at version {version + 1}, the edit was based on version {version}; someone changed it "
        "meanwhile: compare with the current record and reapply")
    current = error["current"]
    assert (current["id"], current["publisher"], current["version"]) == (CODE, "Qazaq TV (Astana)", version + 1)
    assert current["credit"] == "photo: kaztag.kz" and current["sha256"] == row(demo_db).sha256
    assert "text" not in current and "segments" not in current
    assert count_rows(demo_db) == before and row(demo_db).publisher == "Qazaq TV (Astana)"

    missing = client.patch(URL, json={"publisher": "X"}, headers=who["editor"])
    assert missing.status_code == 428 and missing.json()["error"]["code"] == "precondition_required"
    assert "If-Match" in missing.json()["error"]["message"]
    garbage = patch(client, who["editor"], {"publisher": "X"}, "latest")
    assert garbage.status_code == 400 and garbage.json()["error"]["parameter"] == "If-Match"
    assert count_rows(demo_db) == before and len(source_events(read)) == 1


def test_who_may_edit_a_source_and_an_unknown_one(world, demo_db):
    client, who = world
    tag = client.get(URL).headers["etag"]
    before = count_rows(demo_db)
    viewer = patch(client, who["viewer"], {"title": "By a viewer"}, tag)
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden"
    anonymous = client.patch(URL, json={"title": "By nobody"}, headers={"If-Match": tag})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    unknown = patch(client, who["editor"], {"title": "X"}, '"1"', url="/api/v1/sources/no-such-source")
    assert unknown.status_code == 404 and "`cooptrack source list`" in unknown.json()["error"]["message"]
    assert count_rows(demo_db) == before


def test_a_source_without_an_id_is_edited_by_its_number(world, demo_db, write):
    client, who = world
    with write() as ctx:
        number = add_source(ctx, SourceSpec("Unnumbered note", text="Exports rose.")).id
    url = f"/api/v1/sources/{number}"
    shown = client.get(url)
    assert shown.status_code == 200 and shown.headers["etag"] == '"1"'
    done = patch(client, who["editor"], {"title": "Embassy note", "language": "ru"}, '"1"', url=url)
    assert done.status_code == 200, done.text
    assert (done.json()["id"], done.json()["title"], done.json()["language"]) == (str(number), "Embassy note", "ru")
    assert done.headers["etag"] == '"2"'
    with pytest.raises(StaleVersion), write() as ctx:
        update_source(ctx, str(number), {"title": "Again"}, 1)


# -- what GET and the page show ---------------------------------------------------------------------


def test_get_the_list_and_the_page_show_the_credit_and_the_note(world, demo_db):
    client, who = world
    shown = client.get(URL).json()
    assert shown["credit"] == "photo: kaztag.kz"
    assert shown["note"].startswith("Figures given by the Ambassador of the Republic of Korea to Kazakhstan")
    listed = next(s for s in client.get("/api/v1/sources").json() if s["id"] == CODE)
    assert (listed["credit"], listed["note"]) == (shown["credit"], shown["note"])
    page = client.get(f"/sources/{CODE}")
    assert '<dd data-testid="source-credit">photo: kaztag.kz</dd>' in page.text
    assert 'data-testid="source-note"' in page.text and "Figures given by the Ambassador" in page.text
    done = patch(client, who["editor"], {"credit": "Qazaq TV <archive>", "note": None}, f'"{shown["version"]}"')
    assert done.status_code == 200, done.text
    assert (done.json()["credit"], done.json()["note"]) == ("Qazaq TV <archive>", None)
    assert client.get(URL).json() == done.json()
    page = client.get(f"/sources/{CODE}")
    assert "Qazaq TV &lt;archive&gt;" in page.text and 'data-testid="source-note"' not in page.text
    other = client.get("/sources/nbk-2019-average")  # no credit: no line for it
    assert other.status_code == 200 and 'data-testid="source-credit"' not in other.text


# -- adding a source: trimmed values --------------------------------------------------------------


def test_a_new_source_stores_its_texts_trimmed(store, write):
    """The length checked is the length stored: a value padded with spaces past its column's
    limit is stored trimmed (on PostgreSQL the padded value would not fit the column)."""
    pad = " " * 30
    with write() as ctx:
        add_source(ctx, SourceSpec("Padded", code="padded", publisher=pad + "p" * 200 + pad,
                                   url=pad + "https://example.org/" + "u" * 1980 + pad,
                                   credit="\t" + "c" * 200 + pad, text="Trade grew."))
        add_source(ctx, SourceSpec("Blank", code="blank", publisher="   ", url=" ", credit=pad, text="Trade fell."))
    saved = row(store, "padded")
    assert (saved.publisher, saved.url, saved.credit) == ("p" * 200, "https://example.org/" + "u" * 1980, "c" * 200)
    blank = row(store, "blank")
    assert (blank.publisher, blank.url, blank.credit) == (None, None, None)


def test_a_new_source_too_long_once_trimmed_is_refused(store, write):
    before = count_rows(store)
    with pytest.raises(InvalidInput) as refused, write() as ctx:
        add_source(ctx, SourceSpec("Too long", code="too-long", publisher=" " + "p" * 201 + " ",
                                   url="u" * 2001, credit=" " + "c" * 201, text="Trade grew."))
    assert [(f.code, f.field, f.message) for f in refused.value.findings] == [
        ("too_long", "publisher", "publisher is 201 characters; at most 200"),
        ("too_long", "url", "url is 2001 characters; at most 2000"),
        ("too_long", "credit", "credit is 201 characters; at most 200")]
    assert count_rows(store) == before


# -- caches ---------------------------------------------------------------------------------------


def get(client, url, expected):
    response = client.get(url)
    assert response.status_code == 200, (url, response.text)
    assert response.headers.get("x-cache") == expected, (url, response.headers.get("x-cache"), expected)
    return response


def test_a_new_publication_date_reaches_the_cached_overview_as_of_a_date(world):
    """The demo's figures come from a source published in "2019": known from the year's end, so
    the overview as of 30 June 2019 knows none of them; dated 22 April, it knows them."""
    client, who = world
    first = get(client, OVERVIEW, "miss").json()
    assert first["by_status"] == [] and first["timeline"] == []
    get(client, OVERVIEW, "hit")
    shown = get(client, URL, "miss")
    assert get(client, URL, "hit").headers["etag"] == shown.headers["etag"]  # the cached answer keeps its ETag
    done = patch(client, who["editor"], {"published": "2019-04-22"}, shown.headers["etag"])
    assert done.status_code == 200, done.text
    after = get(client, OVERVIEW, "miss").json()
    assert {b["key"]: b["count"] for b in after["by_status"]} == {"in_execution": 1, "pipeline": 1}
    assert len(after["timeline"]) == 2
    again = get(client, URL, "miss")
    assert again.json()["published"] == "2019-04-22" and again.headers["etag"] == done.headers["etag"]
    get(client, OVERVIEW, "hit")
