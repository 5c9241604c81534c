"""What staff are shown before merging an online registration into a profile (RULES.md 18).

Anyone can register as "Maya Chen, 1988-04-02" from any phone, so a look-alike is no proof. The
desk (CLI and Telegram alert) shows the evidence: which channel the registration came from and
its phone (masked: alerts travel through chat services), when it registered, and what matched;
then staff choose to merge with or without linking that channel (:mod:`bot.services.merging`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import phonenumbers

from bot.services.errors import NotFound
from bot.services.identity import name_key
from bot.storage.models import Patient
from bot.storage.uow import UnitOfWork

SHOWN_DIGITS = 4


@dataclass(frozen=True)
class Evidence:
    """A registration as staff judge it against the profile it resembles."""

    registration_id: int
    other_id: int
    telegram: bool
    phone: str | None  # masked
    registered_at: datetime
    same_phone: bool
    same_name_and_birth_date: bool

    @property
    def has_channel(self) -> bool:
        """Whether merging could hand a phone or Telegram account to the other profile."""
        return self.telegram or self.phone is not None


def mask_phone(e164: str) -> str:
    """``+14165550199`` as ``+1 ••••••0199``: enough to ask the patient about, not to dial."""
    try:
        number = phonenumbers.parse(e164, None)
        code, national = str(number.country_code), str(number.national_number)
    except phonenumbers.NumberParseException:
        code, national = "", e164.lstrip("+")
    shown = national[-SHOWN_DIGITS:] if len(national) > SHOWN_DIGITS + 2 else ""
    return f"+{code} {'•' * (len(national) - len(shown))}{shown}".replace("+ ", "+")


async def evidence(uow: UnitOfWork, registration_id: int, other_id: int) -> Evidence:
    """The evidence of registration ``registration_id`` against profile ``other_id``."""
    registration = await uow.session.get(Patient, registration_id)
    other = await uow.session.get(Patient, other_id)
    if registration is None or other is None:
        missing = registration_id if registration is None else other_id
        raise NotFound(f"there is no patient {missing}")
    return Evidence(
        registration_id=registration.id,
        other_id=other.id,
        telegram=registration.telegram_user_id is not None,
        phone=mask_phone(registration.phone) if registration.phone else None,
        registered_at=registration.created_at,
        same_phone=registration.phone is not None and registration.phone == other.phone,
        same_name_and_birth_date=(
            registration.birth_date is not None
            and registration.birth_date == other.birth_date
            and name_key(registration.first_name, registration.last_name)
            == name_key(other.first_name, other.last_name)
        ),
    )
