"""Erasing a patient's personal data while keeping what the clinic must keep (issue 21).

:func:`erase` runs in ONE transaction: the profile (and any profile merged into it) becomes
"Erased patient #ID" with no phone, e-mail, birth date, language, Telegram account or set-up
key, opted out and marked ``erased_at``; its chats, family links, kept-apart pairs,
invitations and wrong-code counts (whose scopes name its phone or chat) go; the texts of the
messages sent to and received from it, and any text quoting its name, phone or e-mail, are
blanked, and what was queued about it is skipped; its waitlist entries end, without their
preferences. Invoices, payments, package uses, receipts, appointments, memberships and credit
movements stay as they are, on the same (now anonymous) profile, so every report figure is
unchanged. An erased profile is never messaged (opted out, nothing reaches it), matched by
phone (it has none: the same phone registering again makes a fresh patient), booked, merged
or linked again (:func:`bot.services.identity.refuse_erased`).

Refused, saying what to settle first, while :func:`bot.services.erasure_checks.blockers`
finds anything still booked, owed or credited. The audit log records the erasure by id only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, cast, delete, literal, or_, select, update

from bot.services import audit
from bot.services.accounts import refuse_erased
from bot.services.erasure_checks import blockers
from bot.services.errors import NotFound, WrongState
from bot.services.invitations import INVITATION_SMS
from bot.storage.models import (
    Base,
    Conversation,
    InboundMessage,
    InboxItem,
    InboxReply,
    Invitation,
    InvitationGuard,
    Invoice,
    KeptApart,
    OutboxMessage,
    Patient,
    StaffCodeGuard,
    WaitlistEntry,
    guardianship,
)
from bot.storage.models.billing import CreditEntry
from bot.storage.models.closures import Closure
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)
ERASED = "[erased]"
# Free text that may quote a patient (a staff alert naming them, an answer greeting them):
# blanked wherever it holds the erased name, phone or e-mail. Not-null columns get ERASED.
FREE_TEXT: tuple[tuple[type[Base], str, str | None], ...] = (
    (OutboxMessage, "body", None),
    (InboxItem, "text", None),
    (InboxReply, "text", ERASED),
    (InboundMessage, "reply", None),
    (Invoice, "description", ERASED),
    (CreditEntry, "reason", ERASED),
    (Closure, "reason", None),
)


class ErasureRefused(WrongState):
    """The patient still has business with the clinic; ``reasons`` says what to settle."""

    code = "erasure_refused"

    def __init__(self, patient_id: int, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(
            f"patient {patient_id} cannot be erased yet; settle these first: "
            + "; ".join(reasons))


@dataclass(frozen=True)
class Erasure:
    """What :func:`erase` did: the profile (and merged profiles) erased, rows blanked."""

    patient_id: int
    profiles: int
    blanked: int


def erased_name(patient_id: int) -> tuple[str, str]:
    """The first and last name an erased profile shows: "Erased patient" "#ID"."""
    return "Erased patient", f"#{patient_id}"


async def erasable(uow: UnitOfWork, patient_id: int) -> tuple[Patient, list[str]]:
    """The live profile and why it cannot be erased yet (empty: it can); NotFound/WrongState
    for no such, a merged or an erased profile."""
    patient = await uow.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"there is no patient {patient_id}")
    if patient.merged_into_id is not None:
        raise NotFound(f"patient {patient_id} was merged into patient {patient.merged_into_id};"
                       " erase that one")
    refuse_erased(patient)
    return patient, await blockers(uow, patient_id)


async def erase(uow: UnitOfWork, patient_id: int, *, actor: audit.Actor | None) -> Erasure:
    """Erase ``patient_id``'s personal data (see the module docstring); the caller commits."""
    seen = await audit.watch(uow, actor, patient_id=patient_id)
    await uow.session.execute(  # held to the end: a booking of this patient waits (see book)
        select(Patient).where(Patient.id == patient_id).with_for_update()
        .execution_options(populate_existing=True))
    patient, reasons = await erasable(uow, patient_id)
    if reasons:
        raise ErasureRefused(patient_id, reasons)
    profiles = [patient, *(await uow.session.scalars(
        select(Patient).where(Patient.merged_into_id == patient_id).order_by(Patient.id))).all()]
    ids = [p.id for p in profiles]
    said = sorted({text for p in profiles for text in (p.full_name, p.phone, p.email) if text})
    phones = sorted({p.phone for p in profiles if p.phone})
    chats = sorted({str(p.telegram_user_id) for p in profiles if p.telegram_user_id is not None})
    blanked = await _chats(uow, ids, phones, chats)
    blanked += await _messages(uow, ids)
    blanked += await _family(uow, ids, phones)
    blanked += await _quoted(uow, said)
    blanked += await _guards(uow, phones, chats)
    now = uow.clock.now()
    for profile in profiles:
        profile.telegram_user_id = None
        profile.key = None
    await uow.session.flush()  # unique links off first
    for profile in profiles:
        profile.first_name, profile.last_name = erased_name(profile.id)
        profile.phone = profile.email = profile.birth_date = profile.locale = None
        profile.online_registration = False
        profile.opted_out = True
        profile.erased_at = now
    await uow.session.flush()
    log.info("patient %s erased by %s (%d profiles, %d rows blanked)", patient_id,
             actor.staff if actor else "-", len(ids), blanked)
    await seen.record("patient.erase", summary=f"patient {patient_id} erased")
    return Erasure(patient_id, len(ids), blanked)


