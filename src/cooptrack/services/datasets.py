"""Load a cooptrack dataset file (YAML or JSON): sources, rates, programmes, projects with
their status history, observations and targets, all in one transaction. Every problem is
reported with its place in the file; any error means nothing is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cooptrack.domain.indicators import FLOWS
from cooptrack.errors import AlreadyExists, CooptrackError, InvalidInput, NotFound
from cooptrack.findings import Finding
from cooptrack.services import audit
from cooptrack.services.context import Context
from cooptrack.services.observations import ObservationSpec, add_observation
from cooptrack.services.programmes import (
    IndustrySpec,
    ProgrammeSpec,
    get_programme,
    register_programme,
)
from cooptrack.services.projects import (
    LocationSpec,
    ParticipantSpec,
    ProjectSpec,
    StatusSpec,
    add_status_event,
    register_project,
)
from cooptrack.services.rates import RateSpec, add_rate
from cooptrack.services.sources import SourceSpec, add_source, get_source
from cooptrack.services.targets import TargetSpec, define_target
from cooptrack.services.validate import hs_code
from cooptrack.store.models import ProgrammeCommodity

FORMAT = "cooptrack-dataset/1"


@dataclass
class LoadResult:
    counts: dict[str, int] = field(default_factory=dict)

    def bump(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1


def demo_path() -> Path:
    return Path(str(resources.files("cooptrack") / "data" / "fresh_wind.yaml"))


def read_dataset(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(f"{path} is not a cooptrack dataset: it needs `format: {FORMAT}` at the top")
    return data


def _str(value: Any) -> Any:
    # YAML reads 2019 as an int and 2019-07-15 as a date; the services take text.
    return None if value is None else str(value)


def load_dataset(ctx: Context, data: dict[str, Any], origin: str, base: Path | None = None) -> LoadResult:
    """``base`` is the folder that relative file names in the ``evidence`` section start from."""
    result = LoadResult()
    findings: list[Finding] = []

    def attempt(where: str, action: Callable[[], Any], counter: str) -> None:
        try:
            action()
            result.bump(counter)
        except InvalidInput as exc:
            findings.extend(replace(f, source=origin, field=f"{where}.{f.field}" if f.field else where)
                            for f in exc.findings or [Finding("invalid", exc.message)])
        except (NotFound, AlreadyExists) as exc:
            findings.append(Finding(exc.code, exc.message, field=where, source=origin))
        except (KeyError, TypeError) as exc:
            findings.append(Finding("bad_entry", f"{where}: missing or malformed entry ({exc})",
                                    field=where, source=origin))

    sections: list[tuple[str, Callable[[Context, dict[str, Any]], object]]] = [
        ("sources", _source), ("rates", _rate), ("programmes", _programme), ("projects", _project),
        ("observations", _observation), ("targets", _target), ("evidence", partial(_evidence, base=base)),
    ]
    for section, load in sections:
        entries = data.get(section) or []
        if not isinstance(entries, list):
            findings.append(Finding("bad_section", f"'{section}' must be a list", field=section, source=origin))
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                findings.append(Finding("bad_entry", f"{section}[{i}] must be a mapping of fields, not {entry!r}",
                                        field=f"{section}[{i}]", source=origin))
                continue
            attempt(f"{section}[{i}]", partial(load, ctx, entry), section)
    if findings:
        raise InvalidInput.from_findings(findings)
    return result


def _source(ctx: Context, s: dict[str, Any]) -> object:
    return add_source(ctx, SourceSpec(
        code=s["id"], title=s["title"], publisher=s.get("publisher"), url=s.get("url"),
        published=_str(s.get("published")), language=s.get("language"), kind=s.get("kind"),
        credit=s.get("credit"), text=s.get("text"), note=s.get("note")))


def _rate(ctx: Context, r: dict[str, Any]) -> object:
    return add_rate(ctx, RateSpec(r["currency"], _str(r["period"]), _str(r["per_usd"]), r["source"]))


def _observation(ctx: Context, o: dict[str, Any]) -> object:
    return add_observation(ctx, ObservationSpec(
        indicator=o["indicator"], reporter=o["reporter"], partner=o.get("partner"),
        period=_str(o["period"]), value=_str(o["value"]), unit=o["unit"], hs_code=_str(o.get("hs_code")),
        flags=o.get("flags") or [], source=o.get("source"), note=o.get("note")))


def _target(ctx: Context, t: dict[str, Any]) -> object:
    return define_target(ctx, TargetSpec(
        programme=t["programme"], indicator=t["indicator"], reporter=t["reporter"],
        partner=t.get("partner"), period=_str(t["period"]), unit=t["unit"],
        value=_str(t.get("value")), multiple=_str(t.get("multiple")),
        baseline_period=_str(t.get("baseline_period")), baseline_value=_str(t.get("baseline_value")),
        deadline=_str(t.get("deadline")), approximate=bool(t.get("approximate")),
        source=t.get("source"), note=t.get("note")))


def _programme(ctx: Context, p: dict[str, Any]) -> None:
    period = p.get("period") or {}
    programme = register_programme(ctx, ProgrammeSpec(
        code=p["id"], name=p["name"], parties=list(p.get("parties") or []), aliases=p.get("aliases") or [],
        description=p.get("description"), signed=_str(p.get("signed")),
        signed_occasion=p.get("signed_occasion"), period_start=_str(period.get("start")),
        period_end=_str(period.get("end")), source=p.get("source"),
        industries=[IndustrySpec(i["name"], [str(c) for c in i.get("dac") or []]) for i in p.get("industries") or []],
    ))
    parties = {party.country for party in programme.parties}
    for c in p.get("commodities") or []:
        for code in c["hs"]:
            hs = hs_code(str(code), "commodities.hs")
            if c["flow"] not in FLOWS:
                raise InvalidInput(f"commodity flow '{c['flow']}' is not one of {', '.join(FLOWS)}",
                                   [Finding("unknown_flow", f"flow '{c['flow']}' is not one of {', '.join(FLOWS)}",
                                            field="commodities.flow", value=str(c["flow"]))])
            if c["reporter"] not in parties or c["partner"] not in parties:
                raise InvalidInput(f"commodity {hs}: reporter and partner must be programme parties",
                                   [Finding("not_a_party", "reporter and partner must be programme parties",
                                            field="commodities")])
            row = ProgrammeCommodity(
                programme_id=programme.id, reporter=c["reporter"], partner=c["partner"], flow=c["flow"],
                hs_code=hs, source_id=get_source_id(ctx, c.get("source")), note=c.get("note"))
            ctx.session.add(row)
            ctx.session.flush()
            audit.record(ctx, "create", "programme_commodity", row.id, None, audit.snapshot(row))


def _evidence(ctx: Context, e: dict[str, Any], base: Path | None) -> object:
    """Ingest a text and record the review decisions listed with it (the demo's reviewer)."""
    from cooptrack.services.claims import AcceptOptions, accept, ingest, reject

    path = Path(e["file"])
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    s = e.get("source") or {}
    spec = SourceSpec(code=s.get("id"), title=s.get("title") or path.stem, publisher=s.get("publisher"),
                      url=s.get("url"), published=_str(s.get("published")), language=s.get("language"),
                      kind=s.get("kind"))
    result = ingest(ctx, path, e.get("programme"), spec)
    for i, decision in enumerate(e.get("review") or []):
        matches = [c for c in result.claims if c.quote == decision["quote"]
                   and (decision.get("kind") is None or c.kind == decision["kind"])]
        nth = int(decision.get("occurrence", 1))
        if len(matches) < nth:
            raise InvalidInput(f"review[{i}]: no claim quoting '{decision['quote']}' (occurrence {nth}) in {path.name}",
                               [Finding("no_such_claim", f"no claim quoting '{decision['quote']}'",
                                        field=f"review[{i}].quote", value=decision["quote"])])
        claim = matches[nth - 1]
        if claim.review != "pending":
            continue  # loaded before: the decision stands
        if decision.get("reject"):
            reject(ctx, claim.id, str(decision["reject"]))
        else:
            accept(ctx, claim.id, AcceptOptions(as_=decision.get("accept"), subject=decision.get("subject"),
                                                period=_str(decision.get("period")), project=decision.get("project")))
    return result


def get_source_id(ctx: Context, code: str | None) -> int | None:
    return get_source(ctx, code).id if code else None


def _project(ctx: Context, p: dict[str, Any]) -> None:
    register_project(ctx, ProjectSpec(
        code=p["id"], title=p["title"], programme=p.get("programme"), industry=p.get("industry"),
        description=p.get("description"), aliases=p.get("aliases") or [],
        host_country=p.get("host_country"), partner_country=p.get("partner_country"),
        value=_str(p.get("value")), currency=p.get("currency"), value_date=_str(p.get("value_date")),
        sectors={str(k): _str(v) for k, v in (p.get("sectors") or {}).items()},
        participants=[ParticipantSpec(o["name"], o["role"], o.get("country"), o.get("kind"), o.get("iati_ref"))
                      for o in p.get("participants") or []],
        locations=[LocationSpec(loc["name"], loc.get("country"), loc.get("admin_area"),
                                _str(loc.get("latitude")), _str(loc.get("longitude")))
                   for loc in p.get("locations") or []],
        planned_start=_str(p.get("planned_start")), planned_end=_str(p.get("planned_end")),
        actual_start=_str(p.get("actual_start")), actual_end=_str(p.get("actual_end")),
        iati_identifier=p.get("iati_identifier"), national_id=p.get("national_id"), source=p.get("source"),
    ))
    for e in p.get("status") or []:
        add_status_event(ctx, StatusSpec(project=p["id"], status=e["status"], effective=_str(e["effective"]),
                                         source=e.get("source"), note=e.get("note"),
                                         reopen=bool(e.get("reopen")), backdate=bool(e.get("backdate"))))


def demo_loaded(ctx: Context) -> bool:
    try:
        get_programme(ctx, "fresh-wind")
        return True
    except CooptrackError:
        return False
