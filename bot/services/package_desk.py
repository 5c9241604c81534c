"""What the staff console reads to sell, show, pay and change packages (issue 17).

Reads only: the writes are :func:`bot.services.packages.sell_package`,
:func:`bot.services.billing.record_payment`, :func:`bot.services.credit.pay_from_credit` and
:mod:`bot.services.package_admin`, the same functions as ``clinicbot staff``.

* :func:`desk_templates` -- every package template of the set-up file (the desk sells those
  patients may not buy online too), with what each covers.
* :func:`package_page` -- one package as RULES.md 11 describes it, with its owner, invoices,
  payments, refund, transfers and the family its uses may move to.
* :func:`refund_preview` -- the figures of a refund before it is made (RULES.md 9).
* :func:`invoice_page` -- one invoice to pay, its patient and their credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from bot.services import billing, credit, package_admin, package_views, packages, receipts
from bot.services.errors import NotFound, WrongState
from bot.storage.models import (
    Appointment,
    Invoice,
    PackageTemplate,
    Patient,
    PatientPackage,
    Payment,
)
from bot.storage.uow import UnitOfWork


async def desk_templates(uow: UnitOfWork) -> list[PackageTemplate]:
    """Every package template, by name, with its fees, practitioners and locations loaded."""
    stmt = select(PackageTemplate).order_by(PackageTemplate.name, PackageTemplate.id)
    return list((await uow.session.scalars(stmt)).all())


@dataclass(frozen=True)
class Transfer:
    """Uses moved out of a package to a family member's new package."""

    package_id: int
    patient_id: int
    patient_name: str
    uses: int


@dataclass(frozen=True)
class PackagePage:
    """A package for its console page."""

    details: package_views.PackageDetails
    owner: Patient
    template_name: str | None
    patient_pays: Decimal
    refunded_at: datetime | None
    invoices: list[Invoice]
    payments: list[Payment]
    transfers: list[Transfer]
    family: list[Patient]
    suggested_refund: Decimal | None  # None: already refunded
    receipts: list[receipts.ReceiptLine] | None = None  # None: not insurance-friendly


async def _patient(uow: UnitOfWork, patient_id: int) -> Patient:
    found = await uow.session.get(Patient, patient_id)
    if found is None or found.merged_into_id is not None:
        raise NotFound(f"there is no patient {patient_id}")
    return found


async def family(uow: UnitOfWork, owner_id: int) -> list[Patient]:
    """The patients a package's uses may be transferred to (RULES.md 10), by name."""
    ids = await package_admin.family_ids(uow, owner_id)
    if not ids:
        return []
    stmt = (select(Patient).where(Patient.id.in_(ids), Patient.merged_into_id.is_(None))
            .order_by(Patient.first_name, Patient.last_name, Patient.id))
    return list((await uow.session.scalars(stmt)).all())


async def package_page(uow: UnitOfWork, package_id: int) -> PackagePage:
    """Everything the package's page shows (NotFound for an unknown package)."""
    package = await packages.get_package(uow, package_id)
    details = await package_views.package_details(uow, package_id)
    owner = await uow.session.get(Patient, package.patient_id)
    assert owner is not None  # a foreign key
    template = (await uow.session.get(PackageTemplate, package.template_id)
                if package.template_id is not None else None)
    invoices = await packages.package_invoices(uow, package_id)
    payments = list((await uow.session.scalars(
        select(Payment).join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.package_id == package_id, Invoice.kind.in_(billing.PRICE_KINDS))
        .order_by(Payment.received_at, Payment.id))).all())
    moved = await uow.session.execute(
        select(PatientPackage.id, PatientPackage.patient_id, PatientPackage.uses, Patient)
        .join(Patient, Patient.id == PatientPackage.patient_id)
        .where(PatientPackage.transferred_from_id == package_id)
        .order_by(PatientPackage.id))
    transfers = [Transfer(gift_id, patient_id, holder.full_name, uses)
                 for gift_id, patient_id, uses, holder in moved.tuples()]
    return PackagePage(
        details=details, owner=owner, template_name=template.name if template else None,
        patient_pays=package.patient_pays, refunded_at=package.refunded_at, invoices=invoices,
        payments=payments, transfers=transfers, family=await family(uow, owner.id),
        suggested_refund=None if package.refunded_at is not None
        else await package_admin.suggested_refund(uow, package_id),
        receipts=await receipts.receipts_of(uow, package_id, with_voided=True)
        if package.insurance_friendly else None)


@dataclass(frozen=True)
class RefundPreview:
    """What a refund would do: the amount allowed and suggested, the uses and invoices."""

    package_id: int
    name: str
    owner: Patient
    collected: Decimal
    suggested: Decimal
    redeemed: int
    booked: int
    available: int
    released: list[int]  # appointments that would lose the package (their uses return)
    settled: list[int]  # open invoices that would be owed no more
    insurance_friendly: bool = False  # suggested: collected and not yet receipted


async def refund_preview(uow: UnitOfWork, package_id: int) -> RefundPreview:
    """The figures :func:`bot.services.package_admin.refund` would act on; WrongState when
    the package was already refunded."""
    package = await packages.get_package(uow, package_id)
    if package.refunded_at is not None:
        raise WrongState(f"{package.name} was already refunded ({package.refund_amount})")
    released = (await uow.session.scalars(
        select(Appointment.id)
        .where(Appointment.package_id == package_id, Appointment.package_use == "reserved")
        .order_by(Appointment.starts_at, Appointment.id))).all()
    settled = (await uow.session.scalars(
        select(Invoice.id)
        .where(Invoice.package_id == package_id, Invoice.kind.in_(billing.PRICE_KINDS),
               Invoice.status == "open")
        .order_by(Invoice.id))).all()
    return RefundPreview(
        package_id=package.id, name=package.name, owner=await _patient(uow, package.patient_id),
        collected=await billing.package_collected(uow, package.id),
        suggested=await package_admin.suggested_refund(uow, package.id),
        redeemed=package.redeemed, booked=package.booked, available=package.available,
        released=list(released), settled=list(settled),
        insurance_friendly=package.insurance_friendly)


@dataclass(frozen=True)
class InvoicePage:
    """An invoice to pay, its patient, and the credit that could pay it."""

    invoice: Invoice
    patient: Patient
    credit: Decimal


async def invoice_page(uow: UnitOfWork, invoice_id: int) -> InvoicePage:
    """The invoice (NotFound for an unknown one), its patient and their credit balance."""
    invoice = await uow.session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"there is no invoice {invoice_id}")
    patient = await uow.session.get(Patient, invoice.patient_id)
    assert patient is not None  # a foreign key
    return InvoicePage(invoice, patient, await credit.balance(uow, patient.id))