async def _count(uow: UnitOfWork, statement: object) -> int:
    result = await uow.session.execute(
        statement.execution_options(synchronize_session=False))  # type: ignore[attr-defined]
    return int(getattr(result, "rowcount", 0) or 0)


async def _chats(uow: UnitOfWork, ids: list[int], phones: list[str], chats: list[str]) -> int:
    """Delete the profiles' conversations (state and all), and any still on their phone or
    Telegram chat."""
    where: list[ColumnElement[bool]] = [Conversation.patient_id.in_(ids)]
    if phones:
        where.append((Conversation.channel == "sms") & Conversation.address.in_(phones))
    if chats:
        where.append((Conversation.channel == "telegram") & Conversation.address.in_(chats))
    return await _count(uow, delete(Conversation).where(or_(*where)))


async def _messages(uow: UnitOfWork, ids: list[int]) -> int:
    """Blank the texts sent to and received from the profiles; what was still to be sent to
    them is skipped. Staff alerts about them lose their rendered text."""
    about = OutboxMessage.params["patient_id"].as_integer().in_(ids)
    blanked = await _forget_outbox(uow, or_(OutboxMessage.patient_id.in_(ids), about))
    items = select(InboxItem.id).where(InboxItem.patient_id.in_(ids)).scalar_subquery()
    blanked += await _count(uow, update(InboxItem).where(InboxItem.patient_id.in_(ids))
                            .values(text=None))
    blanked += await _count(uow, update(InboxReply).where(InboxReply.item_id.in_(items))
                            .values(text=ERASED))
    blanked += await _count(uow, update(WaitlistEntry).where(
        WaitlistEntry.patient_id.in_(ids), WaitlistEntry.status == "waiting")
        .values(status="removed", ended_at=uow.clock.now()))
    blanked += await _count(uow, update(WaitlistEntry).where(WaitlistEntry.patient_id.in_(ids))
                            .values(weekdays=[], parts=[]))
    return blanked


async def _family(uow: UnitOfWork, ids: list[int], phones: list[str]) -> int:
    """Take off family links, kept-apart pairs and invitations to manage the profiles (their
    SMS rows lose the code and phone); invitations they accepted or were sent to forget them."""
    removed = await _count(uow, delete(guardianship).where(
        or_(guardianship.c.guardian_id.in_(ids), guardianship.c.ward_id.in_(ids))))
    removed += await _count(uow, delete(KeptApart).where(
        or_(KeptApart.low_id.in_(ids), KeptApart.high_id.in_(ids))))
    invited = (await uow.session.scalars(
        select(Invitation.id).where(Invitation.patient_id.in_(ids)))).all()
    for invitation_id in invited:
        removed += await _count(uow, update(OutboxMessage).where(
            OutboxMessage.purpose.like(f"{INVITATION_SMS}:{invitation_id}:round:%"))
            .values(params={"invitation_id": invitation_id}, body=None))
    removed += await _count(uow, delete(Invitation).where(Invitation.patient_id.in_(ids)))
    removed += await _count(uow, update(Invitation).where(Invitation.accepted_by_id.in_(ids))
                            .values(accepted_by_id=None))
    if phones:
        removed += await _count(uow, update(Invitation).where(Invitation.sms_phone.in_(phones))
                                .values(sms_phone=None))
    for refresh in list(uow.session.identity_map.values()):
        if isinstance(refresh, Patient):
            await uow.session.refresh(refresh, ["guardians", "wards"])
    return removed


async def _quoted(uow: UnitOfWork, said: list[str]) -> int:
    """Blank free text anywhere that quotes the erased name, phone or e-mail."""
    if not said:
        return 0
    blanked = 0
    for model, name, replacement in FREE_TEXT:
        text = cast(getattr(model, name), String)
        blanked += await _count(uow, update(model).where(
            or_(*(text.contains(value, autoescape=True) for value in said)))
            .values({name: replacement}))
    outbox_params = cast(OutboxMessage.params, String)
    return blanked + await _forget_outbox(uow, or_(
        *(outbox_params.contains(value, autoescape=True) for value in said)))


async def _guards(uow: UnitOfWork, phones: list[str], chats: list[str]) -> int:
    """Forget the wrong-code counts of the profiles' chats (their scopes name the phone or
    Telegram chat), and rename the lock-out alerts whose keys name them."""
    scopes = [f"sms:{phone}" for phone in phones] + [f"telegram:{chat}" for chat in chats]
    removed = await _count(uow, delete(InvitationGuard).where(InvitationGuard.scope.in_(scopes)))
    staff_scopes = [f"chat:{chat}" for chat in chats]
    removed += await _count(uow, delete(StaffCodeGuard).where(
        StaffCodeGuard.scope.in_(staff_scopes)))
    for scope in scopes + staff_scopes:
        named = f"%:{scope}:%"
        removed += await _count(uow, update(OutboxMessage).where(OutboxMessage.purpose.like(
            named)).values(purpose=literal("erased:") + cast(OutboxMessage.id, String)))
        removed += await _count(uow, update(InboxItem).where(InboxItem.key.like(named))
                                .values(key=literal("erased:") + cast(InboxItem.id, String)))
    return removed


async def _forget_outbox(uow: UnitOfWork, which: ColumnElement[bool]) -> int:
    """Skip the messages ``which`` picks that are still to be sent, and blank all of them."""
    await _count(uow, update(OutboxMessage).where(which, OutboxMessage.status == "pending")
                 .values(status="skipped", last_error="the patient was erased"))
    return await _count(uow, update(OutboxMessage).where(which).values(body=None, params={}))
