"""Patient credit (RULES.md 9) and provider payments that find nothing owed, on both databases.

A refund settles the package's open invoices and becomes a ``refund`` entry of the credit
ledger; paying an invoice from credit writes a ``credit`` payment and an ``applied`` entry,
never more than the invoice owes or the credit holds, also when many desks spend one credit at
once. A provider charge (Telegram) is recorded once per charge id whatever the invoice's state:
what is owed is paid, the rest is ``overpayment`` credit and staff are alerted.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.services import billing, credit, invoices, package_admin, packages, payments, reports
from bot.services.clinic import get_clinic
from bot.services.errors import AmountOutOfRange, WrongState
from bot.storage.models import CreditEntry, Invoice, OutboxMessage, Payment, Staff
from tests.integration._builders import patient

pytestmark = pytest.mark.usefixtures("clinic")
D = Decimal
TIMEOUT = 120  # seconds for a race: a hang fails the test instead of stalling it


async def _sell(uow, who: str, template: str = "physio-5") -> tuple[int, Invoice]:
    """A package sold to ``who``; its (first) invoice."""
    owner = await patient(uow, who)
    package = await packages.sell_package(uow, owner.id, template)
    [first, *_] = await packages.package_invoices(uow, package.id)
    return package.id, first


async def _ledger(uow, who: str) -> list[tuple[str, Decimal]]:
    owner = await patient(uow, who)
    return [(e.source, e.amount) for e in await credit.entries(uow, owner.id)]


async def test_a_refund_settles_the_part_paid_invoice_and_becomes_visible_credit(make_uow, clock):
    """The issue's case: $400 sold, $200 paid, refunded: nothing owed, $200 credit."""
    async with make_uow() as uow:
        package_id, invoice = await _sell(uow, "sofia")
        await billing.record_payment(uow, invoice.id, D("200.00"))
        await package_admin.refund(uow, package_id, by="desk")
        await uow.commit()
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        invoice = await uow.session.get(Invoice, invoice.id)
        assert (invoice.status, invoice.paid, invoice.outstanding) == ("void", D("200.00"), 0)
        today = clock.now().date()
        assert invoice.id not in [i.id for i in await invoices.unpaid_invoices(uow, today)]
        assert invoice.id not in [r.invoice_id for r in (await reports.unpaid(uow)).rows]
        assert await credit.balance(uow, sofia.id) == D("200.00")
        [entry] = await credit.entries(uow, sofia.id)
        assert (entry.source, entry.amount, entry.package_id) == ("refund", D("200.00"), package_id)
        [holder] = [h for h in await credit.holders(uow) if h.patient_id == sofia.id]
        assert (holder.credit, holder.patient_name) == (D("200.00"), "Sofía Ramírez")
        sales = await reports.package_sales(uow, today, today)
        [row] = [r for r in sales.rows if r.package_id == package_id]
        assert (row.collected, row.outstanding, row.refunded) == (D("200.00"), 0, D("200.00"))


async def test_credit_pays_an_invoice_never_more_than_owed_or_held(make_uow):
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        first_id, first = await _sell(uow, "sofia")
        await billing.record_payment(uow, first.id, D("250.00"))
        await package_admin.refund(uow, first_id, D("250.00"), by="desk")
        _, second = await _sell(uow, "sofia")  # 400.00 owed
        with pytest.raises(AmountOutOfRange, match=r"at most 250\.00"):
            await credit.pay_from_credit(uow, second.id, D("250.01"))
        paid = await credit.pay_from_credit(uow, second.id, D("100.00"))
        assert (paid.payment.method, paid.payment.amount, paid.left) == (
            "credit", D("100.00"), D("150.00"))
        paid = await credit.pay_from_credit(uow, second.id)  # the rest of the credit
        assert (paid.payment.amount, paid.left, second.outstanding) == (
            D("150.00"), D("0.00"), D("150.00"))
        with pytest.raises(AmountOutOfRange, match="no credit"):
            await credit.pay_from_credit(uow, second.id)
        await billing.record_payment(uow, second.id, D("150.00"))
        with pytest.raises(WrongState, match="is paid"):
            await credit.pay_from_credit(uow, second.id)
        assert await _ledger(uow, "sofia") == [
            ("refund", D("250.00")), ("applied", D("-100.00")), ("applied", D("-150.00"))]
        assert await credit.balance(uow, sofia.id) == D("0.00")
        applied = (await uow.session.scalars(
            select(CreditEntry.payment_id).where(CreditEntry.source == "applied"))).all()
        methods = (await uow.session.scalars(
            select(Payment.method).where(Payment.id.in_(applied)))).all()
        assert methods == ["credit", "credit"]


async def test_a_credit_smaller_than_the_invoice_pays_part_and_the_rest_stays_owed(make_uow):
    async with make_uow() as uow:
        first_id, first = await _sell(uow, "sofia")
        await billing.record_payment(uow, first.id, D("400.00"))
        await package_admin.refund(uow, first_id, D("30.00"), by="desk")
        _, second = await _sell(uow, "sofia")
        paid = await credit.pay_from_credit(uow, second.id)
        assert (paid.payment.amount, second.status, second.outstanding) == (
            D("30.00"), "open", D("370.00"))


