"""Tables. Every editable row has a ``version`` (optimistic locking through SQLAlchemy's
``version_id_col``); history rows (status events, audit events) are append-only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from cooptrack.store.types import Amount, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {Decimal: Amount(), datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Versioned:
    """Mixin for editable rows: a version counter and creation/update times."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


class Source(Versioned, Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    publisher: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    published: Mapped[str | None] = mapped_column(String(10))  # a Period code
    known_from: Mapped[date | None] = mapped_column(Date)  # last day of `published`
    language: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str | None] = mapped_column(String(16))
    credit: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(500))
    media_type: Mapped[str | None] = mapped_column(String(100))


class Programme(Versioned, Base):
    __tablename__ = "programmes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    signed: Mapped[str | None] = mapped_column(String(10))  # Period code
    signed_occasion: Mapped[str | None] = mapped_column(String(500))
    period_start: Mapped[str | None] = mapped_column(String(10))
    period_end: Mapped[str | None] = mapped_column(String(10))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))

    parties: Mapped[list[ProgrammeParty]] = relationship(
        back_populates="programme", cascade="all, delete-orphan", order_by="ProgrammeParty.position"
    )
    industries: Mapped[list[Industry]] = relationship(
        back_populates="programme", cascade="all, delete-orphan", order_by="Industry.position"
    )


