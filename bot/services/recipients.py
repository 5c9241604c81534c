"""Who a sweep's patient message goes to, and queueing such messages once (RULES.md 14, 17).

:func:`recipient_for` picks the patient or the guardian who manages them;
:func:`enqueue_for_patients` queues the :class:`Wanted` messages not queued yet whose patient
can be reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import Table, select

from bot.services import outbox
from bot.services.clinic import get_clinic, local_today
from bot.services.sweeping import in_chunks
from bot.storage.models import OutboxMessage, Patient
from bot.storage.uow import UnitOfWork

_PT = cast(Table, Patient.__table__)


async def recipient_for(uow: UnitOfWork, patient_id: int) -> Patient | None:
    """Who gets a patient's messages: the patient when a phone or Telegram reaches them, else
    the first guardian who can be reached (RULES.md 17); None when nobody can, or when the
    patient or that guardian opted out (RULES.md 14). A merged profile's messages go to the
    profile it was merged into."""
    patient = await uow.session.get(Patient, patient_id)
    seen: set[int] = set()
    while patient is not None and patient.merged_into_id is not None and patient.id not in seen:
        seen.add(patient.id)
        patient = await uow.session.get(Patient, patient.merged_into_id)
    if patient is None or patient.opted_out:
        return None
    if reachable(patient):
        return patient
    await uow.session.refresh(patient, ["guardians"])
    for guardian in sorted(patient.guardians, key=lambda g: g.id):
        if guardian.merged_into_id is None and reachable(guardian):
            return None if guardian.opted_out else guardian
    return None


def reachable(patient: Patient) -> bool:
    """Whether a phone or Telegram reaches ``patient``."""
    return bool(patient.phone) or patient.telegram_user_id is not None


async def clinic_today(uow: UnitOfWork) -> date:
    """Today in the clinic's time zone, by the unit of work's clock."""
    return local_today(await get_clinic(uow), uow.clock.now())


@dataclass(frozen=True)
class Wanted:
    """A patient message a sweep wants to exist."""

    purpose: str
    kind: str
    patient_id: int
    params: dict[str, object]


async def existing_purposes(uow: UnitOfWork, purposes: list[str]) -> set[str]:
    """Which of ``purposes`` are queued already (one query, so a quiet sweep stays cheap)."""
    found: set[str] = set()
    for chunk in in_chunks(purposes):
        rows = await uow.session.scalars(
            select(OutboxMessage.purpose).where(OutboxMessage.purpose.in_(chunk)))
        found.update(rows.all())
    return found


async def enqueue_for_patients(
    uow: UnitOfWork, wanted: list[Wanted], *, look_first: bool = True
) -> int:
    """Queue each wanted message not queued yet, unless its patient cannot be reached or opted
    out; how many were created (a racing sweep's copy is settled by the unique key).

    ``look_first``: skip the messages queued already before looking up their patients (for
    sweeps that want the same messages pass after pass); a sweep that moves a cursor past what
    it queued asks for each message about once, and leaves that to the insert's ON CONFLICT."""
    if look_first:
        existing = await existing_purposes(uow, [w.purpose for w in wanted])
        wanted = [item for item in wanted if item.purpose not in existing]
    return await outbox.enqueue_many(uow, await patient_messages(uow, wanted))


async def patient_messages(uow: UnitOfWork, wanted: list[Wanted]) -> list[dict[str, object]]:
    """The outbox rows (for :func:`bot.services.outbox.enqueue_many`) of the ``wanted``
    messages whose patient :func:`recipient_for` finds someone to reach.

    The patients are read as plain Core rows, a chunk of ids per query; only a merged profile
    or one reached through a guardian goes through :func:`recipient_for`."""
    plain = await plainly_reached(uow, sorted({item.patient_id for item in wanted}))
    return [
        {"purpose": item.purpose, "kind": item.kind, "params": item.params,
         "patient_id": item.patient_id}
        for item in wanted
        if (reached := plain.get(item.patient_id, False)) is True or (
            reached is None and await recipient_for(uow, item.patient_id) is not None)
    ]


async def plainly_reached(uow: UnitOfWork, ids: list[int]) -> dict[int, bool | None]:
    """For each of ``ids``: True when the patient is reached themselves (not merged, not opted
    out, a phone or Telegram), False when nobody is (opted out, or no such patient: absent),
    None when :func:`recipient_for` has to look further (merged, or guardians)."""
    found: dict[int, bool | None] = {}
    for chunk in in_chunks(ids):
        rows = await uow.session.execute(
            select(_PT.c.id, _PT.c.merged_into_id, _PT.c.opted_out, _PT.c.phone,
                   _PT.c.telegram_user_id).where(_PT.c.id.in_(chunk)))
        for ident, merged, opted_out, phone, telegram in rows:
            if merged is not None:
                found[ident] = None
            elif opted_out:
                found[ident] = False
            else:
                found[ident] = True if (bool(phone) or telegram is not None) else None
    return found
