"""What the desk does with a sold package (RULES.md 5, 9, 10, 11).

* :func:`change_expiry`: change or clear the expiry (RULES.md 5). Shortening it before an
  appointment the package already covers is refused, naming that appointment: remove the
  package from it first, or pick a later date.
* :func:`refund` / :func:`suggested_refund` (RULES.md 9): the refund ends the package, every
  reserved use goes back (the appointments keep their times but lose the package; staff are
  told), the package's open invoices are settled (nothing more is owed for it: what was paid
  stays recorded, the rest is voided), and the amount becomes the patient's credit.
* :func:`transfer` (RULES.md 10): available uses move to a family member's new package with the
  same terms; the two packages' uses add up to what the source had.

What a package is and covered (RULES.md 11) is read by :mod:`bot.services.package_views`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, select, update

from bot.services import audit, billing, credit, outbox, packages, receipts
from bot.services.clinic import get_clinic, local_today, zone
from bot.services.errors import (
    AmountOutOfRange,
    InvalidInput,
    NotAllowed,
    NotFound,
    NoUsesLeft,
    PackageEnded,
    PackageExpired,
    PackageNotPaid,
    PastExpiry,
    WrongState,
)
from bot.storage.models import (
    Appointment,
    Invoice,
    Patient,
    PatientPackage,
    Staff,
    guardianship,
)
from bot.storage.types import to_money
from bot.storage.uow import UnitOfWork

STAFF_TOLD_OF_REFUNDS = ("reception", "manager")


async def change_expiry(
    uow: UnitOfWork, package_id: int, new_date: date | None,
    *,
    actor: audit.Actor | None = None,
) -> PatientPackage:
    """Set the package's expiry to ``new_date``, or clear it (None: no expiry)."""
    package = await packages.get_package(uow, package_id, lock=True)
    seen = await audit.watch(uow, actor, package_id=package_id)
    if package.refunded_at is not None:
        raise PackageEnded(f"{package.name} was refunded; its expiry no longer matters")
    if new_date is not None:
        if new_date < package.purchased_on:
            raise InvalidInput(
                "the expiry cannot be before the purchase date ({purchased})",
                purchased=package.purchased_on,
            )
        clinic = await get_clinic(uow)
        for appointment in await _reserved_appointments(uow, package.id):
            day = appointment.starts_at.astimezone(zone(clinic)).date()
            if day > new_date:
                raise PastExpiry(
                    f"appointment {appointment.id} on {{starts}} uses {package.name} after "
                    "{expiry}; remove the package from it or choose a date on or after {day}",
                    zone=zone(clinic), starts=appointment.starts_at, expiry=new_date, day=day,
                )
    package.expires_on = new_date
    await uow.session.flush()
    await seen.record(
        "package.expiry", summary=f"package {package.id} expires {new_date or 'never'}",
    )
    return package


async def suggested_refund(uow: UnitOfWork, package_id: int) -> Decimal:
    """price / uses x (uses not redeemed), at most what was collected (an insurance-friendly
    package: what was collected and not receipted nor transferred, see
    :mod:`bot.services.receipts`).

    ``uses`` is the number the package was sold with: uses transferred out since still count
    (they were paid with this price), so a transfer never inflates the price of a use.
    """
    package = await packages.get_package(uow, package_id)
    if package.insurance_friendly:
        return await receipts.suggested_refund(uow, package)
    sold_uses = package.uses + await _uses_transferred_out(uow, package.id)
    if sold_uses == 0:
        return billing.ZERO
    suggested = to_money(package.price * (package.uses - package.redeemed) / sold_uses)
    return min(suggested, await billing.package_collected(uow, package.id))


async def refund(
    uow: UnitOfWork, package_id: int, amount: Decimal | None = None, *, by: str,
    actor: audit.Actor | None = None,
) -> PatientPackage:
    """Refund a package (``amount`` None: the suggested amount; ``by``: who refunded it).

    Allowed amounts run from 0 to what was collected. Afterwards the package covers nothing:
    every appointment holding a reserved use of it loses the package (the use returns), staff
    with role reception or manager are told, the package's open invoices are settled (a
    refunded package is owed no more: what was paid on them stays, the rest is voided), and
    the amount is credited to the owner (a ``refund`` entry of the credit ledger).
    """
    package = await packages.get_package(uow, package_id, lock=True)
    seen = await audit.watch(uow, actor, package_id=package_id)
    if package.refunded_at is not None:
        clinic = await get_clinic(uow)
        raise WrongState(
            f"{package.name} was already refunded ({package.refund_amount}) on {{refunded}}",
            refunded=local_today(clinic, package.refunded_at),
        )
    collected = await billing.package_collected(uow, package.id)
    amount = await suggested_refund(uow, package.id) if amount is None else to_money(amount)
    if amount < billing.ZERO or amount > collected:
        raise AmountOutOfRange(
            f"a refund of {package.name} must be from 0.00 to {collected} (what was collected)"
        )
    now = uow.clock.now()
    package.refunded_at = now
    package.refund_amount = amount
    released = []
    for appointment in await _reserved_appointments(uow, package.id):
        await packages.release_use(uow, appointment)
        released.append(appointment.id)
    open_invoices = await uow.session.scalars(
        select(Invoice)
        .where(
            Invoice.package_id == package.id,
            Invoice.kind.in_(billing.PRICE_KINDS),
            Invoice.status == "open",
        )
        .with_for_update()
    )
    for invoice in open_invoices.all():
        billing.settle_invoice(invoice)
    if amount > billing.ZERO:
        credit.add(
            uow, patient_id=package.patient_id, amount=amount, source=credit.REFUND,
            reason=f"refund of {package.name}", package_id=package.id,
        )
    await receipts.close_on_refund(
        uow, package, amount, local_today(await get_clinic(uow), now))
    await _tell_staff(uow, package, amount, released, by)
    await uow.session.flush()
    await seen.record("package.refund", summary=f"package {package.id} refunded")
    return package