class ProgrammeParty(Base):
    __tablename__ = "programme_parties"
    __table_args__ = (UniqueConstraint("programme_id", "country"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    country: Mapped[str] = mapped_column(String(3))
    position: Mapped[int] = mapped_column(Integer, default=0)
    programme: Mapped[Programme] = relationship(back_populates="parties")


class Industry(Base):
    __tablename__ = "programme_industries"
    __table_args__ = (UniqueConstraint("programme_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    programme: Mapped[Programme] = relationship(back_populates="industries")
    sectors: Mapped[list[IndustrySector]] = relationship(
        cascade="all, delete-orphan", order_by="IndustrySector.dac_code"
    )

    @property
    def dac_codes(self) -> list[str]:
        return [s.dac_code for s in self.sectors]


class IndustrySector(Base):
    __tablename__ = "programme_industry_sectors"
    __table_args__ = (UniqueConstraint("industry_id", "dac_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    industry_id: Mapped[int] = mapped_column(ForeignKey("programme_industries.id", ondelete="CASCADE"))
    dac_code: Mapped[str] = mapped_column(String(5))


class ProgrammeCommodity(Base):
    """A commodity a source names as part of the programme's trade (no value stated)."""

    __tablename__ = "programme_commodities"
    __table_args__ = (UniqueConstraint("programme_id", "reporter", "partner", "flow", "hs_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    reporter: Mapped[str] = mapped_column(String(3))
    partner: Mapped[str] = mapped_column(String(3))
    flow: Mapped[str] = mapped_column(String(16))
    hs_code: Mapped[str] = mapped_column(String(6))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    note: Mapped[str | None] = mapped_column(Text)


class Organisation(Versioned, Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    country: Mapped[str | None] = mapped_column(String(3))
    kind: Mapped[str | None] = mapped_column(String(8))  # IATI OrganisationType code
    iati_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)


class Project(Versioned, Base):
    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_programme_status", "programme_id", "status"),
        # the project list: a programme's page in code order; a country's projects (either side)
        Index("ix_projects_programme_code", "programme_id", "code"),
        Index("ix_projects_host_status", "host_country", "status"),
        Index("ix_projects_partner_status", "partner_country", "status"),
        CheckConstraint(
            "planned_end IS NULL OR planned_start IS NULL OR planned_end >= planned_start",
            name="planned_dates",
        ),
        CheckConstraint(
            "actual_end IS NULL OR actual_start IS NULL OR actual_end >= actual_start",
            name="actual_dates",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    industry_id: Mapped[int | None] = mapped_column(ForeignKey("programme_industries.id"))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    host_country: Mapped[str | None] = mapped_column(String(3))
    partner_country: Mapped[str | None] = mapped_column(String(3))
    value_amount: Mapped[Decimal | None] = mapped_column()
    value_currency: Mapped[str | None] = mapped_column(String(3))
    value_date: Mapped[date | None] = mapped_column(Date)
    value_source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    value_claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", use_alter=True))
    planned_start: Mapped[date | None] = mapped_column(Date)
    planned_end: Mapped[date | None] = mapped_column(Date)
    actual_start: Mapped[date | None] = mapped_column(Date)
    actual_end: Mapped[date | None] = mapped_column(Date)
    iati_identifier: Mapped[str | None] = mapped_column(String(200), unique=True)
    national_id: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    # Derived from the latest status event by the service that records events; the events
    # are the truth, this is an index for filtering large registers.
    # Narratives in every language given ({"title": [{"lang": "en", "text": ...}], ...}) and the
    # IATI activity attributes that have no column of their own, kept for a faithful export.
    narratives: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    iati: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str | None] = mapped_column(String(16))
    status_effective: Mapped[str | None] = mapped_column(String(10))
    status_start: Mapped[date | None] = mapped_column(Date)

    programme: Mapped[Programme | None] = relationship()
    industry: Mapped[Industry | None] = relationship()
    sectors: Mapped[list[ProjectSector]] = relationship(
        cascade="all, delete-orphan", order_by="ProjectSector.dac_code"
    )
    participants: Mapped[list[Participant]] = relationship(cascade="all, delete-orphan", order_by="Participant.id")
    locations: Mapped[list[Location]] = relationship(cascade="all, delete-orphan", order_by="Location.id")
    tags: Mapped[list[ProjectTag]] = relationship(cascade="all, delete-orphan", order_by="ProjectTag.id")
    finance: Mapped[list[FinanceRecord]] = relationship(cascade="all, delete-orphan", order_by="FinanceRecord.id")
    documents: Mapped[list[ProjectDocument]] = relationship(cascade="all, delete-orphan",
                                                            order_by="ProjectDocument.position")
    events: Mapped[list[StatusEvent]] = relationship(
        order_by="(StatusEvent.effective_start, StatusEvent.id)", viewonly=True
    )


class ProjectSector(Base):
    __tablename__ = "project_sectors"
    __table_args__ = (
        UniqueConstraint("project_id", "dac_code"),
        # the projects of a sector (its project ids read from the index alone)
        Index("ix_project_sectors_dac_code", "dac_code", "project_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    dac_code: Mapped[str] = mapped_column(String(5))
    percent: Mapped[Decimal] = mapped_column()


class ProjectTag(Base):
    """A classification outside the columns: a sector in another vocabulary than DAC 5-digit,
    a policy marker, an extra recipient country... (``vocabulary`` says which)."""

    __tablename__ = "project_tags"
    __table_args__ = (Index("ix_project_tags_project", "project_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    vocabulary: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    percent: Mapped[Decimal | None] = mapped_column()


class FinanceRecord(Versioned, Base):
    """Money over a project's life: an IATI transaction or budget, or a planned disbursement.
    Amounts keep their sign (IATI allows negative adjustments) and their own currency."""

    __tablename__ = "project_finance"
    __table_args__ = (
        Index("ix_project_finance_project", "project_id"),
        CheckConstraint("kind IN ('transaction', 'budget', 'planned_disbursement')", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    type: Mapped[str | None] = mapped_column(String(8))  # IATI TransactionType or BudgetType code
    status: Mapped[str | None] = mapped_column(String(8))  # IATI BudgetStatus code
    transaction_date: Mapped[date | None] = mapped_column(Date)
    period_start: Mapped[date | None] = mapped_column(Date)  # a budget's period
    period_end: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    value_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(300))
    receiver: Mapped[str | None] = mapped_column(String(300))
    ref: Mapped[str | None] = mapped_column(String(200))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProjectDocument(Base):
    """A document about a project (an IATI document-link), held as a source."""

    __tablename__ = "project_documents"
    __table_args__ = (UniqueConstraint("project_id", "source_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    category: Mapped[str | None] = mapped_column(String(8))  # IATI DocumentCategory code
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[Source] = relationship()


class Participant(Versioned, Base):
    __tablename__ = "project_participants"
    __table_args__ = (UniqueConstraint("project_id", "organisation_id", "role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(16))
    organisation: Mapped[Organisation] = relationship()


class Location(Versioned, Base):
    __tablename__ = "locations"
    __table_args__ = (Index("ix_locations_project", "project_id"),)  # the project page's
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(3))
    admin_area: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[Decimal | None] = mapped_column()
    longitude: Mapped[Decimal | None] = mapped_column()


class StatusEvent(Base):
    """One dated statement of a project's status; never updated, never deleted."""

    __tablename__ = "status_events"
    # Covering on PostgreSQL: the "as of" overview reads every event of a programme's projects.
    __table_args__ = (Index("ix_status_events_project", "project_id", "effective_start",
                            postgresql_include=["status", "effective", "source_id"]),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    effective: Mapped[str] = mapped_column(String(10))  # Period code: its precision is the date's
    effective_start: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    note: Mapped[str | None] = mapped_column(Text)
    reopen: Mapped[bool] = mapped_column(Boolean, default=False)
    backdated: Mapped[bool] = mapped_column(Boolean, default=False)
    actor: Mapped[str | None] = mapped_column(String(100))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    source: Mapped[Source | None] = relationship()


class Indicator(Base):
    __tablename__ = "indicators"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # money, count, quantity, percent
    description: Mapped[str | None] = mapped_column(Text)


class Observation(Versioned, Base):
    __tablename__ = "observations"
    __table_args__ = (
        Index("ix_observations_series", "reporter", "partner", "indicator_id", "hs_code", "period_end"),
        Index("ix_observations_pair_period", "reporter", "partner", "period_start", "id"),  # the list's order
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    reporter: Mapped[str] = mapped_column(String(3))
    partner: Mapped[str | None] = mapped_column(String(3))
    hs_code: Mapped[str | None] = mapped_column(String(6))
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column()
    unit: Mapped[str] = mapped_column(String(16))  # a currency code or a unit such as 'enterprise'
    value_basis: Mapped[str | None] = mapped_column(String(16))  # primary, cif, fob
    cif_value: Mapped[Decimal | None] = mapped_column()
    fob_value: Mapped[Decimal | None] = mapped_column()
    quantity: Mapped[Decimal | None] = mapped_column()
    quantity_unit: Mapped[str | None] = mapped_column(String(16))
    net_weight_kg: Mapped[Decimal | None] = mapped_column()
    flags: Mapped[str] = mapped_column(String(200), default="")  # comma-separated, sorted
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    note: Mapped[str | None] = mapped_column(Text)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    indicator: Mapped[Indicator] = relationship()
    source: Mapped[Source | None] = relationship()


class Target(Versioned, Base):
    __tablename__ = "targets"
    __table_args__ = (
        CheckConstraint("kind IN ('absolute', 'multiple')", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    reporter: Mapped[str] = mapped_column(String(3))
    partner: Mapped[str | None] = mapped_column(String(3))
    hs_code: Mapped[str | None] = mapped_column(String(6))
    period: Mapped[str] = mapped_column(String(10))  # the period the target value is about
    deadline: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    target_value: Mapped[Decimal | None] = mapped_column()
    multiple: Mapped[Decimal | None] = mapped_column()
    baseline_period: Mapped[str | None] = mapped_column(String(10))
    baseline_value: Mapped[Decimal | None] = mapped_column()
    unit: Mapped[str] = mapped_column(String(16))
    approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    note: Mapped[str | None] = mapped_column(Text)
    indicator: Mapped[Indicator] = relationship()
    source: Mapped[Source | None] = relationship()


class ExchangeRate(Versioned, Base):
    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("currency", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(10))
    per_usd: Mapped[Decimal] = mapped_column()
    source: Mapped[str] = mapped_column(String(500))


class Claim(Versioned, Base):
    """One figure or fact stated in a source, tied to the exact span that states it, and its
    review. ``extracted`` keeps what the extractor produced; edits change the other columns."""

    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_programme_review", "programme_id", "review"),
        Index("ix_claims_project", "project_id"),  # the project page's
        Index("ix_claims_source", "source_id"),
        CheckConstraint("review IN ('pending', 'accepted', 'rejected')", name="review"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(16))
    span_start: Mapped[int] = mapped_column(Integer)
    span_end: Mapped[int] = mapped_column(Integer)
    quote: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(16))
    period: Mapped[str | None] = mapped_column(String(21))
    amount: Mapped[Decimal | None] = mapped_column()
    currency: Mapped[str | None] = mapped_column(String(3))
    count: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str | None] = mapped_column(String(32))
    value: Mapped[Decimal | None] = mapped_column()
    approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    lower_bound: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    extracted: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    links: Mapped[list[int]] = mapped_column(JSON, default=list)
    method: Mapped[str] = mapped_column(String(64))
    review: Mapped[str] = mapped_column(String(16), default="pending")
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    fact_entity: Mapped[str | None] = mapped_column(String(32))
    fact_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[Source] = relationship()
    programme: Mapped[Programme | None] = relationship()
    project: Mapped[Project | None] = relationship(foreign_keys=[project_id])


class ReportedFigure(Base):
    """A programme-level figure a source reports ("19 projects implemented", "a package of
    US$7 billion"), created by accepting its claim; shown beside what the register holds."""

    __tablename__ = "reported_figures"
    __table_args__ = (Index("ix_reported_figures_programme", "programme_id", "subject", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    subject: Mapped[str] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(16))
    measure: Mapped[str] = mapped_column(String(8))  # count or amount
    value: Mapped[Decimal] = mapped_column()
    unit: Mapped[str] = mapped_column(String(32))  # a currency code or a count unit
    period: Mapped[str | None] = mapped_column(String(21))
    approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    lower_bound: Mapped[bool] = mapped_column(Boolean, default=False)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claim: Mapped[Claim] = relationship()
    source: Mapped[Source] = relationship()


class ConflictResolution(Base):
    """How a person or a precedence rule settled two conflicting claims; both claims stay."""

    __tablename__ = "conflict_resolutions"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_a_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    claim_b_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    preferred_claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    method: Mapped[str] = mapped_column(String(16))  # precedence or manual
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who changed what, when: append-only."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))


class User(Versioned, Base):
    """A person or a program that signs in. No password is ever stored in the clear; a user
    without a password signs in with tokens only."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'editor', 'reviewer', 'admin')", name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiToken(Base):
    """A bearer token: shown once when created, stored as a scrypt hash; found by its public
    prefix, then verified in constant time."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    user: Mapped[User] = relationship()


class WebSession(Base):
    """A signed-in browser. The cookie holds a random secret; the table holds its SHA-256, so a
    copy of the database signs nobody in. Each session has its own CSRF token for forms."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    user: Mapped[User] = relationship()


class ImportJob(Base):
    """An import file uploaded through the web: its findings report and counts once done. The
    import itself runs in one transaction: a job that never finished wrote nothing."""

    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # iati, trade, projects
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16))  # queued, running, done, refused, failed, interrupted
    progress: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(100))  # host:pid of the process running it
    actor: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class DataChange(Base):
    """How many committed write transactions touched each aspect of the data (a table, or part of
    one, see store/changes.py): what the web's caches compare instead of the whole database's
    version, so that an edit of a project's description does not throw away a programme's
    dashboard. Kept by cooptrack's own engine on every commit; not part of a backup."""

    __tablename__ = "data_changes"
    aspect: Mapped[str] = mapped_column(String(64), primary_key=True)
    changes: Mapped[int] = mapped_column(BigInteger, default=0)


class ResponseCacheEntry(Base):
    """A read API answer costly to compute (a programme's dashboard), shared by the server's
    worker processes: valid while its ``version`` (the tokens of what it was computed from, see
    web/cache.py) is current. Used on PostgreSQL; not part of a backup."""

    __tablename__ = "response_cache"
    key: Mapped[str] = mapped_column(String(2000), primary_key=True)
    version: Mapped[str] = mapped_column(String(1000))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    etag: Mapped[str | None] = mapped_column(String(100))
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInFailures(Base):
    """Failed sign-ins of one key (``user:<name>`` or ``ip:<address>``) in its current window,
    counted for every worker process of the server and kept across restarts (see LoginThrottle
    in web/sessions.py). ``held_until``: once the key reaches the limit, no sign-in for it before
    then (never past ``window_ends``). A row whose window has ended is deleted by the next
    failure."""

    __tablename__ = "sign_in_failures"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_ends: Mapped[datetime] = mapped_column(index=True)
    held_until: Mapped[datetime | None] = mapped_column()
