"""Queueing proactive messages: one row per purpose key, whoever asks and however often.

Senders (later: the scheduler and the Telegram/SMS handlers) deliver and render these rows;
the services only decide *that* something must be said, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.models import OutboxMessage, Staff
from bot.storage.uow import UnitOfWork


async def enqueue(
    uow: UnitOfWork,
    *,
    purpose: str,
    kind: str,
    params: dict[str, object],
    patient_id: int | None = None,
    staff_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message unless one with this ``purpose`` exists; True when this call created it."""
    now = uow.clock.now()
    values = {
        "purpose": purpose,
        "kind": kind,
        "params": params,
        "patient_id": patient_id,
        "staff_id": staff_id,
        "status": "pending",
        "not_before": not_before or now,
        "attempts": 0,
        "created_at": now,
    }
    table = cast(Table, OutboxMessage.__table__)
    stmt = (
        postgresql.insert(table) if uow.dialect == "postgresql" else sqlite.insert(table)
    ).values(**values)
    result = await uow.session.execute(
        stmt.on_conflict_do_nothing(index_elements=["purpose"]).returning(table.c.id)
    )
    return result.first() is not None


async def alert_staff(
    uow: UnitOfWork, *, alert: str, purpose: str, params: dict[str, object]
) -> int:
    """Queue an alert for each staff member whose ``alerts`` include ``alert``; return the count."""
    staff = (await uow.session.scalars(select(Staff).order_by(Staff.id))).all()
    created = 0
    for member in staff:
        if alert in (member.alerts or []):
            created += await enqueue(
                uow,
                purpose=f"{purpose}:staff:{member.id}",
                kind=alert,
                params=params,
                staff_id=member.id,
            )
    return created
