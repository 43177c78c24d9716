"""Every mutation writes an audit event: actor, time, entity, before and after."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, inspect, select

from cooptrack.services.context import Context
from cooptrack.store.models import AuditEvent, Base


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def snapshot(obj: Base, **extra: Any) -> dict[str, Any]:
    """The row's column values as JSON-ready data (plus any extra keys given)."""
    mapper = inspect(type(obj))
    return snapshot_of({c.key: getattr(obj, c.key) for c in mapper.column_attrs}, **extra)


def snapshot_of(values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """``snapshot`` of a row read without the ORM: ``values`` by column attribute, in the mapper's order."""
    data = {k: jsonable(v) for k, v in values.items()}
    data.update({k: jsonable(v) for k, v in extra.items()})
    return data


def _row(ctx: Context, action: str, entity: str, entity_id: object, before: dict[str, Any] | None,
         after: dict[str, Any] | None) -> dict[str, Any]:
    return {"at": ctx.now, "actor": ctx.actor, "action": action, "entity": entity, "entity_id": str(entity_id),
            "before": before, "after": after, "request_id": ctx.request_id}


def record(ctx: Context, action: str, entity: str, entity_id: object, before: dict[str, Any] | None,
           after: dict[str, Any] | None) -> AuditEvent:
    event = AuditEvent(**_row(ctx, action, entity, entity_id, before, after))
    ctx.session.add(event)
    return event


_INSERT = insert(AuditEvent)


def record_now(ctx: Context, action: str, entity: str, entity_id: object, before: dict[str, Any] | None,
               after: dict[str, Any] | None) -> None:
    """``record`` without the ORM: the same row, inserted now (not at the session's next flush)."""
    ctx.session.connection().execute(_INSERT, _row(ctx, action, entity, entity_id, before, after))


def recent(ctx: Context, limit: int = 50, entity: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    return list(ctx.session.scalars(query))


def search(ctx: Context, entity: str | None = None, entity_id: str | None = None, actor: str | None = None,
           action: str | None = None, since: date | None = None, until: date | None = None,
           request_id: str | None = None, page: int = 1, page_size: int = 50) -> tuple[list[dict[str, Any]], int]:
    """Audit events, newest first, filtered; with the total count for paging. ``until`` is
    inclusive (the whole day)."""
    conditions: list[Any] = []
    for column, value in ((AuditEvent.entity, entity), (AuditEvent.entity_id, entity_id), (AuditEvent.actor, actor),
                          (AuditEvent.action, action), (AuditEvent.request_id, request_id)):
        if value:
            conditions.append(column == value)
    if since:
        conditions.append(AuditEvent.at >= datetime.combine(since, time.min, UTC))
    if until:
        conditions.append(AuditEvent.at < datetime.combine(until + timedelta(days=1), time.min, UTC))
    total = ctx.session.scalar(select(func.count(AuditEvent.id)).where(*conditions)) or 0
    rows = ctx.session.scalars(select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc())
                               .offset((page - 1) * page_size).limit(page_size))
    return [event_view(e) for e in rows], total


def event_view(e: AuditEvent) -> dict[str, Any]:
    return {"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "entity": e.entity,
            "entity_id": e.entity_id, "before": e.before, "after": e.after, "request_id": e.request_id}
