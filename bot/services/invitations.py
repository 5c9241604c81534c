"""Inviting a family member to manage a patient (issue 18; RULES.md 17, 19).

The desk (console or ``clinicbot staff invite``) creates an invitation for a patient: a
one-time code (:mod:`bot.services.invitation_codes`; only its hash is stored, so the code is
shown once, at creation or resend) valid :data:`DEFAULT_DAYS` days, optionally texted to the
invitee's phone through the outbox (quiet hours and opt-outs as for every outbound message).
Whoever sends the code in chat (an SMS text, Telegram's ``/start CODE``) and is, or becomes
by the usual registration, a patient, is made a guardian of the invited patient with
:func:`bot.services.access.add_guardian`, so the family flows include them from then on.

* Once only: acceptance is a conditional ``UPDATE ... WHERE status = 'open' AND expires_at >
  now`` under the ward's row lock, so of two people racing with one code exactly one wins.
* Accepting for oneself, or when already managing the patient, uses nothing up.
* A resend issues a *new* code (the old one stops working at once) and a new expiry; a
  revoked or accepted invitation cannot be resent. Rotating means a code seen by someone who
  should not have it dies with the resend.
* A code queued in an SMS is kept in that outbox row only until the invitation ends (accepted,
  revoked, or its code replaced); then the row's text and code are wiped. The SMS is not sent
  to a phone that opted out (a patient's, or a number that texted STOP).
* An invitation for a profile merged since is for the profile it was merged into.

Every staff action is audited (``invitation.create``, ``invitation.resend``,
``invitation.revoke``: ids only, never the code or the phone); what the invitee does is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, select, update

from bot.services import access, audit, outbox
from bot.services.clinic import get_clinic
from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.services.identity import clinic_region, normalise_phone
from bot.services.invitation_codes import digest, new_code
from bot.storage.models import Conversation, Invitation, OutboxMessage, Patient, guardianship
from bot.storage.models.invitations import ACCEPTED, OPEN, REVOKED
from bot.storage.uow import UnitOfWork

DEFAULT_DAYS = 7
MAX_DAYS = 30
INVITATION_SMS = "invitation"
EXPIRED = "expired"
LINK = guardianship.c

# What an attempt to accept comes to (:class:`Acceptance`).
ACCEPTED_NOW, ALREADY, SELF, UNKNOWN, USED, WITHDRAWN, LAPSED = (
    "accepted", "already", "self", "unknown", "used", "revoked", "expired")


@dataclass(frozen=True)
class Issued:
    """An invitation just created or resent, with its code (shown this once)."""

    invitation_id: int
    patient_id: int
    code: str
    expires_at: datetime
    sms_queued: bool


@dataclass(frozen=True)
class InvitationView:
    """One invitation as the desk lists it (``status``: open, accepted, expired, revoked)."""

    id: int
    status: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    accepted_by_id: int | None
    accepted_by: str | None
    accepted_at: datetime | None
    revoked_at: datetime | None
    sms_phone: str | None


@dataclass(frozen=True)
class Acceptance:
    """What sending a code came to: ``outcome`` (one of the constants above) and the first
    name of the patient it is for (when the code was found)."""

    outcome: str
    first_name: str | None = None


def status_of(invitation: Invitation, now: datetime) -> str:
    """open, accepted, revoked, or expired (open past its expiry)."""
    if invitation.status == OPEN and invitation.expires_at <= now:
        return EXPIRED
    return invitation.status


def _days(days: int) -> timedelta:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"an invitation is valid 1 to {MAX_DAYS} days, not {days}")
    return timedelta(days=days)


async def _phone(uow: UnitOfWork, typed: str | None) -> str | None:
    if typed is None or not typed.strip():
        return None
    clinic = await get_clinic(uow)
    return normalise_phone(typed, clinic_region(clinic.phone, clinic.locale))


async def create(
    uow: UnitOfWork, patient_id: int, *, actor: audit.Actor, sms_phone: str | None = None,
    days: int = DEFAULT_DAYS, form_token: str | None = None,
) -> Issued:
    """A new invitation to manage ``patient_id`` (texted to ``sms_phone`` when given);
    ``form_token``: the console form's, refused when that form created one already."""
    valid = _days(days)
    phone = await _phone(uow, sms_phone)
    if form_token is not None:
        earlier = await uow.session.scalar(
            select(Invitation.id).where(Invitation.form_token == form_token))
        if earlier is not None:
            raise WrongState(f"this form created invitation {earlier} already, and its code "
                             "was shown then; Resend gives it a new code")
    seen = await audit.watch(uow, actor, patient_id=patient_id)
    ward = await uow.session.get(Patient, patient_id)
    if ward is None:
        raise NotFound(f"there is no patient {patient_id}")
    if ward.merged_into_id is not None:
        raise InvalidInput(f"patient {patient_id} was merged into patient "
                           f"{ward.merged_into_id}; invite for that one")
    if ward.erased_at is not None:
        raise WrongState(f"patient {patient_id} was erased; nobody can be invited for them")
    code, now = new_code(), uow.clock.now()
    invitation = Invitation(
        patient_id=patient_id, code_hash=digest(code), status=OPEN, round=1,
        created_by=actor.staff, created_at=now, expires_at=now + valid, sms_phone=phone,
        form_token=form_token)
    uow.session.add(invitation)
    await uow.session.flush()
    queued = await _text(uow, invitation, code, phone)
    await seen.record("invitation.create",
                      summary=f"invitation {invitation.id} to manage patient {patient_id}"
                              + (", by SMS" if queued else ""))
    return Issued(invitation.id, patient_id, code, invitation.expires_at, queued)


