"""Claiming outbox rows for delivery, safely on both databases and across processes.

A sender claims a small batch of due rows (``pending`` with ``not_before <= now``, or ``claimed``
whose lease ran out) and marks them ``claimed`` until ``now + lease``:

* PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``, then the update, in one transaction, so two
  senders never claim the same row and never wait on each other.
* SQLite: every write transaction is ``BEGIN IMMEDIATE`` (bot.storage.db), so the select and the
  update run while no other process can write.

``claimed_until`` doubles as the claim's token: :func:`renew` and :func:`settle` only touch a
row still claimed with the token its sender holds, so a sender whose lease expired (it hung or
was killed) and was taken over by another cannot also record the result. A killed sender's rows
are claimable again once their lease expires: nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, update

from bot.storage.models import OutboxMessage, Staff
from bot.storage.uow import UnitOfWork

STATUSES = ("pending", "claimed", "sent", "failed", "skipped")


@dataclass(frozen=True)
class Claim:
    """A row this sender holds until ``token`` (its ``claimed_until``); ``recipient``: the
    row's (patient id, staff id), so one recipient's messages can be kept in order."""

    message_id: int
    token: datetime
    recipient: tuple[int | None, int | None] = (None, None)


async def claim_due(
    uow: UnitOfWork, *, limit: int, lease: timedelta, patients: bool, staff: bool,
    lease_now: datetime | None = None, staff_phones: bool = False,
) -> list[Claim]:
    """Claim up to ``limit`` due rows, oldest due first.

    ``patients`` / ``staff``: whether rows for patients / staff are wanted (a deployment with no
    channel for them leaves them queued); ``staff_phones``: without ``staff``, rows for the
    staff members who have a phone are wanted (SMS without Telegram). ``lease_now``: the time
    leases are kept in (default: the unit of work's clock; ``clinicbot jobs run --now`` in the
    past keeps them in real time, as the other senders do, so theirs and its own mean the same).
    """
    if limit <= 0 or not (patients or staff or staff_phones):
        return []
    now = uow.clock.now()
    lease_now = lease_now or now
    # Two reads, each in its index's order (ix_outbox_status_due), merged here: one read with
    # "pending and due OR claimed and expired" made both databases fetch and sort every due
    # row for each batch (SQLite: 5 ms at 30,000 queued rows, against 0.01 ms).
    waiting = _oldest(and_(OutboxMessage.status == "pending", OutboxMessage.not_before <= now),
                      limit, patients=patients, staff=staff, staff_phones=staff_phones)
    expired = _oldest(and_(OutboxMessage.status == "claimed",
                           OutboxMessage.claimed_until <= lease_now),
                      limit, patients=patients, staff=staff, staff_phones=staff_phones)
    if uow.dialect == "postgresql":  # rows read but not claimed stay locked only until the
        waiting = waiting.with_for_update(skip_locked=True)  # claim commits, a moment later
        expired = expired.with_for_update(skip_locked=True)
    found = [*(await uow.session.execute(waiting)).all(),
             *(await uow.session.execute(expired)).all()]
    rows = sorted(found, key=lambda row: (row.not_before, row.id))[:limit]
    if not rows:
        return []
    ids = [row.id for row in rows]
    token = lease_now + lease
    await uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(status="claimed", claimed_until=token)
        .execution_options(synchronize_session=False)
    )
    return [Claim(row.id, token, (row.patient_id, row.staff_id)) for row in rows]


def _oldest(due: ColumnElement[bool], limit: int, *, patients: bool, staff: bool,
            staff_phones: bool) -> Select[tuple[int, int | None, int | None, datetime]]:
    """The ``limit`` oldest rows that are ``due`` and go to whom this sender reaches."""
    stmt = (
        select(OutboxMessage.id, OutboxMessage.patient_id, OutboxMessage.staff_id,
               OutboxMessage.not_before)
        .where(due)
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit)
    )
    if not patients:
        stmt = stmt.where(OutboxMessage.patient_id.is_(None))
    if not staff and staff_phones:
        texted = select(Staff.id).where(Staff.phone.is_not(None))
        stmt = stmt.where(or_(OutboxMessage.staff_id.is_(None),
                              OutboxMessage.staff_id.in_(texted)))
    elif not staff:
        stmt = stmt.where(OutboxMessage.staff_id.is_(None))
    return stmt


async def renew(
    uow: UnitOfWork, claim: Claim, lease: timedelta, lease_now: datetime | None = None
) -> Claim | None:
    """Extend a claim to ``now + lease`` (just before sending); None if it is no longer ours."""
    token = (lease_now or uow.clock.now()) + lease
    if token <= claim.token:
        token = claim.token + timedelta(microseconds=1)
    if not await settle(uow, claim, claimed_until=token):
        return None
    return replace(claim, token=token)


async def settle(uow: UnitOfWork, claim: Claim, **values: Any) -> bool:
    """Update the claimed row with ``values`` if it is still ours; whether it was."""
    result = await uow.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == claim.message_id,
            OutboxMessage.status == "claimed",
            OutboxMessage.claimed_until == claim.token,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def load(uow: UnitOfWork, message_id: int) -> OutboxMessage | None:
    """The row as the database has it now."""
    message: OutboxMessage | None = await uow.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .execution_options(populate_existing=True)
    )
    return message


async def messages(
    uow: UnitOfWork, *, status: str | None = None, limit: int = 1000
) -> list[OutboxMessage]:
    """Outbox rows for the report, newest first (``status``: one of :data:`STATUSES`)."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    return list((await uow.session.scalars(stmt)).all())
