"""Forms for the write API's other operations, in the pages: register and edit a programme, add
and edit an observation, define a target, record an exchange rate; and the two lists that lead to
them (observations, rates). Like the project form (pages_edit), each form carries the session's
CSRF token and calls the same service function as the API route; an invalid form comes back with
each finding beside its field and nothing written; an edit based on an outdated version comes back
with what changed meanwhile, and is saved only when sent again.

    /programmes/new                  register a programme                 (editor)
    /programmes/{code}/edit          edit a programme, its parties and    (editor)
                                     industries (renamed in place)
    /programmes/{code}/targets/new   define a target of the programme     (editor)
    /targets/{id}/edit               edit a target                        (editor)
    /observations                    observations, filtered and paged     (read)
    /observations/new                add an observation                   (editor)
    /observations/{id}/edit          edit an observation                  (editor)
    /rates                           the exchange rates recorded          (read)
    /rates/new                       record an exchange rate              (editor)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from cooptrack.domain.indicators import CATALOGUE, FLAGS
from cooptrack.errors import AlreadyExists, InvalidInput, StaleVersion
from cooptrack.findings import Finding
from cooptrack.services import audit
from cooptrack.services.browse import observation_views
from cooptrack.services.context import Context
from cooptrack.services.editing import (
    get_observation,
    observation_view,
    programme_view,
    update_observation,
    update_programme,
)
from cooptrack.services.observations import BASES, ObservationSpec, add_observation
from cooptrack.services.programmes import IndustrySpec, ProgrammeSpec, get_programme, register_programme
from cooptrack.services.rates import RateSpec, add_rate, list_rates
from cooptrack.services.targets import TargetSpec, define_target, get_target, target_view, update_target
from cooptrack.web.context import int_param, read_context, store_of
from cooptrack.web.pages_base import qs, render
from cooptrack.web.pages_edit import form_of, signed_in

router = APIRouter(include_in_schema=False)

INDICATORS = tuple(d.code for d in CATALOGUE)
FLAG_CHOICES = tuple(sorted(FLAGS))
PARTY_INPUTS = 4  # blank ones are left out; a programme needs at least two parties
# The edit form's industries: a row each (its name, its DAC codes, and, hidden, the name it had
# when the form was shown: a name edited in place renames the industry), blank rows to add to.
BLANK_INDUSTRIES = 2
MAX_INDUSTRY_ROWS = 500
INDUSTRY_FINDING = re.compile(r"industries\[(\d+)\](?:\.(name|dac_codes))?")

NEW_PROGRAMME = ("code", "name", "aliases", "description", "signed", "signed_occasion", "period_start",
                 "period_end", "industries", "source")
PROGRAMME_EDITS = ("name", "description", "aliases", "signed", "signed_occasion", "period_start", "period_end")
OBSERVATION = ("indicator", "reporter", "partner", "period", "value", "unit", "hs_code", "value_basis",
               "quantity", "quantity_unit", "net_weight_kg", "source", "note")
OBSERVATION_EDITS = ("value", "note", "source")  # and the flags, a list
TARGET = ("indicator", "reporter", "partner", "period", "unit", "value", "multiple", "baseline_period",
          "baseline_value", "hs_code", "deadline", "source", "note")
RATE = ("currency", "period", "per_usd", "source")

# The services name some fields in their own words; the form's field for each.
ALIASES = {"programme id": "code", "party": "parties", "rate": "per_usd", "net weight": "net_weight_kg"}


# -- shared ---------------------------------------------------------------------------------------


def _key(field: str) -> str:
    """A finding's field as a lookup key: ``parties[1]`` -> ``parties``, ``period_start`` -> ``period start``."""
    return field.split("[", 1)[0].strip().lower().replace("_", " ")


