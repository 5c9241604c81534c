"""What a patient can book: the clinic's fees, practitioners and locations, and the packages a
patient can book with today (RULES.md 3, 4).

Read-only lookups for the booking dialogs, the set-up from the shared copy
(:mod:`bot.services.clinic_setup`); the rules themselves (what a package covers, which times are
free) stay in :mod:`bot.services.packages` and :mod:`bot.services.availability`.
"""

from __future__ import annotations

from sqlalchemy import bindparam, or_, select

from bot.services.clinic import get_clinic, local_today
from bot.services.clinic_setup import FeeFacts, PlaceFacts, PractitionerFacts, clinic_setup
from bot.storage.attach import Columns, loaded
from bot.storage.hot import Hot
from bot.storage.models import PatientPackage
from bot.storage.uow import UnitOfWork


async def fees(uow: UnitOfWork) -> list[FeeFacts]:
    """Every fee (treatment type), in the order the clinic listed them."""
    return list((await clinic_setup(uow)).fees.values())


async def get_fee(uow: UnitOfWork, fee_id: int) -> FeeFacts:
    """A fee by id, or NotFound."""
    return (await clinic_setup(uow)).fee(fee_id)


async def get_practitioner(uow: UnitOfWork, practitioner_id: int) -> PractitionerFacts:
    """A practitioner by id, or NotFound."""
    return (await clinic_setup(uow)).practitioner(practitioner_id)


async def get_location(uow: UnitOfWork, location_id: int) -> PlaceFacts:
    """A location by id, or NotFound."""
    return (await clinic_setup(uow)).location(location_id)


# Built once and run on the driver (every booking conversation asks): building and loading
# through the ORM cost several times what the statement takes (bot.storage.attach).
_PACKAGE_COLUMNS = Columns(PatientPackage)
_USABLE = Hot(select(*_PACKAGE_COLUMNS.columns).where(
    PatientPackage.patient_id == bindparam("patient"),
    PatientPackage.available > 0,
    PatientPackage.paid_enough.is_(True),
    PatientPackage.refunded_at.is_(None),
    or_(PatientPackage.expires_on.is_(None), PatientPackage.expires_on >= bindparam("today")),
))


async def usable_packages(uow: UnitOfWork, patient_id: int) -> list[PatientPackage]:
    """The patient's packages that can cover a booking made now, the one to pre-select first.

    Paid (enough), not refunded, not expired as of the clinic's today, with a use available;
    earliest expiry first, no expiry last (as ``appointments.applicable_packages`` orders them).
    """
    today = local_today(await get_clinic(uow), uow.clock.now())
    rows = await loaded(uow, _USABLE, _PACKAGE_COLUMNS, {"patient": patient_id, "today": today})
    return sorted(rows, key=lambda p: (p.expires_on is None, p.expires_on, p.id))
