"""A patient's credit: money the clinic holds for them (RULES.md 9), kept as a ledger.

Credit is never a stored number: it is the sum of the patient's :class:`CreditEntry` rows, each
written once with its ``source``. A refunded package (``refund``) and money received when
nothing, or less, was owed (``overpayment``, see :mod:`bot.services.payments`) add credit;
paying an invoice from it (``applied``, :func:`pay_from_credit`) records a payment of method
``credit`` and a negative entry in the same transaction; money handed back to the patient
(``paid_back``, :func:`pay_back`) is a negative entry too.

Spending is serialised per patient: :func:`pay_from_credit` locks the patient's row before it
reads the balance, so two desks (or two processes) paying from the same credit at once can
never spend more than there is; adding credit needs no lock (it can only make more).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, type_coerce

from bot.services import audit, billing
from bot.services.errors import AmountOutOfRange, NotFound, WrongState
from bot.storage.models import CreditEntry, Invoice, Patient, Payment
from bot.storage.types import Money, to_money
from bot.storage.uow import UnitOfWork

REFUND = "refund"
OVERPAYMENT = "overpayment"
APPLIED = "applied"
PAID_BACK = "paid_back"
SOURCES = (REFUND, OVERPAYMENT, APPLIED, PAID_BACK)
PAY_BACK_METHODS = ("cash", "card", "transfer", "cheque")
METHOD = "credit"  # the payment method of an invoice paid from credit


async def balance(uow: UnitOfWork, patient_id: int) -> Decimal:
    """The patient's credit now: the sum of their ledger entries."""
    total = await uow.session.scalar(
        select(type_coerce(func.coalesce(func.sum(CreditEntry.amount), 0), Money))
        .where(CreditEntry.patient_id == patient_id)
    )
    return to_money(total or 0)


async def entries(uow: UnitOfWork, patient_id: int) -> list[CreditEntry]:
    """The patient's ledger, oldest first."""
    rows = await uow.session.scalars(
        select(CreditEntry)
        .where(CreditEntry.patient_id == patient_id)
        .order_by(CreditEntry.created_at, CreditEntry.id)
    )
    return list(rows.all())


def add(
    uow: UnitOfWork,
    *,
    patient_id: int,
    amount: Decimal,
    source: str,
    reason: str,
    package_id: int | None = None,
    invoice_id: int | None = None,
    payment_id: int | None = None,
    external_id: str | None = None,
) -> CreditEntry:
    """Write one ledger entry (positive for refund/overpayment, negative for applied and
    paid_back)."""
    assert source in SOURCES
    entry = CreditEntry(
        patient_id=patient_id,
        amount=to_money(amount),
        source=source,
        reason=reason[:200],
        package_id=package_id,
        invoice_id=invoice_id,
        payment_id=payment_id,
        external_id=external_id,
        created_at=uow.clock.now(),
    )
    uow.session.add(entry)
    return entry


@dataclass(frozen=True)
class CreditPayment:
    """An invoice paid from credit: the payment, and the credit left afterwards."""

    payment: Payment
    invoice: Invoice
    left: Decimal


async def _lock_holder(uow: UnitOfWork, patient_id: int) -> None:
    """Take the patient's row lock: every spending of one credit waits for the one before."""
    found = await uow.session.scalar(
        select(Patient.id).where(Patient.id == patient_id).with_for_update()
    )
    if found is None:
        raise NotFound(f"there is no patient {patient_id}")


