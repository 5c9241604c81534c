"""What a package is and what it covered, as staff and the patient see it (RULES.md 11).

:func:`packages_for` reads all of a patient's packages with a fixed number of queries (their
columns, their price invoices with what was paid on each, their redeemed and their reserved
uses), however many packages they own; :func:`package_details` is the same for one package.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, or_, select

from bot.services import billing, packages
from bot.services.clinic import get_clinic, local_today, zone
from bot.storage.hot import Hot
from bot.storage.models import (
    Appointment,
    Fee,
    Invoice,
    PackageRedemption,
    PatientPackage,
    Payment,
    Practitioner,
)
from bot.storage.models.billing import outstanding as invoice_outstanding
from bot.storage.types import to_money
from bot.storage.uow import UnitOfWork

Status = Literal["awaiting_payment", "active", "expired", "refunded"]


class OwnedPackage(Protocol):
    """What the details need of a package: a :class:`PatientPackage` or a row of its columns."""

    @property
    def id(self) -> int: ...
    @property
    def patient_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def purchased_on(self) -> date: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def uses(self) -> int: ...
    @property
    def redeemed(self) -> int: ...
    @property
    def booked(self) -> int: ...
    @property
    def available(self) -> int: ...
    @property
    def expires_on(self) -> date | None: ...
    @property
    def paid_enough(self) -> bool: ...
    @property
    def refunded_at(self) -> datetime | None: ...
    @property
    def refund_amount(self) -> Decimal | None: ...
    @property
    def transferred_from_id(self) -> int | None: ...


# The columns those are (the list does not need the package's fees, practitioners, locations).
OWNED_COLUMNS = tuple(
    getattr(PatientPackage, name)
    for name, member in vars(OwnedPackage).items() if isinstance(member, property)
)


@dataclass(frozen=True)
class SessionCovered:
    """One use of a package: redeemed (``arrival``/``no_show``/``imported``) or ``booked``."""

    kind: str
    day: date | None
    fee: str | None
    practitioner: str | None
    appointment_id: int | None

    @property
    def upcoming(self) -> bool:
        """A booked session: its use is reserved, not redeemed yet."""
        return self.kind == "booked"


@dataclass(frozen=True)
class PackageDetails:
    """A package as staff and the patient see it (RULES.md 11). ``expires_on`` None: never."""

    id: int
    patient_id: int
    name: str
    purchased_on: date
    price: Decimal
    paid: Decimal
    outstanding: Decimal
    uses: int
    redeemed: int
    booked: int
    available: int
    expires_on: date | None
    status: Status
    refund_amount: Decimal | None
    transferred_from_id: int | None
    sessions: list[SessionCovered]


async def package_details(uow: UnitOfWork, package_id: int) -> PackageDetails:
    """Everything RULES.md 11 promises about one package, as of the clinic's today."""
    package = await packages.get_package(uow, package_id)
    await uow.flush_pending()  # the details' statements bypass the session's autoflush
    return (await _details(uow, [package]))[0]


# Built once and run on the driver ("My packages" in every conversation, the console's pages):
# building, keying and loading through SQLAlchemy cost several times what SQLite takes to run
# them. Each reads what it needs of all the patient's packages (the details of one package
# read its owner's rows and keep its own).
_Owned = namedtuple("_Owned", [column.key for column in OWNED_COLUMNS])  # type: ignore[misc]
_OWNED = Hot(
    select(*OWNED_COLUMNS)
    .where(PatientPackage.patient_id == bindparam("patient"))
    .order_by(PatientPackage.purchased_on, PatientPackage.id)
)
_OF_PATIENT = select(PatientPackage.id).where(PatientPackage.patient_id == bindparam("patient"))
_COLLECTED = (  # what was paid against the invoice (None: nothing)
    select(func.sum(Payment.amount)).where(Payment.invoice_id == Invoice.id).scalar_subquery()
)
_PRICE_INVOICES = Hot(
    select(Invoice.package_id, Invoice.amount, Invoice.paid, Invoice.status, _COLLECTED)
    .where(Invoice.package_id.in_(_OF_PATIENT),
           or_(*(Invoice.kind == kind for kind in billing.PRICE_KINDS)))
)
_REDEEMED = Hot(
    select(PackageRedemption.package_id, PackageRedemption.kind, PackageRedemption.redeemed_at,
           Appointment.id, Appointment.starts_at, Fee.name, Practitioner.name)
    .select_from(PackageRedemption)
    .outerjoin(Appointment, Appointment.id == PackageRedemption.appointment_id)
    .outerjoin(Fee, Fee.id == Appointment.fee_id)
    .outerjoin(
        Practitioner,
        Practitioner.id
        == func.coalesce(Appointment.practitioner_id, PackageRedemption.practitioner_id),
    )
    .where(PackageRedemption.package_id.in_(_OF_PATIENT))
)
_RESERVED = Hot(
    select(Appointment.package_id, Appointment.id, Appointment.starts_at, Fee.name,
           Practitioner.name)
    .join(Fee, Fee.id == Appointment.fee_id)
    .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
    .where(Appointment.package_id.in_(_OF_PATIENT), Appointment.package_use == "reserved")
)


