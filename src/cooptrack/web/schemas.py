"""The JSON shapes the API documents in its OpenAPI. Money amounts are strings holding exact
decimals ("7000000000.50"), dates are ISO strings, periods are cooptrack period codes
("2019", "2019-H1", "2019-Q2", "2019-04", "2019-04-22")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field

MAX_ID = 2**31 - 1
# A record number in a path: a positive whole number the database can hold.
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="A record number.")]


class FindingOut(BaseModel):
    code: str = Field(description="What is wrong, as a slug (e.g. bad_parameter, not_found).")
    message: str = Field(description="What is wrong and how to fix it.")
    field: str | None = Field(None, description="The parameter or field concerned.")
    value: str | None = Field(None, description="The value given.")
    row: int | None = None
    source: str | None = None
    severity: str = "error"


class ErrorOut(BaseModel):
    status: int = Field(description="The HTTP status, repeated.")
    code: str = Field(description="bad_parameter, not_found, invalid_input, stale_version, store_unavailable, ...")
    message: str
    parameter: str | None = Field(None, description="The query parameter at fault (400 only).")
    findings: list[FindingOut] = []


class ErrorEnvelope(BaseModel):
    error: ErrorOut
    request_id: str | None = Field(None, description="Also in the X-Request-ID response header.")


class Country(BaseModel):
    code: str = Field(description="ISO 3166-1 alpha-3.")
    name: str


class ProgrammeSummary(BaseModel):
    code: str
    name: str
    parties: list[Country]
    signed: str | None = Field(None, description="Period code of the signature.")
    period_start: str | None = None
    period_end: str | None = None
    projects: int = Field(description="Projects registered under the programme.")
    by_status: dict[str, int] = Field(description="Project counts by current status ('unrecorded' without one).")
    usd: str = Field(description="Sum of project values converted to USD (exact decimal).")
    usd_missing: int = Field(description="Projects with a value but no rate to convert it.")
    version: int


class MoneyOut(BaseModel):
    amount: str
    currency: str | None
    value_date: str | None = None


class RateOut(BaseModel):
    per_usd: str = Field(description="Units of the currency per US dollar.")
    period: str
    source: str


class ProjectRow(BaseModel):
    code: str
    title: str
    programme: str | None
    industry: str | None
    status: str = Field(description="Current status, or 'unrecorded'.")
    status_since: str | None = Field(description="Period code the current status is effective from.")
    host_country: str | None
    partner_country: str | None
    sectors: list[str] = Field(description="DAC 5-digit sector codes.")
    value: MoneyOut | None = Field(description="The value in its original currency.")
    usd: str | None = Field(description="The value in USD, or null without a rate.")
    rate: RateOut | None = Field(description="The rate used for usd (null for USD values).")
    version: int


class ProjectPageOut(BaseModel):
    items: list[ProjectRow]
    total: int = Field(description="Projects matching the filters, on all pages.")
    page: int
    page_size: int
    pages: int
    next: str | None = Field(description="URL of the next page, or null on the last one.")


class ObservationPageOut(BaseModel):
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    next: str | None


class OrganisationRow(BaseModel):
    id: int = Field(description="The organisation's number: its id in the other routes.")
    name: str
    country: str | None = Field(description="ISO 3166-1 alpha-3.")
    kind: str | None = Field(description="IATI OrganisationType code: 10 government, 40 multilateral, ...")
    iati_ref: str | None = Field(description="IATI organisation identifier.")
    aliases: list[str]
    projects: int = Field(description="Projects it takes part in.")
    roles: dict[str, int] = Field(description="By role (funding, implementing, ...): in how many of them.")
    version: int


class ParticipationOut(BaseModel):
    project: str = Field(description="Project id.")
    title: str
    programme: str | None = Field(description="Programme id, or null for a project outside every programme.")
    role: str


class OrganisationOut(BaseModel):
    id: int
    name: str
    country: str | None = Field(description="ISO 3166-1 alpha-3.")
    kind: str | None = Field(description="IATI OrganisationType code.")
    iati_ref: str | None = Field(description="IATI organisation identifier.")
    aliases: list[str]
    version: int = Field(description="Also in the ETag header: send it back in If-Match to edit.")
    created_at: str
    updated_at: str
    projects: int = Field(description="Projects it takes part in.")
    participations: list[ParticipationOut] = Field(description="One per project and role, by project id.")