async def test_many_desks_spending_one_credit_at_once_never_overspend_it(make_uow):
    """A real race: six units of work pay six invoices from one 250.00 credit at once."""
    async with make_uow() as uow:
        first_id, first = await _sell(uow, "sofia")
        await billing.record_payment(uow, first.id, D("400.00"))
        await package_admin.refund(uow, first_id, D("250.00"), by="desk")
        sofia = await patient(uow, "sofia")
        targets = []
        for _ in range(6):
            invoice = await billing.create_invoice(
                uow, patient_id=sofia.id, kind="session", description="Physio follow-up",
                amount=D("100.00"), issued_on=first.issued_on)
            targets.append(invoice.id)
        await uow.commit()
    barrier = asyncio.Barrier(len(targets))

    async def spend(invoice_id: int) -> object:
        async with make_uow() as uow:
            if uow.dialect == "postgresql":
                await credit.balance(uow, sofia.id)  # inside a transaction before anyone pays
            await barrier.wait()
            paid = await credit.pay_from_credit(uow, invoice_id)
            await uow.commit()
            return paid.payment.amount

    results = await asyncio.wait_for(
        asyncio.gather(*(spend(i) for i in targets), return_exceptions=True), TIMEOUT)
    spent = [r for r in results if isinstance(r, Decimal)]
    refused = [r for r in results if not isinstance(r, Decimal)]
    assert sorted(spent) == [D("50.00"), D("100.00"), D("100.00")], results
    assert all(isinstance(r, AmountOutOfRange) for r in refused), refused
    async with make_uow() as uow:
        assert await credit.balance(uow, sofia.id) == D("0.00")
        total = await uow.session.scalar(
            select(func.count()).select_from(Payment).where(Payment.method == "credit"))
        assert total == 3


# Provider charges (Telegram): always recorded, once per charge id


async def _telegram(uow, invoice_id: int, amount: str, charge: str) -> payments.Receipt:
    return await payments.receive(uow, invoice_id, D(amount), method="telegram",
                                  external_id=charge)


async def test_a_charge_on_an_invoice_paid_meanwhile_becomes_credit_once(make_uow):
    async with make_uow() as uow:
        _, invoice = await _sell(uow, "sofia")
        paid = await _telegram(uow, invoice.id, "400.00", "charge-1")
        assert (paid.applied, paid.credited, paid.again) == (D("400.00"), 0, False)
        second = await _telegram(uow, invoice.id, "400.00", "charge-2")  # a second device
        assert (second.applied, second.credited, second.again) == (0, D("400.00"), False)
        await uow.commit()
    async with make_uow() as uow:
        again = await _telegram(uow, invoice.id, "400.00", "charge-2")  # redelivered
        assert (again.applied, again.credited, again.again) == (0, D("400.00"), True)
        await uow.commit()
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        assert await _ledger(uow, "sofia") == [("overpayment", D("400.00"))]
        [entry] = await credit.entries(uow, sofia.id)
        assert (entry.invoice_id, entry.external_id, entry.payment_id) == (
            invoice.id, "charge-2", None)
        charges = (await uow.session.scalars(
            select(Payment.external_id).where(Payment.invoice_id == invoice.id))).all()
        assert charges == ["charge-1"]
        desk = await uow.session.scalar(select(Staff).where(Staff.key == "desk"))
        [alert] = (await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "payment_credited"))).all()
        assert (alert.staff_id, alert.purpose) == (desk.id, f"credit:{entry.id}:staff:{desk.id}")
        assert alert.params == {
            "credit_entry_id": entry.id, "invoice_id": invoice.id, "patient_id": sofia.id,
            "received": "400.00", "credited": "400.00", "method": "telegram"}


async def test_a_charge_larger_than_what_is_owed_pays_it_and_credits_the_rest(make_uow):
    """The desk recorded a payment between the pre-checkout and the charge."""
    async with make_uow() as uow:
        _, invoice = await _sell(uow, "sofia")
        await billing.record_payment(uow, invoice.id, D("150.00"))
        receipt = await _telegram(uow, invoice.id, "400.00", "charge-3")
        assert (receipt.applied, receipt.credited) == (D("250.00"), D("150.00"))
        assert invoice.status == "paid"
        [entry] = (await uow.session.scalars(select(CreditEntry))).all()
        payment = await uow.session.scalar(
            select(Payment).where(Payment.external_id == "charge-3"))
        assert (entry.source, entry.payment_id, payment.amount) == (
            "overpayment", payment.id, D("250.00"))


async def test_a_charge_on_a_voided_invoice_is_all_credit(make_uow):
    async with make_uow() as uow:
        package_id, invoice = await _sell(uow, "sofia")
        await package_admin.refund(uow, package_id, D("0"), by="desk")  # voids the invoice
        receipt = await _telegram(uow, invoice.id, "400.00", "charge-4")
        assert (receipt.applied, receipt.credited, invoice.status) == (0, D("400.00"), "void")
        assert await _ledger(uow, "sofia") == [("overpayment", D("400.00"))]


async def test_one_charge_delivered_to_two_instances_at_once_is_recorded_once(make_uow):
    async with make_uow() as uow:
        _, invoice = await _sell(uow, "sofia")
        await billing.record_payment(uow, invoice.id, D("400.00"))
        await uow.commit()
    barrier = asyncio.Barrier(4)

    async def deliver() -> payments.Receipt:
        async with make_uow() as uow:
            if uow.dialect == "postgresql":
                await get_clinic(uow)
            await barrier.wait()
            receipt = await _telegram(uow, invoice.id, "400.00", "charge-5")
            await uow.commit()
            return receipt

    receipts = await asyncio.wait_for(asyncio.gather(*(deliver() for _ in range(4))), TIMEOUT)
    assert sorted(r.again for r in receipts) == [False, True, True, True]
    assert {r.credited for r in receipts} == {D("400.00")}
    async with make_uow() as uow:
        assert await _ledger(uow, "sofia") == [("overpayment", D("400.00"))]
        alerts = await uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "payment_credited"))
        assert alerts == 1
