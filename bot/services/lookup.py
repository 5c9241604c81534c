"""Finding things by what people type at the desk: ids, set-up keys, phone numbers."""

from __future__ import annotations

import phonenumbers
from sqlalchemy import select

from bot.services.errors import InvalidInput, NotFound
from bot.storage.models import NoShowFee, Patient, Staff
from bot.storage.types import MAX_ID
from bot.storage.uow import UnitOfWork


async def find_patient(uow: UnitOfWork, ref: str) -> Patient:
    """A patient by id (``42``), set-up key (``maya``) or phone (``+14165550101``).

    A merged profile resolves to the profile it was merged into; a phone shared by several
    profiles is refused with the ids to choose from.
    """
    ref = ref.strip()
    if not ref:
        raise InvalidInput("give a patient id, key or phone number")
    if ref.startswith("+"):
        patient = await _by_phone(uow, ref)
    elif ref.isdecimal():
        number = as_id(ref)
        patient = await uow.session.get(Patient, number) if number is not None else None
    else:
        patient = await uow.session.scalar(select(Patient).where(Patient.key == ref))
    if patient is None:
        raise NotFound(f"no patient matches {ref!r} (give an id, a set-up key or a +phone)")
    seen = set()
    while patient.merged_into_id is not None and patient.id not in seen:
        seen.add(patient.id)
        merged_into = await uow.session.get(Patient, patient.merged_into_id)
        if merged_into is None:
            break
        patient = merged_into
    return patient


def as_id(text: str) -> int | None:
    """The id ``text`` spells (decimal digits, 1 to :data:`MAX_ID`), or None: no row has it."""
    text = text.strip()
    if not text.isdecimal() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


async def _by_phone(uow: UnitOfWork, text: str) -> Patient | None:
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"{text!r} is not a phone number in +E.164 form") from exc
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    matches = (
        await uow.session.scalars(
            select(Patient)
            .where(Patient.phone == e164, Patient.merged_into_id.is_(None))
            .order_by(Patient.id)
        )
    ).all()
    if len(matches) > 1:
        ids = ", ".join(str(p.id) for p in matches)
        raise InvalidInput(f"several patients have that phone (ids {ids}); give the id instead")
    return matches[0] if matches else None


async def find_staff(uow: UnitOfWork, key: str) -> Staff:
    staff = await uow.session.scalar(select(Staff).where(Staff.key == key))
    if staff is None:
        raise NotFound(f"there is no staff member {key!r}")
    if not staff.active:
        raise NotFound(f"staff member {key!r} is no longer in the clinic's set-up file")
    return staff


async def find_no_show_fee(uow: UnitOfWork, key: str) -> NoShowFee:
    fee = await uow.session.scalar(select(NoShowFee).where(NoShowFee.key == key))
    if fee is None:
        keys = ", ".join((await uow.session.scalars(select(NoShowFee.key))).all())
        raise NotFound(f"there is no no-show fee {key!r} (the clinic has: {keys})")
    return fee
