"""Every mutation writes an audit event: actor, time, entity, before and after."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select

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
    data = {c.key: jsonable(getattr(obj, c.key)) for c in mapper.column_attrs}
    data.update({k: jsonable(v) for k, v in extra.items()})
    return data


def record(
    ctx: Context,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEvent:
    event = AuditEvent(
        at=ctx.now,
        actor=ctx.actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
        request_id=ctx.request_id,
    )
    ctx.session.add(event)
    return event


def recent(ctx: Context, limit: int = 50, entity: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    return list(ctx.session.scalars(query))
