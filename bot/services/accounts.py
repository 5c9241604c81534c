"""People and accounts (RULES.md 17-19): who a chat is, whom it may act for, registration, merge.

A chat is identified only by what its channel proves (the SMS sender's number, the Telegram
account linked by the user's own shared contact). :func:`acting_for` and
:func:`require_may_act` derive everything else from that account's profile: its own profile and
the profiles it manages, never an id the patient typed.

Phone, name and date checks live in :mod:`bot.services.identity`, the merge itself in
:mod:`bot.services.merging` (both re-exported here). Merged profiles keep their row
(``merged_into_id`` points at the kept one) so old links still resolve: :func:`find_by_phone`
and :func:`find_by_telegram` answer with the surviving profile (an online registration's phone
and Telegram account are taken off by a merge unless staff confirmed them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import bindparam, or_, select

from bot.services import outbox
from bot.services.clinic import get_clinic, local_today
from bot.services.errors import NotAllowed, NotFound, WrongState
from bot.services.identity import check_birth_date as check_birth_date
from bot.services.identity import clean_locale as clean_locale
from bot.services.identity import clean_name as clean_name
from bot.services.identity import clinic_region as clinic_region
from bot.services.identity import name_key as name_key
from bot.services.identity import normalise_phone as normalise_phone
from bot.services.identity import refuse_erased as refuse_erased
from bot.services.merging import MergeResult as MergeResult
from bot.services.merging import merge as merge
from bot.storage.attach import Columns, loaded
from bot.storage.hot import Hot
from bot.storage.models import KeptApart, Patient, guardianship
from bot.storage.uow import UnitOfWork


async def get_patient(uow: UnitOfWork, patient_id: int) -> Patient:
    """A live (not merged) profile, or NotFound."""
    patient = await uow.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"there is no patient {patient_id}")
    if patient.merged_into_id is not None:
        raise NotFound(
            f"patient {patient_id} was merged into patient {patient.merged_into_id}; use that one"
        )
    return patient


async def _surviving(uow: UnitOfWork, patient: Patient) -> Patient:
    seen = {patient.id}
    while patient.merged_into_id is not None:
        kept = await uow.session.get(Patient, patient.merged_into_id)
        if kept is None or kept.id in seen:
            break
        seen.add(kept.id)
        patient = kept
    return patient


async def find_by_phone(uow: UnitOfWork, phone_e164: str) -> list[Patient]:
    """The live profiles owning this phone (a merged profile's phone finds the kept one), with
    their ``guardians`` and ``wards`` loaded."""
    rows = (
        await uow.session.scalars(
            select(Patient).where(Patient.phone == phone_e164).order_by(Patient.id)
        )
    ).all()
    found: list[int] = []
    for row in rows:
        patient = await _surviving(uow, row)
        if patient.id not in found:
            found.append(patient.id)
    if not found:
        return []
    # The family is not loaded with a patient (lazy="raise"); callers compare families. One
    # profile at a time: a profile loaded as another's ward would keep its own family unloaded.
    profiles = []
    for patient_id in found:
        patient = await get_patient(uow, patient_id)
        await uow.session.refresh(patient, ["guardians", "wards"])
        profiles.append(patient)
    return profiles


async def find_by_telegram(uow: UnitOfWork, user_id: int) -> Patient | None:
    """The live profile linked to this Telegram account, if any."""
    row = await uow.session.scalar(select(Patient).where(Patient.telegram_user_id == user_id))
    return None if row is None else await _surviving(uow, row)


async def link_telegram(uow: UnitOfWork, patient_id: int, telegram_user_id: int) -> Patient:
    """Link a Telegram account to a profile (after the user shared their own contact).

    A Telegram account links to one profile: a link it had elsewhere moves here.
    """
    patient = await get_patient(uow, patient_id)
    refuse_erased(patient)
    if patient.telegram_user_id == telegram_user_id:
        return patient
    previous = await uow.session.scalar(
        select(Patient).where(Patient.telegram_user_id == telegram_user_id)
    )
    if previous is not None:
        previous.telegram_user_id = None
        await uow.session.flush()
    patient.telegram_user_id = telegram_user_id
    await uow.session.flush()
    return patient


# Built once and run on the driver: the menu asks it for every choice made for a person.
_PATIENT_COLUMNS = Columns(Patient)
_WARDS = Hot(
    select(*_PATIENT_COLUMNS.columns)
    .join(guardianship, guardianship.c.ward_id == Patient.id)
    .where(guardianship.c.guardian_id == bindparam("guardian"), Patient.merged_into_id.is_(None))
    .order_by(Patient.first_name, Patient.last_name, Patient.id)
)


async def acting_for(uow: UnitOfWork, account_patient_id: int) -> list[Patient]:
    """Whom an account may act for: its own profile first, then the profiles it manages."""
    account = await get_patient(uow, account_patient_id)
    wards = await loaded(uow, _WARDS, _PATIENT_COLUMNS, {"guardian": account.id})
    return [account, *wards]


async def require_may_act(
    uow: UnitOfWork, account_patient_id: int, target_patient_id: int
) -> Patient:
    """The target profile if the account is it or manages it; else NotAllowed (RULES.md 17)."""
    account = await get_patient(uow, account_patient_id)
    if target_patient_id == account.id:
        return account
    target = await uow.session.scalar(
        select(Patient)
        .join(guardianship, guardianship.c.ward_id == Patient.id)
        .where(
            guardianship.c.guardian_id == account.id,
            Patient.id == target_patient_id,
            Patient.merged_into_id.is_(None),
        )
    )
    if target is None:
        raise NotAllowed(
            "this account can act only for its own profile and the people it manages; "
            "the clinic can add a family member to it"
        )
    return target


async def register_online(
    uow: UnitOfWork,
    *,
    first_name: str,
    last_name: str,
    birth_date: date,
    phone: str | None = None,
    telegram_user_id: int | None = None,
    locale: str | None = None,
) -> Patient:
    """Create an online registration (RULES.md 18); alert staff if it resembles a profile."""
    clinic = await get_clinic(uow)
    first, last = clean_name(first_name, "first name"), clean_name(last_name, "last name")
    check_birth_date(birth_date, local_today(clinic, uow.clock.now()))
    e164 = normalise_phone(phone, None) if phone is not None else None
    if telegram_user_id is not None and await find_by_telegram(uow, telegram_user_id):
        raise WrongState("this Telegram account already has a profile; open the menu instead")
    patient = Patient(
        first_name=first,
        last_name=last,
        birth_date=birth_date,
        phone=e164,
        telegram_user_id=telegram_user_id,
        locale=clean_locale(locale) if locale else None,
        online_registration=True,
        opted_out=False,
        created_at=uow.clock.now(),
    )
    uow.session.add(patient)
    await uow.session.flush()
    duplicates = await likely_duplicates(uow, patient.id)
    if duplicates:
        # Ids only: names and birth dates are health data and stay out of messages.
        await outbox.alert_staff(
            uow,
            alert="registration",
            purpose=f"registration:{patient.id}",
            params={"patient_id": patient.id, "duplicate_ids": [p.id for p in duplicates]},
        )
    return patient


async def likely_duplicates(uow: UnitOfWork, patient_id: int) -> list[Patient]:
    """Other live profiles with the same phone, or the same name and birth date, less those
    staff kept separate from it (:mod:`bot.services.kept_apart`)."""
    patient = await uow.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"there is no patient {patient_id}")
    return (await likely_duplicates_of(uow, [patient]))[patient.id]


def _resembles(patient: Patient, other: Patient) -> bool:
    """Same phone, or same birth date and the same name (accents and case aside)."""
    if other.id == patient.id:
        return False
    if patient.phone is not None and other.phone == patient.phone:
        return True
    return (patient.birth_date is not None and other.birth_date == patient.birth_date
            and name_key(other.first_name, other.last_name)
            == name_key(patient.first_name, patient.last_name))


async def likely_duplicates_of(uow: UnitOfWork, patients: Sequence[Patient]
                               ) -> dict[int, list[Patient]]:
    """:func:`likely_duplicates` of each of ``patients`` (by id), in two queries whatever
    their number: the registrations queue asks for many at once."""
    found: dict[int, list[Patient]] = {p.id: [] for p in patients}
    phones = {p.phone for p in patients if p.phone is not None}
    births = {p.birth_date for p in patients if p.birth_date is not None}
    same = ([Patient.phone.in_(phones)] if phones else []) + (
        [Patient.birth_date.in_(births)] if births else [])
    if not same:
        return found
    candidates = (await uow.session.scalars(
        select(Patient).where(or_(*same), Patient.merged_into_id.is_(None))
        .order_by(Patient.id))).all()
    ids = list(found)
    apart = {tuple(pair) for pair in (await uow.session.execute(
        select(KeptApart.low_id, KeptApart.high_id)
        .where(or_(KeptApart.low_id.in_(ids), KeptApart.high_id.in_(ids))))).tuples()}
    near: dict[object, list[Patient]] = defaultdict(list)
    for other in candidates:
        for key in {other.phone, other.birth_date} - {None}:
            near[key].append(other)
    for patient in patients:
        seen = {o.id: o for key in {patient.phone, patient.birth_date} - {None}
                for o in near[key]}
        found[patient.id] = [
            other for _, other in sorted(seen.items())
            if _resembles(patient, other)
            and (min(patient.id, other.id), max(patient.id, other.id)) not in apart
        ]
    return found


async def set_locale(uow: UnitOfWork, patient_id: int, locale: str | None) -> Patient:
    """Set the patient's language (``None``: the clinic's)."""
    patient = await get_patient(uow, patient_id)
    patient.locale = clean_locale(locale) if locale else None
    await uow.session.flush()
    return patient


async def opt_out(uow: UnitOfWork, patient_id: int) -> Patient:
    """Stop every proactive message to this patient (STOP; RULES.md 14)."""
    patient = await get_patient(uow, patient_id)
    patient.opted_out = True
    await uow.session.flush()
    return patient


async def opt_in(uow: UnitOfWork, patient_id: int) -> Patient:
    """Allow proactive messages again (START); an erased profile stays opted out."""
    patient = await get_patient(uow, patient_id)
    refuse_erased(patient)
    patient.opted_out = False
    await uow.session.flush()
    return patient

