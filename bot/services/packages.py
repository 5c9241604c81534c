"""Selling packages and moving their uses (RULES.md 1-4).

A package's counters change only through the conditional updates here, so
``uses = redeemed + booked + available`` and ``available >= 0`` hold whatever runs at once
(the database's check constraints back this up).
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.dml import Update

from bot.services import audit, billing, receipts
from bot.services.clinic import get_clinic, local_today, zone
from bot.services.errors import (
    NotAllowed,
    NotFound,
    NoUsesLeft,
    PackageEnded,
    PackageExpired,
    PackageNotPaid,
    PackageNotUsable,
    WrongState,
)
from bot.services.identity import refuse_erased
from bot.services.package_scope import PackageScope, scope_of
from bot.services.periods import add_months
from bot.storage.models import (
    Appointment,
    Invoice,
    PackageRedemption,
    PackageTemplate,
    Patient,
    PatientPackage,
)
from bot.storage.types import to_money
from bot.storage.uow import UnitOfWork


async def get_template(uow: UnitOfWork, ref: str | int) -> PackageTemplate:
    """A template by id or key."""
    column = PackageTemplate.id if isinstance(ref, int) else PackageTemplate.key
    template = await uow.session.scalar(select(PackageTemplate).where(column == ref))
    if template is None:
        raise NotFound(f"there is no package template {ref!r}")
    return template


async def templates_for_sale(uow: UnitOfWork) -> list[PackageTemplate]:
    """The templates patients may buy in chat (``online_purchase`` on), by name (RULES.md 1)."""
    stmt = (
        select(PackageTemplate)
        .where(PackageTemplate.online_purchase.is_(True))
        .order_by(PackageTemplate.name, PackageTemplate.id)
    )
    return list((await uow.session.scalars(stmt)).all())


async def package_invoices(uow: UnitOfWork, package_id: int) -> list[Invoice]:
    """The invoices for a package's price (one, or one per installment), first due first."""
    stmt = (
        select(Invoice)
        .where(Invoice.package_id == package_id, Invoice.kind.in_(billing.PRICE_KINDS))
        .order_by(Invoice.due_on, Invoice.installment_no, Invoice.id)
    )
    return list((await uow.session.scalars(stmt)).all())


# The rows of what a package covers, for code that copies them (booking reads ids: package_scope).
SCOPE_ROWS = (
    selectinload(PatientPackage.fees),
    selectinload(PatientPackage.practitioners),
    selectinload(PatientPackage.locations),
)


async def get_package(
    uow: UnitOfWork, package_id: int, *, lock: bool = False, scope_rows: bool = False
) -> PatientPackage:
    """A package by id, or NotFound. ``lock``: lock its row and re-read it; ``scope_rows``: with
    its fees, practitioners and locations loaded (also re-read)."""
    if lock or scope_rows:
        # Re-read the row: an object already in the session may hold older values.
        stmt = (select(PatientPackage).where(PatientPackage.id == package_id)
                .execution_options(populate_existing=True))
        if lock:
            stmt = stmt.with_for_update()
        if scope_rows:
            stmt = stmt.options(*SCOPE_ROWS)
        package = await uow.session.scalar(stmt)
    else:  # a package already read in this unit of work comes from its session
        package = await uow.session.get(PatientPackage, package_id)
    if package is None:
        raise NotFound(f"there is no package {package_id}")
    return package


def installment_amounts(price: Decimal, installments: int) -> list[Decimal]:
    """Equal parts in cents; the first part takes the odd cents so the sum is exact."""
    cents = int(to_money(price) * 100)
    base, rest = divmod(cents, installments)
    parts = [base] * installments
    parts[0] += rest
    return [Decimal(part) / 100 for part in parts]


async def sell_package(
    uow: UnitOfWork,
    patient_id: int,
    template_ref: str | int,
    *,
    online: bool = False,
    sold_by_staff_id: int | None = None,
    purchased_on: date | None = None,
    actor: audit.Actor | None = None,
) -> PatientPackage:
    """Sell a package: copy the template's terms onto the patient's package and invoice it.

    ``online`` purchases are refused for templates sold at the desk only. With installments,
    the first invoice is due on the purchase date and the others one month apart.
    """
    seen = await audit.watch(uow, actor, patient_id=patient_id)
    template = await get_template(uow, template_ref)
    if online and not template.online_purchase:
        raise NotAllowed(f"{template.name} is sold at the clinic's desk only")
    patient = await uow.session.get(Patient, patient_id)
    if patient is None or patient.merged_into_id is not None:
        raise NotFound(f"there is no patient {patient_id}")
    refuse_erased(patient)
    clinic = await get_clinic(uow)
    day = purchased_on or local_today(clinic, uow.clock.now())
    package = PatientPackage(
        patient_id=patient.id,
        template_id=template.id,
        name=template.name,
        price=template.price,
        patient_pays=template.patient_pays,
        installments=template.installments,
        uses=template.uses,
        redeemed=0,
        booked=0,
        available=template.uses,
        purchased_on=day,
        expires_on=day + timedelta(days=template.valid_days) if template.valid_days else None,
        paid_enough=template.price == Decimal("0"),
        sold_by_staff_id=sold_by_staff_id,
        created_at=uow.clock.now(),
        fees=list(template.fees),
        practitioners=list(template.practitioners),
        locations=list(template.locations),
    )
    receipts.set_up_sale(package, template)
    uow.session.add(package)
    await uow.session.flush()
    if template.price > 0:
        await _invoice_package(uow, package)
    await seen.record(
        "package.sell",
        package_id=package.id,
        summary=f"package {package.id} sold from template {template.id}",
    )
    return package