async def pay_back(
    uow: UnitOfWork, patient_id: int, amount: Decimal | None, *, method: str, by: str,
    actor: audit.Actor | None = None,
) -> tuple[CreditEntry, Decimal]:
    """Record credit handed back to the patient (``amount``, None: all of it) by ``method``;
    the entry and the credit left. Never more than the credit holds."""
    seen = await audit.watch(uow, actor, patient_id=patient_id)
    if method not in PAY_BACK_METHODS:
        raise AmountOutOfRange(
            f"credit is paid back by {', '.join(PAY_BACK_METHODS)}, not {method!r}")
    await _lock_holder(uow, patient_id)
    held = await balance(uow, patient_id)
    if held <= billing.ZERO:
        raise AmountOutOfRange(f"patient {patient_id} has no credit to pay back")
    amount = held if amount is None else to_money(amount)
    if amount <= billing.ZERO or amount > held:
        raise AmountOutOfRange(
            f"credit paid back must be more than 0 and at most the credit, {held}")
    entry = add(uow, patient_id=patient_id, amount=-amount, source=PAID_BACK,
                reason=f"paid back by {method} ({by})")
    await uow.session.flush()
    await seen.record("credit.pay_back", summary=f"credit paid back ({method})")
    return entry, held - amount


async def pay_from_credit(
    uow: UnitOfWork, invoice_id: int, amount: Decimal | None = None,
    *,
    actor: audit.Actor | None = None,
) -> CreditPayment:
    """Pay ``amount`` of an invoice from its patient's credit (None: as much as both allow).

    Never more than the invoice still owes, never more than the credit holds; the patient's row
    is locked first, so concurrent uses of one credit are taken one after the other.
    """
    seen = await audit.watch(uow, actor, invoice_id=invoice_id)
    patient_id = await uow.session.scalar(
        select(Invoice.patient_id).where(Invoice.id == invoice_id)
    )
    if patient_id is None:
        raise NotFound(f"there is no invoice {invoice_id}")
    await _lock_holder(uow, patient_id)
    invoice = await billing.lock_invoice(uow, invoice_id)
    if invoice.status != "open":
        raise WrongState(f"invoice {invoice.id} is {invoice.status}; nothing is owed on it")
    held = await balance(uow, patient_id)
    if held <= billing.ZERO:
        raise AmountOutOfRange(f"patient {patient_id} has no credit to pay invoice {invoice.id}")
    most = min(held, invoice.outstanding)
    amount = most if amount is None else to_money(amount)
    if amount <= billing.ZERO or amount > most:
        raise AmountOutOfRange(
            f"a payment from credit on invoice {invoice.id} must be more than 0 and at most "
            f"{most} (the invoice owes {invoice.outstanding}, the credit is {held})"
        )
    payment = await billing.record_payment(uow, invoice.id, amount, method=METHOD)
    add(
        uow, patient_id=patient_id, amount=-amount, source=APPLIED,
        reason=f"paid invoice {invoice.id} ({invoice.description})",
        invoice_id=invoice.id, payment_id=payment.id,
    )
    await uow.session.flush()
    await seen.record(
        "invoice.pay_from_credit",
        summary=f"payment {payment.id} from credit on invoice {invoice_id}",
    )
    return CreditPayment(payment, invoice, held - amount)


@dataclass(frozen=True)
class CreditHolder:
    """A patient the clinic holds credit for, and what they still owe on open invoices."""

    patient_id: int
    patient_name: str
    credit: Decimal
    owed: Decimal


async def holders(uow: UnitOfWork) -> list[CreditHolder]:
    """Every patient with credit (largest first): the credit report."""
    held = (
        select(CreditEntry.patient_id, func.sum(CreditEntry.amount).label("amount"))
        .group_by(CreditEntry.patient_id)
        .having(func.sum(CreditEntry.amount) > 0)
        .subquery()
    )
    owed = (
        select(Invoice.patient_id, func.sum(Invoice.amount - Invoice.paid).label("amount"))
        .where(Invoice.status == "open")
        .group_by(Invoice.patient_id)
        .subquery()
    )
    rows = await uow.session.execute(
        select(
            Patient.id, Patient.first_name, Patient.last_name,
            type_coerce(held.c.amount, Money),
            type_coerce(func.coalesce(owed.c.amount, 0), Money),
        )
        .join(held, held.c.patient_id == Patient.id)
        .outerjoin(owed, owed.c.patient_id == Patient.id)
        .order_by(held.c.amount.desc(), Patient.id)
    )
    return [
        CreditHolder(pid, f"{first} {last}", to_money(credit), to_money(due))
        for pid, first, last, credit, due in rows.tuples()
    ]