async def resend(
    uow: UnitOfWork, invitation_id: int, *, actor: audit.Actor, sms_phone: str | None = None,
    days: int = DEFAULT_DAYS,
) -> Issued:
    """The same invitation with a new code (the old one stops working) and a new expiry;
    texted to ``sms_phone`` when given. Refused once accepted or revoked."""
    valid = _days(days)
    phone = await _phone(uow, sms_phone)
    invitation = await _locked(uow, invitation_id)
    seen = await audit.watch(uow, actor, patient_id=invitation.patient_id)
    if invitation.status != OPEN:
        raise WrongState(f"invitation {invitation_id} was {invitation.status}; "
                         "create a new one instead")
    code, now = new_code(), uow.clock.now()
    await _wipe_codes(uow, invitation.id)
    invitation.code_hash = digest(code)
    invitation.round += 1
    invitation.expires_at = now + valid
    if phone is not None:
        invitation.sms_phone = phone
    await uow.session.flush()
    queued = await _text(uow, invitation, code, phone)
    await seen.record("invitation.resend",
                      summary=f"invitation {invitation.id}: new code, round {invitation.round}"
                              + (", by SMS" if queued else ""))
    return Issued(invitation.id, invitation.patient_id, code, invitation.expires_at, queued)


async def revoke(uow: UnitOfWork, invitation_id: int, *, actor: audit.Actor) -> Invitation:
    """Withdraw an invitation that was not accepted: its code stops working."""
    invitation = await _locked(uow, invitation_id)
    seen = await audit.watch(uow, actor, patient_id=invitation.patient_id)
    if invitation.status != OPEN:
        raise WrongState(f"invitation {invitation_id} was {invitation.status} already")
    invitation.status = REVOKED
    invitation.revoked_by = actor.staff
    invitation.revoked_at = uow.clock.now()
    await _wipe_codes(uow, invitation.id)
    await uow.session.flush()
    await seen.record("invitation.revoke", summary=f"invitation {invitation.id} revoked")
    return invitation


async def invitations_of(uow: UnitOfWork, patient_id: int) -> list[InvitationView]:
    """The patient's invitations, newest first, with who accepted them."""
    now = uow.clock.now()
    rows = (await uow.session.execute(
        select(Invitation, Patient)
        .outerjoin(Patient, Patient.id == Invitation.accepted_by_id)
        .where(Invitation.patient_id == patient_id)
        .order_by(Invitation.id.desc()))).tuples().all()
    return [
        InvitationView(
            id=i.id, status=status_of(i, now), created_at=i.created_at, created_by=i.created_by,
            expires_at=i.expires_at, accepted_by_id=i.accepted_by_id,
            accepted_by=p.full_name if p is not None else None, accepted_at=i.accepted_at,
            revoked_at=i.revoked_at, sms_phone=i.sms_phone)
        for i, p in rows
    ]


async def get(uow: UnitOfWork, invitation_id: int) -> Invitation:
    """An invitation by id, or NotFound."""
    found = await uow.session.get(Invitation, invitation_id)
    if found is None:
        raise NotFound(f"there is no invitation {invitation_id}")
    return found


async def find(uow: UnitOfWork, code_hash: str) -> Invitation | None:
    """The invitation whose current code has this hash."""
    found: Invitation | None = await uow.session.scalar(
        select(Invitation).where(Invitation.code_hash == code_hash)
        .execution_options(populate_existing=True))
    return found


def dead(invitation: Invitation | None, now: datetime) -> str | None:
    """Why a code found ``invitation`` cannot be accepted (None: it can)."""
    if invitation is None:
        return UNKNOWN
    status = status_of(invitation, now)
    return {ACCEPTED: USED, REVOKED: WITHDRAWN, EXPIRED: LAPSED}.get(status)