def place(findings: Iterable[Finding], fields: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Each finding's message under the form field it names; the rest for the top of the form.
    A record that does not exist (an indicator, a source) is reported without a field, in a
    message that starts with its kind: that word names the field."""
    names = {_key(f): f for f in fields}
    names.update({k: v for k, v in ALIASES.items() if v in names.values()})
    placed: dict[str, list[str]] = {}
    loose: list[str] = []
    for f in findings:
        key = _key(f.field) if f.field else (f.message.split(" ", 1)[0].lower() if f.code == "not_found" else "")
        name = names.get(key)
        if name:
            placed.setdefault(name, []).append(f.message)
        else:
            loose.append(f.message)
    return placed, loose


def _findings(exc: InvalidInput) -> list[Finding]:
    return exc.findings or [Finding("invalid", exc.message)]


def _texts(form: FormData, names: Iterable[str]) -> dict[str, str]:
    return {n: str(form.get(n, "")).strip() for n in names}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _ctx(request: Request, session: Any, actor: str) -> Context:
    return Context(session, actor=actor, request_id=getattr(request.state, "request_id", None))


def _meanwhile(fields: Iterable[str], saved: dict[str, Any], yours: dict[str, Any]) -> list[dict[str, str]]:
    """The fields where the record as saved now differs from the form as sent."""
    return [{"field": f, "theirs": _shown(saved[f]), "yours": _shown(yours[f])} for f in fields
            if _shown(saved[f]) != _shown(yours[f])]


def _shown(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


# -- programmes -----------------------------------------------------------------------------------


def _industries(text: str) -> list[IndustrySpec]:
    """One industry a line, its DAC codes after a colon: ``Road transport: 21020, 21030``."""
    found = []
    for line in _lines(text):
        name, colon, codes = line.rpartition(":")
        if not colon:
            name, codes = line, ""
        found.append(IndustrySpec(name.strip(), [c for c in re.split(r"[\s,;]+", codes) if c]))
    return found


def _programme_form(request: Request, status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("loose", [])
    context.setdefault("meanwhile", None)
    return render(request, "programme_form.html", status=status, **context)


@router.get("/programmes/new")
def programme_new(request: Request) -> Response:
    signed_in(request, "edit")
    values: dict[str, Any] = dict.fromkeys(NEW_PROGRAMME, "") | {"parties": [""] * PARTY_INPUTS}
    return _programme_form(request, creating=True, values=values)


@router.post("/programmes/new")
async def programme_create(request: Request) -> Response:
    actor = signed_in(request, "edit")
    form = await form_of(request)
    given: dict[str, Any] = _texts(form, NEW_PROGRAMME)
    parties = [p for p in (str(x).strip() for x in form.getlist("party")) if p]
    spec = ProgrammeSpec(given["code"], given["name"], parties, _lines(given["aliases"]),
                         given["description"] or None, given["signed"] or None, given["signed_occasion"] or None,
                         given["period_start"] or None, given["period_end"] or None,
                         _industries(given["industries"]), given["source"] or None)
    given["parties"] = parties + [""] * max(0, PARTY_INPUTS - len(parties))
    try:
        with store_of(request).write() as session:
            register_programme(_ctx(request, session, actor), spec)
    except InvalidInput as exc:
        errors, loose = place(_findings(exc), [*NEW_PROGRAMME, "parties"])
        return _programme_form(request, 422, creating=True, values=given, errors=errors, loose=loose)
    except AlreadyExists as exc:
        return _programme_form(request, exc.http_status, creating=True, values=given, errors={"code": [exc.message]})
    return RedirectResponse(f"/programmes/{spec.code}", status_code=303)


def _programme_values(view: dict[str, Any]) -> dict[str, str]:
    return {f: "\n".join(view.get(f) or []) if f == "aliases" else str(view.get(f) or "") for f in PROGRAMME_EDITS}


def _codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", text) if c]


def _party_inputs(parties: list[str]) -> list[str]:
    """The parties and blank inputs to add a few: at least PARTY_INPUTS in all."""
    return parties + [""] * max(2, PARTY_INPUTS - len(parties))


def _industry_rows(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The programme's industries as form rows, each with the name it has now (``was``)."""
    return [{"name": name, "dac_codes": ", ".join(codes), "was": name, "remove": False}
            for name, codes in _industry_pairs(view)]


def _industry_blanks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    blank = sum(1 for r in rows if not r["was"] and not r["name"] and not r["dac_codes"])
    return rows + [{"name": "", "dac_codes": "", "was": "", "remove": False}
                   for _ in range(max(0, BLANK_INDUSTRIES - blank))]


def _given_industries(form: FormData) -> list[dict[str, Any]] | None:
    """The industry rows as sent; None when the form has none (the industries then stay as they are)."""
    if "industry_rows" not in form:
        return None
    count = min(max(int_param(str(form.get("industry_rows", "")), "industry_rows", 0), 0), MAX_INDUSTRY_ROWS)
    return [{f: str(form.get(f"industry-{i}-{f}", "")).strip() for f in ("name", "dac_codes", "was")}
            | {"remove": bool(form.get(f"industry-{i}-remove"))} for i in range(count)]


def _kept_industries(rows: list[dict[str, Any]]) -> list[int]:
    """The rows that name an industry: neither emptied nor marked for removal."""
    return [i for i, r in enumerate(rows) if not r["remove"] and (r["name"] or r["dac_codes"])]


def _industry_pairs(view: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The programme's industries as (name, DAC codes), in order."""
    codes = view.get("industry_dac_codes") or {}
    return [(name, list(codes.get(name) or [])) for name in view["industries"]]


def _industries_text(pairs: list[tuple[str, list[str]]]) -> str:
    return "; ".join(f"{name} ({', '.join(codes)})" if codes else name for name, codes in pairs)


def _place_industries(findings: list[Finding], rows: list[dict[str, Any]], kept: list[int]
                      ) -> tuple[dict[str, list[str]], list[Finding]]:
    """The findings about one industry under its form row (``industry-ROW``, or ``-name`` and
    ``-dac_codes`` for those inputs; an industry that cannot be removed under the row that held
    it); the other findings, for `place`."""
    placed: dict[str, list[str]] = {}
    rest: list[Finding] = []
    for f in findings:
        field = (f.field or "").strip()
        found = INDUSTRY_FINDING.match(field)
        name = None
        if found and int(found[1]) < len(kept):
            name = f"industry-{kept[int(found[1])]}" + (f"-{found[2]}" if found[2] else "")
        elif field == "industries" and f.code == "industry_in_use":
            held = [i for i, r in enumerate(rows) if r["was"] and r["was"] == f.value]
            name = f"industry-{held[0]}" if held else None
        if name:
            placed.setdefault(name, []).append(f.message)
        else:
            rest.append(f)
    return placed, rest


def _current_programme(request: Request, code: str) -> dict[str, Any]:
    with store_of(request).read() as session:
        return audit.jsonable(programme_view(get_programme(Context(session, actor="web"), code)))


@router.get("/programmes/{code}/edit")
def programme_edit(request: Request, code: str) -> Response:
    signed_in(request, "edit")
    view = _current_programme(request, code)
    values: dict[str, Any] = _programme_values(view) | {"parties": _party_inputs(view["parties"])}
    return _programme_form(request, creating=False, p=view, values=values, version=view["version"],
                           industries=_industry_blanks(_industry_rows(view)))


@router.post("/programmes/{code}/edit")
async def programme_save(request: Request, code: str) -> Response:
    """The fields, parties and industries that differ from the programme as saved go to
    `update_programme`, as one edit: the same call as `PATCH /api/v1/programmes/{code}`."""
    actor = signed_in(request, "edit")
    form = await form_of(request)
    given: dict[str, Any] = _texts(form, PROGRAMME_EDITS)
    given["aliases"] = "\n".join(_lines(given["aliases"]))
    version = int_param(str(form.get("version", "")), "version", 0)
    view = _current_programme(request, code)
    before = _programme_values(view)
    changes: dict[str, Any] = {f: (_lines(v) if f == "aliases" else v or None)
                               for f, v in given.items() if v != before[f]}
    parties = ([p for p in (str(x).strip() for x in form.getlist("party")) if p] if "party" in form
               else list(view["parties"]))
    if parties != view["parties"]:
        changes["parties"] = parties
    rows = _given_industries(form)
    kept = _kept_industries(rows) if rows is not None else []
    saved = _industry_pairs(view)
    wanted = [(rows[i]["name"], _codes(rows[i]["dac_codes"])) for i in kept] if rows is not None else saved
    if rows is not None and wanted != saved:
        changes["industries"] = [{"name": rows[i]["name"], "dac_codes": _codes(rows[i]["dac_codes"])}
                                 | ({"renamed_from": rows[i]["was"]} if rows[i]["was"] not in ("", rows[i]["name"])
                                    else {}) for i in kept]
    shown = given | {"parties": _party_inputs(parties)}
    industries = _industry_blanks(rows if rows is not None else _industry_rows(view))
    try:
        with store_of(request).write() as session:
            update_programme(_ctx(request, session, actor), code, changes, version)
    except StaleVersion as exc:
        now: dict[str, Any] = exc.current or view
        theirs = _industry_pairs(now)
        meanwhile = _meanwhile(PROGRAMME_EDITS, _programme_values(now), given)
        if now["parties"] != parties:
            meanwhile.append({"field": "parties", "theirs": ", ".join(now["parties"]), "yours": ", ".join(parties)})
        if theirs != wanted:
            meanwhile.append({"field": "industries", "theirs": _industries_text(theirs),
                              "yours": _industries_text(wanted)})
        return _programme_form(request, 409, creating=False, p=now, values=shown, version=now.get("version", version),
                               industries=industries, meanwhile=meanwhile)
    except InvalidInput as exc:
        by_row, rest = _place_industries(_findings(exc), rows or [], kept)
        errors, loose = place(rest, [*PROGRAMME_EDITS, "parties", "industries"])
        return _programme_form(request, 422, creating=False, p=view, values=shown, version=version,
                               industries=industries, errors=errors | by_row, loose=loose)
    return RedirectResponse(f"/programmes/{code}", status_code=303)


# -- targets --------------------------------------------------------------------------------------


@router.get("/programmes/{code}/targets/new")
def target_new(request: Request, code: str) -> Response:
    signed_in(request, "edit")
    view = _current_programme(request, code)
    parties = view["parties"] + ["", ""]
    values = dict.fromkeys(TARGET, "") | {"reporter": parties[0], "partner": parties[1], "approximate": False}
    return _target_form(request, creating=True, p=view, values=values)


@router.post("/programmes/{code}/targets/new")
async def target_create(request: Request, code: str) -> Response:
    actor = signed_in(request, "edit")
    form = await form_of(request)
    g = _texts(form, TARGET)
    approximate = bool(form.get("approximate"))
    spec = TargetSpec(code, g["indicator"], g["reporter"], g["period"], g["unit"], g["value"] or None,
                      g["multiple"] or None, g["baseline_period"] or None, g["baseline_value"] or None,
                      g["partner"] or None, g["hs_code"] or None, g["deadline"] or None, approximate,
                      g["source"] or None, g["note"] or None)
    try:
        with store_of(request).write() as session:
            define_target(_ctx(request, session, actor), spec)
    except InvalidInput as exc:
        errors, loose = place(_findings(exc), TARGET)
        return _target_form(request, 422, creating=True, p=_current_programme(request, code),
                            values=g | {"approximate": approximate}, errors=errors, loose=loose)
    return RedirectResponse(f"/programmes/{code}", status_code=303)


def _target_form(request: Request, status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("loose", [])
    context.setdefault("meanwhile", None)
    return render(request, "target_form.html", status=status, indicators=INDICATORS, **context)


def _current_target(request: Request, target_id: int) -> dict[str, Any]:
    with store_of(request).read() as session:
        ctx = Context(session, actor="web")
        return audit.jsonable(target_view(ctx, get_target(ctx, target_id)))


def _target_values(view: dict[str, Any]) -> dict[str, Any]:
    return {f: "" if view[f] is None else str(view[f]) for f in TARGET} | {"approximate": bool(view["approximate"])}


@router.get("/targets/{target_id}/edit")
def target_edit(request: Request, target_id: int) -> Response:
    signed_in(request, "edit")
    view = _current_target(request, target_id)
    return _target_form(request, creating=False, p=_current_programme(request, view["programme"]), t=view,
                        values=_target_values(view), version=view["version"])


@router.post("/targets/{target_id}/edit")
async def target_save(request: Request, target_id: int) -> Response:
    actor = signed_in(request, "edit")
    form = await form_of(request)
    given: dict[str, Any] = _texts(form, TARGET) | {"approximate": bool(form.get("approximate"))}
    version = int_param(str(form.get("version", "")), "version", 0)
    view = _current_target(request, target_id)
    programme = _current_programme(request, view["programme"])
    before = _target_values(view)
    changes = {f: (v if f == "approximate" else v or None) for f, v in given.items() if v != before[f]}
    try:
        with store_of(request).write() as session:
            update_target(_ctx(request, session, actor), target_id, changes, version)
    except StaleVersion as exc:
        now = exc.current or view
        return _target_form(request, 409, creating=False, p=programme, t=now, values=given,
                            version=now.get("version", version),
                            meanwhile=_meanwhile([*TARGET, "approximate"], _target_values(now), given))
    except InvalidInput as exc:
        errors, loose = place(_findings(exc), [*TARGET, "approximate"])
        return _target_form(request, 422, creating=False, p=programme, t=view, values=given, version=version,
                            errors=errors, loose=loose)
    return RedirectResponse(f"/programmes/{view['programme']}", status_code=303)


# -- observations ---------------------------------------------------------------------------------


def _observation_page(o: dict[str, Any]) -> str:
    """The list of the observation's series, at the observation."""
    return "/observations?" + qs({"indicator": o["indicator"], "reporter": o["reporter"],
                                  "partner": o["partner"] or ""}) + f"#observation-{o['id']}"


@router.get("/observations")
def observations_page(request: Request, indicator: str | None = None, reporter: str | None = None,
                      partner: str | None = None, hs_code: str | None = None, page: str | None = None,
                      ctx: Context = Depends(read_context)) -> Response:
    number = int_param(page, "page", 1)
    items, total = observation_views(ctx, indicator or None, reporter or None, partner or None, hs_code or None,
                                     page=number, page_size=100)
    params = {"indicator": indicator or "", "reporter": reporter or "", "partner": partner or "",
              "hs_code": hs_code or ""}
    return render(request, "observations.html", items=items, total=total, page=number,
                  pages=max(1, -(-total // 100)), params=params, indicators=INDICATORS)


def _observation_form(request: Request, status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("loose", [])
    context.setdefault("meanwhile", None)
    return render(request, "observation_form.html", status=status, indicators=INDICATORS, flag_choices=FLAG_CHOICES,
                  bases=BASES, **context)


@router.get("/observations/new")
def observation_new(request: Request, indicator: str = "", reporter: str = "", partner: str = "") -> Response:
    signed_in(request, "edit")
    values: dict[str, Any] = dict.fromkeys(OBSERVATION, "") | {"indicator": indicator, "reporter": reporter,
                                                                  "partner": partner, "flags": []}
    return _observation_form(request, creating=True, values=values)


@router.post("/observations/new")
async def observation_create(request: Request) -> Response:
    actor = signed_in(request, "edit")
    form = await form_of(request)
    g = _texts(form, OBSERVATION)
    flags = [str(f) for f in form.getlist("flags")]
    spec = ObservationSpec(g["indicator"], g["reporter"], g["period"], g["value"], g["unit"], g["partner"] or None,
                           g["hs_code"] or None, flags, g["value_basis"] or None, g["quantity"] or None,
                           g["quantity_unit"] or None, g["net_weight_kg"] or None, g["source"] or None,
                           g["note"] or None)
    try:
        with store_of(request).write() as session:
            o = add_observation(_ctx(request, session, actor), spec)
            view = observation_view(o)
    except InvalidInput as exc:
        errors, loose = place(_findings(exc), [*OBSERVATION, "flags"])
        return _observation_form(request, 422, creating=True, values=g | {"flags": flags}, errors=errors,
                                 loose=loose)
    return RedirectResponse(_observation_page(view), status_code=303)


def _current_observation(request: Request, observation_id: int) -> dict[str, Any]:
    with store_of(request).read() as session:
        o = get_observation(Context(session, actor="web"), observation_id)
        return audit.jsonable(observation_view(o))


def _observation_values(view: dict[str, Any]) -> dict[str, Any]:
    return {"value": view["value"] or "", "note": view["note"] or "", "source": view["source"] or "",
            "flags": sorted(view["flags"])}


@router.get("/observations/{observation_id}/edit")
def observation_edit(request: Request, observation_id: int) -> Response:
    signed_in(request, "edit")
    view = _current_observation(request, observation_id)
    return _observation_form(request, creating=False, o=view, values=_observation_values(view),
                             version=view["version"])


@router.post("/observations/{observation_id}/edit")
async def observation_save(request: Request, observation_id: int) -> Response:
    actor = signed_in(request, "edit")
    form = await form_of(request)
    given: dict[str, Any] = _texts(form, OBSERVATION_EDITS) | {"flags": sorted({str(f) for f in form.getlist("flags")})}
    version = int_param(str(form.get("version", "")), "version", 0)
    view = _current_observation(request, observation_id)
    before = _observation_values(view)
    changes = {f: (v if f in ("value", "flags") else v or None) for f, v in given.items() if v != before[f]}
    try:
        with store_of(request).write() as session:
            update_observation(_ctx(request, session, actor), observation_id, changes, version)
    except StaleVersion as exc:
        now = exc.current or view
        return _observation_form(request, 409, creating=False, o=now, values=given,
                                 version=now.get("version", version),
                                 meanwhile=_meanwhile(("value", "flags", "note", "source"),
                                                      _observation_values(now), given))
    except InvalidInput as exc:
        errors, loose = place(_findings(exc), [*OBSERVATION_EDITS, "flags"])
        return _observation_form(request, 422, creating=False, o=view, values=given, version=version,
                                 errors=errors, loose=loose)
    return RedirectResponse(_observation_page(view), status_code=303)


# -- exchange rates -------------------------------------------------------------------------------


@router.get("/rates")
def rates_page(request: Request, ctx: Context = Depends(read_context)) -> Response:
    rates = [{"currency": r.currency, "period": r.period, "per_usd": r.per_usd, "source": r.source}
             for r in list_rates(ctx)]
    return render(request, "rates.html", rates=rates)


@router.get("/rates/new")
def rate_new(request: Request) -> Response:
    signed_in(request, "edit")
    return render(request, "rate_form.html", values=dict.fromkeys(RATE, "") | {"replace": False}, errors={}, loose=[])


@router.post("/rates/new")
async def rate_create(request: Request) -> Response:
    actor = signed_in(request, "edit")
    form = await form_of(request)
    g = _texts(form, RATE)
    replace = bool(form.get("replace"))
    values = g | {"replace": replace}
    try:
        with store_of(request).write() as session:
            row = add_rate(_ctx(request, session, actor), RateSpec(g["currency"], g["period"], g["per_usd"],
                                                                   g["source"]), replace=replace)
            anchor = f"rate-{row.currency}-{row.period}"
    except InvalidInput as exc:
        errors, loose = place(_findings(exc), RATE)
        return render(request, "rate_form.html", status=422, values=values, errors=errors, loose=loose)
    except AlreadyExists as exc:  # offer to replace it, beside the box that does
        return render(request, "rate_form.html", status=exc.http_status, values=values,
                      errors={"replace": [exc.message]}, loose=[])
    return RedirectResponse(f"/rates#{anchor}", status_code=303)
