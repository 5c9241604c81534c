"""Money a payment provider took for an invoice: always recorded, exactly once per charge.

A provider (Telegram Payments) tells us a charge succeeded after the patient has paid, whatever
happened to the invoice meanwhile: a second device paid it too, or the desk recorded a payment
between the pre-checkout and the charge. :func:`receive` records every such charge once, by the
provider's charge id: what the invoice still owes is paid on it, and the rest (all of it when
nothing is owed any more, or the invoice was voided) becomes the patient's credit
(:mod:`bot.services.credit`, source ``overpayment``), and staff who handle money are alerted
(outbox kind ``payment_credited``) to apply it to another invoice or pay it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from bot.services import billing, credit, outbox
from bot.services.errors import AmountOutOfRange
from bot.services.staff import all_staff
from bot.storage.models import CreditEntry, Invoice, Payment
from bot.storage.types import to_money
from bot.storage.uow import UnitOfWork

PAYMENT_CREDITED = "payment_credited"
# Who hears of money kept as credit: the roles told of refunds, and anyone taking unpaid alerts.
MONEY_ROLES = ("reception", "manager")
MONEY_ALERT = "unpaid"


@dataclass(frozen=True)
class Receipt:
    """What a charge became: ``applied`` on the invoice, ``credited`` to the patient.

    ``again``: the charge was recorded before (a redelivery); nothing new was written.
    """

    invoice: Invoice
    applied: Decimal
    credited: Decimal
    again: bool = False

    @property
    def received(self) -> Decimal:
        return self.applied + self.credited


async def receive(
    uow: UnitOfWork, invoice_id: int, amount: Decimal, *, method: str, external_id: str
) -> Receipt:
    """Record ``amount`` received by ``method`` for an invoice, once per ``external_id``."""
    amount = to_money(amount)
    if amount <= billing.ZERO:
        raise AmountOutOfRange(f"a {method} payment of {amount} cannot be recorded")
    # The invoice's lock makes every delivery of one charge (same invoice) take turns, so the
    # look-up below sees what an earlier delivery committed.
    invoice = await billing.lock_invoice(uow, invoice_id)
    earlier = await _earlier(uow, invoice, external_id)
    if earlier is not None:
        return earlier
    applied = min(amount, invoice.outstanding) if invoice.status == "open" else billing.ZERO
    payment = None
    if applied > billing.ZERO:
        payment = await billing.record_payment(
            uow, invoice.id, applied, method=method, external_id=external_id
        )
    credited = amount - applied
    if credited > billing.ZERO:
        owed = "nothing" if applied == billing.ZERO else str(applied)
        entry = credit.add(
            uow, patient_id=invoice.patient_id, amount=credited, source=credit.OVERPAYMENT,
            reason=f"{method} payment of {amount} on invoice {invoice.id} when {owed} was owed",
            invoice_id=invoice.id, payment_id=payment.id if payment else None,
            external_id=external_id,
        )
        await uow.session.flush()
        await _tell_staff(uow, entry, invoice, amount, method)
    await uow.session.flush()
    return Receipt(invoice, applied, credited)


async def _earlier(uow: UnitOfWork, invoice: Invoice, external_id: str) -> Receipt | None:
    paid = await uow.session.scalar(select(Payment).where(Payment.external_id == external_id))
    kept = await uow.session.scalar(
        select(CreditEntry).where(CreditEntry.external_id == external_id)
    )
    if paid is None and kept is None:
        return None
    return Receipt(
        invoice,
        paid.amount if paid else billing.ZERO,
        kept.amount if kept else billing.ZERO,
        again=True,
    )


async def _tell_staff(
    uow: UnitOfWork, entry: CreditEntry, invoice: Invoice, amount: Decimal, method: str
) -> None:
    for member in await all_staff(uow):
        if member.role not in MONEY_ROLES and MONEY_ALERT not in (member.alerts or []):
            continue
        await outbox.enqueue(
            uow,
            purpose=f"credit:{entry.id}:staff:{member.id}",
            kind=PAYMENT_CREDITED,
            params={
                "credit_entry_id": entry.id,
                "invoice_id": invoice.id,
                "patient_id": invoice.patient_id,
                "received": str(amount),
                "credited": str(entry.amount),
                "method": method,
            },
            staff_id=member.id,
        )