async def transfer(
    uow: UnitOfWork, package_id: int, to_patient_id: int, uses: int, *, by: str,
    actor: audit.Actor | None = None,
) -> PatientPackage:
    """Move ``uses`` available uses to a family member's new package; return that package.

    Family: the owner's wards, the owner's guardians, and patients sharing a guardian with the
    owner. The new package has the same terms (name, expiry, fees, practitioners, locations,
    ``patient_pays``), costs nothing and is usable at once; the source's ``uses`` and
    ``available`` drop by ``uses``. ``by``: who transferred them.
    """
    source = await packages.get_package(uow, package_id, lock=True, scope_rows=True)
    seen = await audit.watch(uow, actor, package_id=package_id)
    if source.refunded_at is not None:
        raise PackageEnded(f"{source.name} was refunded; its uses cannot be transferred")
    if not source.paid_enough:
        raise PackageNotPaid(f"{source.name} can be transferred once it is paid")
    clinic = await get_clinic(uow)
    today = local_today(clinic, uow.clock.now())
    if source.expires_on is not None and today > source.expires_on:
        raise PackageExpired(
            f"{source.name} expired on {source.expires_on.isoformat()}; extend the expiry to "
            "transfer its uses"
        )
    if source.available == 0:
        raise NoUsesLeft(f"{source.name} has no available uses to transfer")
    if not 1 <= uses <= source.available:
        raise InvalidInput(
            f"transfer from 1 to {source.available} uses (what {source.name} has available)"
        )
    recipient = await _patient(uow, to_patient_id)
    if recipient.id not in await family_ids(uow, source.patient_id):
        raise NotAllowed(
            f"uses can be transferred only to the owner's family (wards, guardians, or "
            f"patients sharing a guardian); patient {recipient.id} is not family"
        )
    table = cast(Table, PatientPackage.__table__)
    moved = await uow.session.execute(
        update(table)
        .where(table.c.id == source.id, table.c.available >= uses)
        .values(uses=table.c.uses - uses, available=table.c.available - uses)
        .returning(table.c.id)
    )
    if moved.first() is None:
        raise NoUsesLeft(f"{source.name} no longer has {uses} uses available")
    await uow.session.refresh(source, ["uses", "redeemed", "booked", "available"])
    gift = PatientPackage(
        patient_id=recipient.id,
        template_id=source.template_id,
        name=source.name,
        price=billing.ZERO,
        patient_pays=source.patient_pays,
        installments=1,
        uses=uses,
        redeemed=0,
        booked=0,
        available=uses,
        purchased_on=today,
        expires_on=source.expires_on,
        paid_enough=True,
        transferred_from_id=source.id,
        created_at=uow.clock.now(),
        fees=list(source.fees),
        practitioners=list(source.practitioners),
        locations=list(source.locations),
    )
    await receipts.carry_over(uow, source, gift, uses)
    uow.session.add(gift)
    await uow.session.flush()
    await seen.record(
        "package.transfer",
        summary=f"{uses} uses of package {package_id} moved to package {gift.id}",
    )
    return gift


async def _reserved_appointments(uow: UnitOfWork, package_id: int) -> list[Appointment]:
    """Appointments holding a reserved (not yet redeemed) use of the package, locked."""
    stmt = (
        select(Appointment)
        .where(Appointment.package_id == package_id, Appointment.package_use == "reserved")
        .order_by(Appointment.starts_at, Appointment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await uow.session.scalars(stmt)).all())


async def _uses_transferred_out(uow: UnitOfWork, package_id: int) -> int:
    """The uses of every package transferred (directly or onward) from this one."""
    total, frontier = 0, [package_id]
    while frontier:
        children = (
            await uow.session.execute(
                select(PatientPackage.id, PatientPackage.uses).where(
                    PatientPackage.transferred_from_id.in_(frontier)
                )
            )
        ).all()
        total += sum(uses for _, uses in children)
        frontier = [child_id for child_id, _ in children]
    return total


async def _patient(uow: UnitOfWork, patient_id: int) -> Patient:
    patient = await uow.session.get(Patient, patient_id)
    if patient is None or patient.merged_into_id is not None:
        raise NotFound(f"there is no patient {patient_id}")
    return patient


async def family_ids(uow: UnitOfWork, owner_id: int) -> set[int]:
    """The owner's wards, guardians, and the other wards of those guardians."""
    link = guardianship.c
    guardians = select(link.guardian_id).where(link.ward_id == owner_id)
    rows = await uow.session.scalars(
        select(link.ward_id)
        .where(link.guardian_id == owner_id)
        .union(guardians, select(link.ward_id).where(link.guardian_id.in_(guardians)))
    )
    return set(rows.all()) - {owner_id}


async def _tell_staff(
    uow: UnitOfWork, package: PatientPackage, amount: Decimal, released: list[int], by: str
) -> None:
    staff = await uow.session.scalars(
        select(Staff).where(Staff.role.in_(STAFF_TOLD_OF_REFUNDS), Staff.active.is_(True))
        .order_by(Staff.id)
    )
    for member in staff.all():
        await outbox.enqueue(
            uow,
            purpose=f"refund:{package.id}:staff:{member.id}",
            kind="package_refunded",
            params={
                "package_id": package.id,
                "patient_id": package.patient_id,
                "amount": str(amount),
                "appointment_ids": released,
                "by": by,
            },
            staff_id=member.id,
        )
