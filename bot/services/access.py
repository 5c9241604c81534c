"""Access granted and taken back: staff chats and family links (RULES.md 8, 17).

Two places grant access: the set-up file (``clinicbot load``) and the desk (``clinicbot
staff``). Each takes back what it granted, and the desk may take back anything:

* A family link made by the file (``guardians = [...]``) is revoked when the file stops saying
  it: the ward's ``guardians`` no longer lists the guardian (or has no ``guardians`` line), or
  the ward's block is gone. A link the desk made is never revoked by a reload.
* A staff member the file no longer lists is retired: their Telegram chat stops being a staff
  chat, they get no alerts and cannot be picked with ``/staff CODE`` (the row stays: sales and
  messages refer to it). A chat the file gave (``telegram_chat_id``) is taken back when the line
  goes; a chat registered with ``/staff CODE`` stays while the staff member is listed.

Every function returns what it changed, so ``load`` and the desk can say what was revoked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from bot.services import accounts, audit
from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.storage.models import Patient, Staff, guardianship
from bot.storage.models.people import GUARDIAN_FROM_DESK, GUARDIAN_FROM_FILE
from bot.storage.uow import UnitOfWork

LINK = guardianship.c


@dataclass(frozen=True)
class FileLinks:
    """What syncing one ward's file links did: guardian ids added and revoked."""

    added: frozenset[int]
    revoked: frozenset[int]


async def sync_file_guardians(uow: UnitOfWork, ward_id: int, wanted: set[int]) -> FileLinks:
    """Make the file's links of ``ward_id`` exactly ``wanted`` (desk links are left alone)."""
    have = dict(
        (await uow.session.execute(
            select(LINK.guardian_id, LINK.source).where(LINK.ward_id == ward_id)
        )).tuples().all()
    )
    added = {g for g in wanted if g not in have}
    revoked = {g for g, source in have.items() if source == GUARDIAN_FROM_FILE and g not in wanted}
    if revoked:
        await uow.session.execute(
            delete(guardianship).where(LINK.ward_id == ward_id, LINK.guardian_id.in_(revoked))
        )
    for guardian_id in sorted(added):
        await uow.session.execute(insert(guardianship).values(
            guardian_id=guardian_id, ward_id=ward_id, source=GUARDIAN_FROM_FILE))
    return FileLinks(frozenset(added), frozenset(revoked))


async def file_links_outside(uow: UnitOfWork, ward_ids: set[int]) -> list[tuple[int, int]]:
    """The file's (guardian, ward) links whose ward is not in ``ward_ids`` (not in the file)."""
    rows = (await uow.session.execute(
        select(LINK.guardian_id, LINK.ward_id).where(LINK.source == GUARDIAN_FROM_FILE)
    )).tuples().all()
    return sorted((g, w) for g, w in rows if w not in ward_ids)


async def drop_link(uow: UnitOfWork, guardian_id: int, ward_id: int) -> None:
    """Delete one family link, whoever made it."""
    await uow.session.execute(
        delete(guardianship).where(LINK.guardian_id == guardian_id, LINK.ward_id == ward_id)
    )


async def add_guardian(
    uow: UnitOfWork, guardian_id: int, ward_id: int, *, actor: audit.Actor | None = None
) -> tuple[Patient, Patient]:
    """Let ``guardian_id``'s account act for ``ward_id`` (a desk link; RULES.md 17)."""
    seen = await audit.watch(uow, actor, patient_id=ward_id)
    if guardian_id == ward_id:
        raise InvalidInput("a patient cannot be their own guardian; give two different patients")
    guardian = await accounts.get_patient(uow, guardian_id)
    ward = await accounts.get_patient(uow, ward_id)
    accounts.refuse_erased(guardian)
    accounts.refuse_erased(ward)
    # The ward's row lock (PostgreSQL): two desks adding the same link at once add it once.
    await uow.session.execute(select(Patient.id).where(Patient.id == ward_id).with_for_update())
    existing = await uow.session.scalar(
        select(LINK.source).where(LINK.guardian_id == guardian_id, LINK.ward_id == ward_id))
    if existing is not None:
        raise WrongState(f"patient {guardian_id} already manages patient {ward_id}")
    await uow.session.execute(insert(guardianship).values(
        guardian_id=guardian_id, ward_id=ward_id, source=GUARDIAN_FROM_DESK))
    await seen.record(
        "guardian.add", summary=f"patient {guardian_id} may act for patient {ward_id}",
    )
    return guardian, ward


async def remove_guardian(
    uow: UnitOfWork, guardian_id: int, ward_id: int, *, actor: audit.Actor | None = None
) -> str:
    """Stop ``guardian_id``'s account acting for ``ward_id``; who had made the link."""
    seen = await audit.watch(uow, actor, patient_id=ward_id)
    source = await uow.session.scalar(
        select(LINK.source).where(LINK.guardian_id == guardian_id, LINK.ward_id == ward_id))
    if source is None:
        raise NotFound(f"patient {guardian_id} does not manage patient {ward_id}")
    await drop_link(uow, guardian_id, ward_id)
    await seen.record(
        "guardian.remove", summary=f"patient {guardian_id} no longer acts for patient {ward_id}",
    )
    return str(source)


async def revoke_staff_chat(
    uow: UnitOfWork, member: Staff, *, actor: audit.Actor | None = None
) -> int | None:
    """Take the Telegram chat off a staff member; the chat it was (None: there was none)."""
    seen = await audit.watch(uow, actor)
    chat = member.telegram_chat_id
    member.telegram_chat_id = None
    member.chat_from_file = False
    await uow.session.flush()
    if chat is not None:  # no chat: nothing changed, nothing to record
        await seen.record("staff.revoke_chat", summary=f"Telegram chat of staff {member.key} off")
    return chat


async def retire_staff(uow: UnitOfWork, member: Staff) -> int | None:
    """A staff member the set-up file no longer lists: no chat, no alerts, not choosable."""
    member.active = False
    member.alerts = []
    return await revoke_staff_chat(uow, member)


async def patient_label(uow: UnitOfWork, patient_id: int) -> str:
    """``'leo'`` (the set-up key) or ``patient 7``: how ``load`` names a patient (no names)."""
    patient = await uow.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"there is no patient {patient_id}")
    return repr(patient.key) if patient.key else f"patient {patient_id}"
