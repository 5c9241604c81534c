"""Who is talking: the patient a conversation belongs to, by what the channel proves (RULES.md 19).

A conversation already linked keeps its patient (following a merge to the kept profile). Else a
proven phone (the SMS sender, the terminal's ``--phone``, a Telegram contact shared by its own
user) or a linked Telegram account finds the patient. Nothing typed in a message is used.
"""

from __future__ import annotations

from bot.dialogs.types import Inbound
from bot.services import accounts
from bot.services.errors import NotFound
from bot.storage.models import Conversation, Patient
from bot.storage.uow import UnitOfWork


async def identify(
    uow: UnitOfWork, conversation: Conversation, inbound: Inbound
) -> Patient | None:
    """The patient behind this conversation, linking it on first contact; None if unknown."""
    if conversation.patient_id is not None:
        try:
            patient = await accounts.get_patient(uow, conversation.patient_id)
        except NotFound:
            patient = None
        if patient is not None:
            conversation.patient_id = patient.id
            return patient
    patient = None
    if inbound.telegram_user_id is not None:
        patient = await accounts.find_by_telegram(uow, inbound.telegram_user_id)
    if patient is None and inbound.phone:
        patient = _account_holder(await accounts.find_by_phone(uow, inbound.phone))
        if patient is not None and inbound.telegram_user_id is not None:
            await accounts.link_telegram(uow, patient.id, inbound.telegram_user_id)
    if patient is not None:
        conversation.patient_id = patient.id
        return None if patient.merged_into_id is not None else patient
    # Unknown: remember what the channel proved, for the registration that follows.
    if inbound.phone:
        conversation.state["phone"] = inbound.phone
    if inbound.telegram_user_id is not None:
        conversation.state["telegram_user_id"] = inbound.telegram_user_id
    return None


def _account_holder(candidates: list[Patient]) -> Patient | None:
    """Of the profiles sharing a phone, the one that manages the others (else the oldest)."""
    if not candidates:
        return None
    return sorted(candidates, key=lambda p: (-len(p.wards), len(p.guardians), p.id))[0]
