"""Invoices and payments (RULES.md 2, 9): recording money, and what a package has collected."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, func, select

from bot.services import audit
from bot.services.errors import AmountOutOfRange, NotFound, WrongState
from bot.storage.models import Invoice, PatientPackage, Payment
from bot.storage.types import to_money
from bot.storage.uow import UnitOfWork

ZERO = Decimal("0.00")
PRICE_KINDS = ("package", "installment")  # the invoices for a package's price
PAYMENT_METHODS = ("desk", "card", "cash", "cheque")  # how staff record money received


async def create_invoice(
    uow: UnitOfWork,
    *,
    patient_id: int,
    kind: str,
    description: str,
    amount: Decimal,
    issued_on: date,
    due_on: date | None = None,
    **links: object,
) -> Invoice:
    """Add an open invoice (``links``: package_id, installment_no, membership_id, ...)."""
    invoice = Invoice(
        patient_id=patient_id,
        kind=kind,
        description=description,
        amount=to_money(amount),
        paid=ZERO,
        status="open",
        issued_on=issued_on,
        due_on=due_on or issued_on,
        created_at=uow.clock.now(),
        **links,
    )
    uow.session.add(invoice)
    await uow.session.flush()
    return invoice


async def lock_invoice(uow: UnitOfWork, invoice_id: int) -> Invoice:
    invoice = await uow.session.scalar(
        select(Invoice).where(Invoice.id == invoice_id).with_for_update()
    )
    if invoice is None:
        raise NotFound(f"there is no invoice {invoice_id}")
    return invoice


async def record_payment(
    uow: UnitOfWork,
    invoice_id: int,
    amount: Decimal,
    *,
    method: str = "desk",
    external_id: str | None = None,
    actor: audit.Actor | None = None,
) -> Payment:
    """Record money received against an invoice; a package becomes usable once paid enough.

    With ``external_id`` (a provider's charge id) the same payment delivered twice is recorded
    once: the second call returns the first payment.
    """
    seen = await audit.watch(uow, actor, invoice_id=invoice_id)
    if external_id is not None:
        existing = await uow.session.scalar(
            select(Payment).where(Payment.external_id == external_id)
        )
        if existing is not None:
            return existing
    invoice = await lock_invoice(uow, invoice_id)
    amount = to_money(amount)
    if invoice.status == "void":
        raise WrongState(f"invoice {invoice.id} is void; nothing can be paid on it")
    if invoice.status == "paid":
        raise WrongState(f"invoice {invoice.id} is already paid in full")
    if amount <= ZERO or amount > invoice.outstanding:
        raise AmountOutOfRange(
            f"a payment on invoice {invoice.id} must be more than 0 and at most "
            f"{invoice.outstanding} (what is still owed)"
        )
    invoice.paid = invoice.paid + amount
    if invoice.paid == invoice.amount:
        invoice.status = "paid"  # its reminder cursor goes with the flush (models.billing)
    payment = Payment(
        invoice_id=invoice.id,
        patient_id=invoice.patient_id,
        amount=amount,
        method=method,
        external_id=external_id,
        received_at=uow.clock.now(),
    )
    uow.session.add(payment)
    if invoice.package_id is not None and invoice.status == "paid":
        await _mark_package_paid(uow, invoice)
    await uow.session.flush()
    await seen.record(
        "invoice.pay", summary=f"payment {payment.id} ({method}) on invoice {invoice_id}",
    )
    return payment


async def _mark_package_paid(uow: UnitOfWork, invoice: Invoice) -> None:
    # RULES.md 2: usable once paid; with installments, once the first installment is paid.
    if invoice.kind == "package" or (invoice.kind == "installment" and invoice.installment_no == 1):
        package = await uow.session.get(PatientPackage, invoice.package_id)
        if package is not None:
            package.paid_enough = True


async def void_invoice(uow: UnitOfWork, invoice: Invoice) -> None:
    """Cancel an invoice nothing was paid on (undo of a charge)."""
    if invoice.paid > ZERO:
        raise WrongState(
            f"invoice {invoice.id} already has {invoice.paid} paid; refund it at the desk first"
        )
    invoice.status = "void"


def settle_invoice(invoice: Invoice) -> None:
    """Close an open invoice whose rest is not owed any more (its package was refunded).

    It becomes void: what was paid on it stays recorded (``paid``), nothing is outstanding.
    """
    if invoice.status == "open":
        invoice.status = "void"


async def package_collected(uow: UnitOfWork, package_id: int) -> Decimal:
    """What the clinic has collected for a package's price (its package/installment invoices)."""
    return (await packages_collected(uow, [package_id]))[package_id]


_COLLECTED = (  # built once: "My packages" asks in every conversation
    select(Invoice.package_id, func.sum(Payment.amount))
    .join(Invoice, Invoice.id == Payment.invoice_id)
    .where(Invoice.package_id.in_(bindparam("ids", expanding=True)),
           Invoice.kind.in_(PRICE_KINDS))
    .group_by(Invoice.package_id)
)


async def packages_collected(uow: UnitOfWork, package_ids: list[int]) -> dict[int, Decimal]:
    """:func:`package_collected` for several packages, in one query."""
    rows = await uow.session.execute(_COLLECTED, {"ids": package_ids})
    collected = {package_id: to_money(total or 0) for package_id, total in rows.tuples()}
    return {package_id: collected.get(package_id, ZERO) for package_id in package_ids}


async def open_invoices_for_appointment(uow: UnitOfWork, appointment_id: int) -> list[Invoice]:
    """The open invoices an appointment produced (session price, no-show fee), oldest first."""
    return list(
        (
            await uow.session.scalars(
                select(Invoice)
                .where(Invoice.appointment_id == appointment_id, Invoice.status == "open")
                .order_by(Invoice.id)
            )
        ).all()
    )