async def accept(uow: UnitOfWork, code_hash: str, guardian_id: int) -> Acceptance:
    """Make ``guardian_id`` a guardian of the patient the code's invitation is for, once.

    Returns what came of it; only :data:`ACCEPTED_NOW` changed anything. The caller commits.
    """
    now = uow.clock.now()
    invitation = await find(uow, code_hash)
    why = dead(invitation, now)
    if invitation is None or why is not None:
        return Acceptance(why or UNKNOWN)
    ward = await _kept(uow, invitation.patient_id)
    if ward is None:
        return Acceptance(WITHDRAWN)
    name = ward.first_name
    if guardian_id == ward.id:
        return Acceptance(SELF, name)
    # The ward's row lock (PostgreSQL; SQLite writes one at a time): racing acceptances of
    # this ward's invitations, and desks adding guardians, go one after the other.
    await uow.session.execute(select(Patient.id).where(Patient.id == ward.id).with_for_update())
    linked = await uow.session.scalar(
        select(LINK.source).where(LINK.guardian_id == guardian_id, LINK.ward_id == ward.id))
    if linked is not None:
        return Acceptance(ALREADY, name)
    taken = cast(CursorResult[object], await uow.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == OPEN,
               Invitation.code_hash == code_hash, Invitation.expires_at > now)
        .values(status=ACCEPTED, accepted_by_id=guardian_id, accepted_at=now)
        .execution_options(synchronize_session=False)))
    if taken.rowcount != 1:
        return Acceptance(USED, name)
    await access.add_guardian(uow, guardian_id, ward.id)
    await _wipe_codes(uow, invitation.id)
    return Acceptance(ACCEPTED_NOW, name)


async def sms_destination(uow: UnitOfWork, message: OutboxMessage) -> tuple[str | None, str]:
    """Where an invitation SMS goes (the phone), or None and why it is not sent: the
    invitation ended or got a new code since, or the phone's owner opted out."""
    params = message.params or {}
    invitation = await uow.session.get(Invitation, int(str(params.get("invitation_id", 0))))
    if invitation is None or status_of(invitation, uow.clock.now()) != OPEN:
        return None, "the invitation is no longer open"
    if params.get("round") != invitation.round or not params.get("code"):
        return None, "the invitation has a newer code"
    phone = str(params.get("phone") or "")
    owners = (await uow.session.scalars(select(Patient).where(Patient.phone == phone))).all()
    texted = await uow.session.scalar(select(Conversation.state).where(
        Conversation.channel == "sms", Conversation.address == phone))
    stopped = isinstance(texted, dict) and bool(texted.get("opted_out"))
    if not phone or stopped or any(p.opted_out for p in owners):
        return None, "the phone opted out"
    return phone, ""


async def _text(uow: UnitOfWork, invitation: Invitation, code: str, phone: str | None) -> bool:
    """Queue the invitation's SMS to ``phone`` (once per code); whether one was queued."""
    if phone is None:
        return False
    return await outbox.enqueue(
        uow, purpose=f"{INVITATION_SMS}:{invitation.id}:round:{invitation.round}",
        kind=INVITATION_SMS,
        params={"invitation_id": invitation.id, "round": invitation.round, "phone": phone,
                "code": code})


async def _wipe_codes(uow: UnitOfWork, invitation_id: int) -> None:
    """Remove the code from the invitation's SMS rows, sent or not (a pending one is then
    skipped): the code lived there only for as long as the invitation could use it."""
    await uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.purpose.like(f"{INVITATION_SMS}:{invitation_id}:round:%"))
        .values(params={"invitation_id": invitation_id}, body=None)
        .execution_options(synchronize_session=False))


async def _kept(uow: UnitOfWork, patient_id: int) -> Patient | None:
    """The live profile ``patient_id`` is now (a merged profile: the one it was merged into)."""
    patient = await uow.session.get(Patient, patient_id)
    seen: set[int] = set()
    while patient is not None and patient.merged_into_id is not None and patient.id not in seen:
        seen.add(patient.id)
        patient = await uow.session.get(Patient, patient.merged_into_id)
    return None if patient is None or patient.merged_into_id is not None else patient


async def _locked(uow: UnitOfWork, invitation_id: int) -> Invitation:
    """The invitation, its row locked (two desks acting on it go one after the other)."""
    found = await uow.session.scalar(
        select(Invitation).where(Invitation.id == invitation_id).with_for_update()
        .execution_options(populate_existing=True))
    if found is None:
        raise NotFound(f"there is no invitation {invitation_id}")
    return found