async def _invoice_package(uow: UnitOfWork, package: PatientPackage) -> None:
    parts = installment_amounts(package.price, package.installments)
    for number, amount in enumerate(parts, start=1):
        due = add_months(package.purchased_on, number - 1)
        single = len(parts) == 1
        await billing.create_invoice(
            uow,
            patient_id=package.patient_id,
            kind="package" if single else "installment",
            description=package.name if single else f"{package.name} ({number}/{len(parts)})",
            amount=amount,
            issued_on=due,
            due_on=due,
            package_id=package.id,
            installment_no=None if single else number,
        )


def check_applies(
    package: PatientPackage,
    scope: PackageScope,
    *,
    fee_id: int,
    practitioner_id: int,
    location_id: int,
    on: date,
) -> None:
    """Raise unless the package may cover this appointment (RULES.md 2, 4, 9)."""
    if package.refunded_at is not None:
        raise PackageEnded(f"{package.name} was refunded and can no longer be used")
    if not package.paid_enough:
        raise PackageNotPaid(f"{package.name} can be used once it is paid")
    if package.expires_on is not None and on > package.expires_on:
        raise PackageExpired(
            f"{package.name} expires on {{expires}}, before {{day}}",
            expires=package.expires_on, day=on,
        )
    if not scope.covers_fee(fee_id):
        raise PackageNotUsable(f"{package.name} does not cover this treatment")
    if not scope.covers_practitioner(practitioner_id):
        raise PackageNotUsable(f"{package.name} does not cover this practitioner")
    if not scope.covers_location(location_id):
        raise PackageNotUsable(f"{package.name} does not cover this location")


@functools.cache
def _move(source: str, target: str) -> Update:
    """The statement moving a use from counter ``source`` to ``target`` (built once per pair)."""
    table = cast(Table, PatientPackage.__table__)
    src, dst = table.c[source], table.c[target]
    return (update(table).where(table.c.id == bindparam("package"), src > 0)
            .values({src: src - 1, dst: dst + 1}).returning(table.c.id))


async def _move_use(
    uow: UnitOfWork, package_id: int, source: str, target: str
) -> bool:
    """Move one use from counter ``source`` to ``target`` if ``source`` has one (atomic)."""
    result = await uow.session.execute(_move(source, target), {"package": package_id})
    moved = result.first() is not None
    if moved:
        await _refresh(uow, package_id)
    return moved


async def _refresh(uow: UnitOfWork, package_id: int) -> None:
    package = await uow.session.get(PatientPackage, package_id)
    if package is not None:
        await uow.session.refresh(package, ["redeemed", "booked", "available"])


async def reserve_use(uow: UnitOfWork, package: PatientPackage, appointment: Appointment) -> None:
    """Link the package to the appointment and reserve one of its uses, or raise NoUsesLeft."""
    clinic = await get_clinic(uow)
    check_applies(
        package,
        await scope_of(uow, package.id),
        fee_id=appointment.fee_id,
        practitioner_id=appointment.practitioner_id,
        location_id=appointment.location_id,
        on=appointment.starts_at.astimezone(zone(clinic)).date(),
    )
    if package.patient_id != appointment.patient_id:
        raise NotAllowed("a package covers only its owner's appointments")
    await lock_appointment(uow, appointment.id)
    if appointment.package_id is not None:
        raise WrongState("this appointment already has a package; remove it first")
    if not await _move_use(uow, package.id, "available", "booked"):
        raise NoUsesLeft(f"{package.name} has no uses left")
    appointment.package_id = package.id
    appointment.package_use = "reserved"


async def release_use(uow: UnitOfWork, appointment: Appointment) -> None:
    """Unlink a reserved package use from the appointment and return it (RULES.md 6, 7)."""
    await lock_appointment(uow, appointment.id)
    if appointment.package_id is None:
        return
    if appointment.package_use != "reserved":
        raise WrongState("the package use was already redeemed; undo that first")
    if not await _move_use(uow, appointment.package_id, "booked", "available"):
        raise WrongState("the package's booked uses do not match; nothing was changed")
    appointment.package_id = None
    appointment.package_use = None


