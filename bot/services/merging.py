"""Merging a duplicate profile into the one the clinic keeps (RULES.md 18).

Everything the merged profile owns moves to the kept one, in one transaction, so nothing is lost
or counted twice; the merged row stays with ``merged_into_id`` set, so its old phone, Telegram
link or id still lead to the kept profile (see :mod:`bot.services.accounts`).

A phone or Telegram account that only an online registration proved (anyone may register as
"Maya Chen, 1988-04-02") never reaches the other profile's file on a name and birth date alone:
unless staff confirm it is the patient's own (``link_channels``), the merge takes that channel
off (from whichever side is the online registration), unlinks its chats (they start over as an
unknown number or account) and says what it left off. Channels the clinic entered move as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Table, delete, insert, or_, select, update

from bot.services import audit
from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.services.identity import refuse_erased
from bot.storage.models import (
    Appointment,
    AppointmentSeries,
    Base,
    Conversation,
    CreditEntry,
    Invoice,
    Membership,
    OutboxMessage,
    Patient,
    PatientPackage,
    Payment,
    guardianship,
)
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)

# Every table whose rows belong to one patient; a merge moves them all.
PATIENT_OWNED: tuple[type[Base], ...] = (
    Appointment,
    PatientPackage,
    Invoice,
    Payment,
    CreditEntry,
    Membership,
    Conversation,
    OutboxMessage,
    AppointmentSeries,
)


@dataclass(frozen=True)
class MergeResult:
    """What a merge moved: rows per table, and who asked for it; ``left_off``: the phones
    (E.164) and Telegram accounts ("telegram") of online registrations it took off."""

    kept_id: int
    merged_id: int
    by: str
    moved: dict[str, int] = field(default_factory=dict)
    left_off: tuple[str, ...] = ()
    channels_linked: bool = False


async def merge(
    uow: UnitOfWork, keep_id: int, merge_id: int, *, by: str, link_channels: bool = False,
    actor: audit.Actor | None = None,
) -> MergeResult:
    """Merge profile ``merge_id`` into ``keep_id``: everything it owns moves (RULES.md 18).

    Appointments (and the series they were booked in), packages, invoices, payments, credit,
    memberships, conversations and queued messages move; the kept profile takes the Telegram
    link, set-up key, phone, e-mail, birth date and language it lacks, and an opt-out of
    either; guardians and wards are joined
    (without duplicates or self-guardianship). The merged row stays, pointing at the kept one.
    ``link_channels``: staff confirmed the online registration's phone and Telegram account are
    the patient's own; without it they are taken off (see the module docstring).
    """
    seen = await audit.watch(uow, actor, patient_id=keep_id)
    if keep_id == merge_id:
        raise InvalidInput("a profile cannot be merged into itself; pick two different profiles")
    locked = (
        await uow.session.scalars(
            select(Patient)
            .where(Patient.id.in_((keep_id, merge_id)))
            .order_by(Patient.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    by_id = {patient.id: patient for patient in locked}
    for patient_id in (keep_id, merge_id):
        if patient_id not in by_id:
            raise NotFound(f"there is no patient {patient_id}")
        if by_id[patient_id].merged_into_id is not None:
            raise WrongState(
                f"patient {patient_id} was already merged into patient "
                f"{by_id[patient_id].merged_into_id}; merge with that profile instead"
            )
        refuse_erased(by_id[patient_id])
    keep, gone = by_id[keep_id], by_id[merge_id]
    await _refuse_membership_clash(uow, keep_id, merge_id)
    left_off: list[str] = []
    if not link_channels:
        for registration, other in ((keep, gone), (gone, keep)):
            if registration.online_registration:
                left_off += await _take_channels_off(uow, registration, other)
    keep.online_registration = keep.online_registration and gone.online_registration and (
        not link_channels)

    moved: dict[str, int] = {}
    for model in PATIENT_OWNED:
        table = model.__table__
        assert isinstance(table, Table)
        result = await uow.session.execute(
            update(model)
            .where(table.c.patient_id == merge_id)
            .values(patient_id=keep_id)
            .execution_options(synchronize_session="fetch")
        )
        moved[table.name] = int(getattr(result, "rowcount", 0) or 0)
    earlier = await uow.session.execute(
        update(Patient)
        .where(Patient.merged_into_id == merge_id)
        .values(merged_into_id=keep_id)
        .execution_options(synchronize_session="fetch")
    )
    moved["earlier_merges"] = int(getattr(earlier, "rowcount", 0) or 0)

    await _move_unique_links(uow, keep, gone)
    for name in ("phone", "email", "birth_date", "locale"):
        if getattr(keep, name) is None:
            setattr(keep, name, getattr(gone, name))
    keep.opted_out = keep.opted_out or gone.opted_out
    moved["guardianships"] = await _join_family(uow, keep, gone)
    gone.merged_into_id = keep.id
    await uow.session.flush()
    log.info("patient %s merged into patient %s by %s (channels %s)", merge_id, keep_id, by,
             "linked" if link_channels else f"left off: {len(left_off)}")
    await seen.record("patient.merge", summary=f"patient {merge_id} merged into patient {keep_id}")
    return MergeResult(kept_id=keep_id, merged_id=merge_id, by=by, moved=moved,
                       left_off=tuple(left_off), channels_linked=link_channels)


async def _take_channels_off(uow: UnitOfWork, registration: Patient, other: Patient
                             ) -> list[str]:
    """Take an online registration's phone and Telegram account off, and unlink its chats;
    what was taken off (a phone the other profile has anyway is not)."""
    left_off = [registration.phone] if registration.phone not in (None, other.phone) else []
    if registration.telegram_user_id is not None:
        left_off.append("telegram")
    registration.phone = None
    registration.telegram_user_id = None
    await uow.session.execute(
        update(Conversation)
        .where(Conversation.patient_id == registration.id)
        .values(patient_id=None, dialog=None, step=None, state={})
        .execution_options(synchronize_session="fetch")
    )
    await uow.session.flush()
    return left_off


async def _refuse_membership_clash(uow: UnitOfWork, keep_id: int, merge_id: int) -> None:
    rows = (
        await uow.session.execute(
            select(Membership.patient_id, Membership.plan_id, Membership.start).where(
                Membership.patient_id.in_((keep_id, merge_id))
            )
        )
    ).tuples().all()
    kept = {(plan_id, start) for owner, plan_id, start in rows if owner == keep_id}
    for owner, plan_id, start in rows:
        if owner == merge_id and (plan_id, start) in kept:
            raise WrongState(
                f"both profiles have the same membership starting {start.isoformat()}; "
                "the clinic must settle that membership before merging"
            )


async def _move_unique_links(uow: UnitOfWork, keep: Patient, gone: Patient) -> None:
    # telegram_user_id and key are unique: clear them on the merged row before setting them.
    telegram = gone.telegram_user_id if keep.telegram_user_id is None else None
    key = gone.key if keep.key is None else None
    if telegram is not None:
        gone.telegram_user_id = None
    if key is not None:
        gone.key = None
    await uow.session.flush()
    if telegram is not None:
        keep.telegram_user_id = telegram
    if key is not None:
        keep.key = key


async def _join_family(uow: UnitOfWork, keep: Patient, gone: Patient) -> int:
    """Give the kept profile the merged one's guardians and wards; return the links added."""
    table = guardianship
    involving = or_(table.c.guardian_id == gone.id, table.c.ward_id == gone.id)
    pair_of = select(table.c.guardian_id, table.c.ward_id, table.c.source)
    links = (await uow.session.execute(pair_of.where(involving))).tuples().all()
    kept = {
        (g, w) for g, w, _ in (await uow.session.execute(pair_of.where(
            or_(table.c.guardian_id == keep.id, table.c.ward_id == keep.id)
        ))).tuples().all()
    }
    wanted: dict[tuple[int, int], str] = {}
    for guardian_id, ward_id, source in links:  # who made a link still decides its fate
        pair = (
            keep.id if guardian_id == gone.id else guardian_id,
            keep.id if ward_id == gone.id else ward_id,
        )
        if pair[0] != pair[1] and pair not in kept:
            wanted[pair] = source
    await uow.session.execute(delete(table).where(involving))
    if wanted:
        await uow.session.execute(insert(table), [
            {"guardian_id": g, "ward_id": w, "source": wanted[(g, w)]} for g, w in sorted(wanted)
        ])
    # Loaded profiles must not keep showing the old family links.
    touched = {keep.id, gone.id, *(pid for g, w, _ in links for pid in (g, w))}
    for loaded in list(uow.session.identity_map.values()):
        if isinstance(loaded, Patient) and loaded.id in touched:
            await uow.session.refresh(loaded, ["guardians", "wards"])
    return len(wanted)
