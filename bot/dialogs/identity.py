"""Who is talking: the patient a conversation belongs to, by what the channel proves (RULES.md 19).

Every turn, the patient a conversation is linked to must still own what the channel proves: the
Telegram account it is linked to, or the phone it has now (the SMS sender, the terminal's
``--phone``). A phone the profile no longer has (changed in the set-up file, at the desk or by a
merge) or a Telegram account linked elsewhere no longer opens the file: the conversation starts
over with whoever the channel now finds (a profile, following a merge whose channel staff
confirmed, or nobody: registration). Nothing typed in a message is used.
"""

from __future__ import annotations

import logging

from bot.dialogs.types import Inbound
from bot.services import accounts
from bot.services.errors import NotFound
from bot.storage.models import Conversation, Patient
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)


async def identify(
    uow: UnitOfWork, conversation: Conversation, inbound: Inbound
) -> Patient | None:
    """The patient behind this conversation, linking it on first contact; None if unknown."""
    linked = None
    if conversation.patient_id is not None:
        try:
            linked = await accounts.get_patient(uow, conversation.patient_id)
        except NotFound:
            linked = None
        if linked is not None and proves(linked, inbound):
            return linked
    patient = await _by_channel(uow, inbound)
    if conversation.patient_id is not None and (
            patient is None or patient.id != conversation.patient_id):
        # Someone else now (or nobody): nothing of the previous person's place is kept.
        log.info("conversation %s no longer proves patient %s; it starts over",
                 conversation.id, conversation.patient_id)
        conversation.patient_id = None
        conversation.dialog = conversation.step = None
        conversation.state = {}
    if patient is not None:
        conversation.patient_id = patient.id
        return patient
    # Unknown: remember what the channel proved, for the registration that follows.
    if inbound.phone:
        conversation.state["phone"] = inbound.phone
    if inbound.telegram_user_id is not None:
        conversation.state["telegram_user_id"] = inbound.telegram_user_id
    return None


def proves(patient: Patient, inbound: Inbound) -> bool:
    """Whether the channel proves this profile as it is now: its Telegram account, else its
    current phone."""
    if inbound.telegram_user_id is not None:
        return patient.telegram_user_id == inbound.telegram_user_id
    return bool(inbound.phone) and patient.phone == inbound.phone


def owns_address(patient: Patient, channel: str, address: str) -> bool:
    """Whether a message to ``channel``/``address`` reaches this profile as it is now."""
    if channel == "telegram":
        return str(patient.telegram_user_id) == address
    return patient.phone == address


async def _by_channel(uow: UnitOfWork, inbound: Inbound) -> Patient | None:
    """The live profile the channel proves now (a phone shared in Telegram links the account)."""
    patient = None
    if inbound.telegram_user_id is not None:
        patient = await accounts.find_by_telegram(uow, inbound.telegram_user_id)
    if patient is None and inbound.phone:
        patient = _account_holder(await accounts.find_by_phone(uow, inbound.phone))
        if patient is not None and inbound.telegram_user_id is not None:
            await accounts.link_telegram(uow, patient.id, inbound.telegram_user_id)
    if patient is not None and patient.merged_into_id is not None:
        return None
    return patient


def _account_holder(candidates: list[Patient]) -> Patient | None:
    """Of the profiles sharing a phone, the one that manages the others (else the oldest)."""
    if not candidates:
        return None
    return sorted(candidates, key=lambda p: (-len(p.wards), len(p.guardians), p.id))[0]