async def packages_for(uow: UnitOfWork, patient_id: int) -> list[PackageDetails]:
    """The patient's packages, oldest purchase first, each with its details and status."""
    await uow.flush_pending()  # the statements below bypass the session's autoflush
    owned = await _OWNED.records(uow, {"patient": patient_id})
    return await _details(uow, [cast(OwnedPackage, _Owned(*row)) for row in owned])


def package_status(package: OwnedPackage, today: date) -> Status:
    """refunded, else expired (after its expiry date), else awaiting_payment, else active."""
    if package.refunded_at is not None:
        return "refunded"
    if package.expires_on is not None and today > package.expires_on:
        return "expired"
    if not package.paid_enough:
        return "awaiting_payment"
    return "active"


async def _details(uow: UnitOfWork, owned: Sequence[OwnedPackage]) -> list[PackageDetails]:
    """Details of ``owned``, packages of one patient (the caller flushed what the session
    holds: the statements below bypass its autoflush)."""
    if not owned:
        return []
    clinic = await get_clinic(uow)
    today = local_today(clinic, uow.clock.now())
    (patient_id,) = {package.patient_id for package in owned}
    outstanding: dict[int, Decimal] = defaultdict(lambda: billing.ZERO)
    paid: dict[int, Decimal] = defaultdict(lambda: billing.ZERO)
    for package_id, amount, paid_on_invoice, status, collected in await _PRICE_INVOICES.records(
        uow, {"patient": patient_id}
    ):
        outstanding[package_id] += invoice_outstanding(amount, paid_on_invoice, status)
        paid[package_id] += to_money(collected or 0)
    sessions = await _sessions(uow, patient_id, zone(clinic))
    return [
        PackageDetails(
            id=package.id,
            patient_id=package.patient_id,
            name=package.name,
            purchased_on=package.purchased_on,
            price=package.price,
            paid=paid[package.id],
            outstanding=outstanding[package.id],
            uses=package.uses,
            redeemed=package.redeemed,
            booked=package.booked,
            available=package.available,
            expires_on=package.expires_on,
            status=package_status(package, today),
            refund_amount=package.refund_amount,
            transferred_from_id=package.transferred_from_id,
            sessions=sessions[package.id],
        )
        for package in owned
    ]


async def _sessions(
    uow: UnitOfWork, patient_id: int, tz: ZoneInfo
) -> dict[int, list[SessionCovered]]:
    """Each of the patient's packages' redeemed uses (with imported ones) and reserved ones, by
    date."""
    found: dict[int, list[SessionCovered]] = defaultdict(list)
    which = {"patient": patient_id}
    for package_id, kind, redeemed_at, appointment_id, starts_at, fee, practitioner in (
        await _REDEEMED.records(uow, which)
    ):
        moment: datetime = starts_at if appointment_id is not None else redeemed_at
        found[package_id].append(SessionCovered(
            kind=kind, day=moment.astimezone(tz).date(), fee=fee, practitioner=practitioner,
            appointment_id=appointment_id))
    for package_id, appointment_id, starts_at, fee, practitioner in await _RESERVED.records(
        uow, which
    ):
        found[package_id].append(SessionCovered(
            kind="booked", day=starts_at.astimezone(tz).date(), fee=fee,
            practitioner=practitioner, appointment_id=appointment_id))
    for sessions in found.values():
        sessions.sort(key=lambda s: (s.day or date.min, s.appointment_id or 0))
    return found