async def redeem_use(uow: UnitOfWork, appointment: Appointment, kind: str) -> PackageRedemption:
    """Redeem the appointment's reserved use and bill ``patient_pays`` for the session."""
    await lock_appointment(uow, appointment.id)
    if appointment.package_id is None or appointment.package_use != "reserved":
        raise WrongState("this appointment has no reserved package use to redeem")
    package = await get_package(uow, appointment.package_id)
    if package.refunded_at is not None:
        raise PackageEnded(f"{package.name} was refunded and can no longer be used")
    clinic = await get_clinic(uow)
    day = appointment.starts_at.astimezone(zone(clinic)).date()
    if package.expires_on is not None and day > package.expires_on:
        raise PackageExpired(
            f"{package.name} expired on {{expires}}; extend the expiry or remove the package "
            "from the appointment", expires=package.expires_on,
        )
    if not await _move_use(uow, package.id, "booked", "redeemed"):
        raise WrongState("the package's booked uses do not match; nothing was changed")
    invoice_id = None
    if package.patient_pays > 0:
        invoice = await billing.create_invoice(
            uow,
            patient_id=appointment.patient_id,
            kind="session",
            description=f"{package.name}: session",
            amount=package.patient_pays,
            issued_on=day,
            appointment_id=appointment.id,
        )
        invoice_id = invoice.id
    redemption = PackageRedemption(
        package_id=package.id,
        appointment_id=appointment.id,
        kind=kind,
        practitioner_id=appointment.practitioner_id,
        invoice_id=invoice_id,
        redeemed_at=uow.clock.now(),
    )
    uow.session.add(redemption)
    appointment.package_use = "redeemed"
    await uow.session.flush()
    await receipts.issue(uow, package, appointment, day)
    return redemption


async def unredeem_use(uow: UnitOfWork, appointment: Appointment) -> None:
    """Undo :func:`redeem_use`: the use is reserved again, the session invoice and the
    session's receipt (insurance-friendly packages) voided."""
    await lock_appointment(uow, appointment.id)
    if appointment.package_id is None or appointment.package_use != "redeemed":
        raise WrongState("this appointment has no redeemed package use to undo")
    redemption = await uow.session.scalar(
        select(PackageRedemption).where(PackageRedemption.appointment_id == appointment.id)
    )
    if redemption is None:
        raise WrongState("no redemption is recorded for this appointment")
    if redemption.invoice_id is not None:
        invoice = await billing.lock_invoice(uow, redemption.invoice_id)
        await billing.void_invoice(uow, invoice)
    if not await _move_use(uow, appointment.package_id, "redeemed", "booked"):
        raise WrongState("the package's redeemed uses do not match; nothing was changed")
    await receipts.void_for(uow, appointment.id)
    await uow.session.delete(redemption)
    appointment.package_use = "reserved"
    await uow.session.flush()


_APPOINTMENT_LOCKED = (  # built once: every booking, arrival and no-show locks one
    select(Appointment).where(Appointment.id == bindparam("id"))
    .with_for_update().execution_options(populate_existing=True)
)


async def lock_appointment(uow: UnitOfWork, appointment_id: int) -> Appointment:
    """The appointment, its row locked and re-read: arrivals, no-shows and their undos on it
    happen one after the other, each seeing what the one before did."""
    appointment = await uow.session.scalar(_APPOINTMENT_LOCKED, {"id": appointment_id})
    if appointment is None:
        raise NotFound(f"there is no appointment {appointment_id}")
    return appointment


async def restore_use(uow: UnitOfWork, appointment: Appointment, undoing: str) -> None:
    """:func:`unredeem_use` for an undo (``undoing``: "this arrival", ...), refused when the
    package was refunded since (its use cannot be booked again)."""
    if appointment.package_id is not None:
        package = await get_package(uow, appointment.package_id, lock=True)
        if package.refunded_at is not None:
            raise WrongState(
                f"{package.name} was refunded since; its use cannot be booked again, so "
                f"{undoing} cannot be undone"
            )
    await unredeem_use(uow, appointment)


async def record_imported_uses(uow: UnitOfWork, package: PatientPackage, count: int) -> None:
    """Record ``count`` uses redeemed before the package was imported (``clinicbot load``).

    Each moves one use from available to redeemed, like an arrival, but without an appointment
    or a session invoice (what was billed then is outside the bot).
    """
    for _ in range(count):
        if not await _move_use(uow, package.id, "available", "redeemed"):
            raise NoUsesLeft(f"{package.name} has no uses left to record as already used")
        uow.session.add(
            PackageRedemption(package_id=package.id, kind="imported", redeemed_at=uow.clock.now())
        )
    await uow.session.flush()
