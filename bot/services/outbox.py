"""Queueing proactive messages: one row per purpose key, whoever asks and however often.

Senders (later: the scheduler and the Telegram/SMS handlers) deliver and render these rows;
the services only decide *that* something must be said, once.

Every staff alert is also an item of the desk's inbox (:mod:`bot.services.inbox_record`), one
per alert however many staff it goes to: :func:`enqueue` and :func:`enqueue_many` record one
for each row with a ``staff_id``, and :func:`alert_staff` / :func:`alert_staff_many` record it
even when no staff member asked for that alert (an SMS-only clinic's desk still sees it).
"""

from __future__ import annotations

from datetime import datetime

from bot.services.inbox_record import item_key, record_alerts, record_staff_rows
from bot.services.staff import all_staff
from bot.storage.models import OutboxMessage
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore, insert_ignore_many


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
    await record_staff_rows(uow, [values])
    return await insert_ignore(uow, OutboxMessage, values, ["purpose"]) is not None


async def enqueue_many(uow: UnitOfWork, messages: list[dict[str, object]]) -> int:
    """:func:`enqueue` for many messages at once (each: ``purpose``, ``kind``, ``params`` and
    ``patient_id`` or ``staff_id``); how many were created."""
    queued = rows(uow, messages)
    await record_staff_rows(uow, queued)
    return await insert_ignore_many(uow, OutboxMessage, queued, ["purpose"])


def rows(uow: UnitOfWork, messages: list[dict[str, object]]) -> list[dict[str, object]]:
    """The outbox rows queueing ``messages`` now (as :func:`enqueue_many` inserts them; for a
    sweep that inserts them with its other writes, see
    :func:`bot.services.sweep_writes.insert_and_move`; the caller records their staff alerts in
    the inbox, :func:`bot.services.inbox_record.record_staff_rows`)."""
    now = uow.clock.now()
    return [
        {"patient_id": None, "staff_id": None, **message, "status": "pending",
         "not_before": now, "attempts": 0, "created_at": now}
        for message in messages
    ]


async def alert_staff_many(
    uow: UnitOfWork, *, alert: str, alerts: list[tuple[str, dict[str, object]]]
) -> int:
    """:func:`alert_staff` for many (purpose, params) at once; how many rows were created."""
    staff = await all_staff(uow)
    told = [member.id for member in staff if alert in (member.alerts or [])]
    if not told:  # nobody to send them to: the desk's inbox has them all the same
        await record_alerts(uow, [(item_key(purpose), alert, params) for purpose, params in alerts])
        return 0
    return await enqueue_many(uow, staff_alert_rows(alert, told, alerts))


def staff_alert_rows(
    alert: str, told: list[int], alerts: list[tuple[str, dict[str, object]]]
) -> list[dict[str, object]]:
    """The outbox rows (for :func:`enqueue_many`) of each (purpose, params) alert for each of
    the staff ids ``told``."""
    return [
        {"purpose": f"{purpose}:staff:{member}", "kind": alert, "params": params,
         "staff_id": member}
        for purpose, params in alerts
        for member in told
    ]


async def alert_staff(
    uow: UnitOfWork, *, alert: str, purpose: str, params: dict[str, object]
) -> int:
    """Queue an alert for each staff member whose ``alerts`` include ``alert``; return the count."""
    return await alert_staff_many(uow, alert=alert, alerts=[(purpose, params)])
