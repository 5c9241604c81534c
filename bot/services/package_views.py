"""What a package is and what it covered, as staff and the patient see it (RULES.md 11).

:func:`packages_for` reads all of a patient's packages with a fixed number of queries (their
columns, then invoices, payments and sessions in one query each), however many packages they
own; :func:`package_details` is the same for one package.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.sql.elements import BindParameter

from bot.services import billing, packages
from bot.services.clinic import get_clinic, local_today, zone
from bot.storage.models import (
    Appointment,
    Fee,
    Invoice,
    PackageRedemption,
    PatientPackage,
    Practitioner,
)
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
    return (await _details(uow, [package]))[0]


# Built once ("My packages" in every conversation, the console's pages): building a statement
# costs more than running it. Package ids go in as one expanding parameter.
_IDS: BindParameter[int] = bindparam("ids", expanding=True)
_OWNED = (
    select(*OWNED_COLUMNS)
    .where(PatientPackage.patient_id == bindparam("patient"))
    .order_by(PatientPackage.purchased_on, PatientPackage.id)
)
_PRICE_INVOICES = select(Invoice).where(
    Invoice.package_id.in_(_IDS), Invoice.kind.in_(billing.PRICE_KINDS))
_REDEEMED = (
    select(PackageRedemption, Appointment, Fee.name, Practitioner.name)
    .outerjoin(Appointment, Appointment.id == PackageRedemption.appointment_id)
    .outerjoin(Fee, Fee.id == Appointment.fee_id)
    .outerjoin(
        Practitioner,
        Practitioner.id
        == func.coalesce(Appointment.practitioner_id, PackageRedemption.practitioner_id),
    )
    .where(PackageRedemption.package_id.in_(_IDS))
)
_RESERVED = (
    select(Appointment, Fee.name, Practitioner.name)
    .join(Fee, Fee.id == Appointment.fee_id)
    .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
    .where(Appointment.package_id.in_(_IDS), Appointment.package_use == "reserved")
)


async def packages_for(uow: UnitOfWork, patient_id: int) -> list[PackageDetails]:
    """The patient's packages, oldest purchase first, each with its details and status."""
    owned = await uow.session.execute(_OWNED, {"patient": patient_id})
    return await _details(uow, [cast(OwnedPackage, row) for row in owned])


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
    if not owned:
        return []
    clinic = await get_clinic(uow)
    today = local_today(clinic, uow.clock.now())
    ids = [package.id for package in owned]
    outstanding: dict[int, Decimal] = defaultdict(lambda: billing.ZERO)
    invoices = await uow.session.scalars(_PRICE_INVOICES, {"ids": ids})
    for invoice in invoices.all():
        assert invoice.package_id is not None
        outstanding[invoice.package_id] += invoice.outstanding
    paid = await billing.packages_collected(uow, ids)
    sessions = await _sessions(uow, ids, zone(clinic))
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
    uow: UnitOfWork, ids: list[int], tz: ZoneInfo
) -> dict[int, list[SessionCovered]]:
    """Each package's redeemed uses (with imported ones) and reserved ones, by date."""
    found: dict[int, list[SessionCovered]] = defaultdict(list)
    redemptions = await uow.session.execute(_REDEEMED, {"ids": ids})
    for redemption, appointment, fee, practitioner in redemptions.tuples():
        moment: datetime = appointment.starts_at if appointment else redemption.redeemed_at
        found[redemption.package_id].append(
            SessionCovered(
                kind=redemption.kind,
                day=moment.astimezone(tz).date(),
                fee=fee,
                practitioner=practitioner,
                appointment_id=appointment.id if appointment else None,
            )
        )
    booked = await uow.session.execute(_RESERVED, {"ids": ids})
    for appointment, fee, practitioner in booked.tuples():
        assert appointment.package_id is not None
        found[appointment.package_id].append(
            SessionCovered(
                kind="booked",
                day=appointment.starts_at.astimezone(tz).date(),
                fee=fee,
                practitioner=practitioner,
                appointment_id=appointment.id,
            )
        )
    for sessions in found.values():
        sessions.sort(key=lambda s: (s.day or date.min, s.appointment_id or 0))
    return found
