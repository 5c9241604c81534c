"""The console's reads about packages (bot/services/package_desk.py): the templates the desk
sells, a package's page, a refund's figures, and an invoice to pay."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.services import billing, credit, package_admin, package_desk, packages
from bot.services.errors import NotFound, WrongState
from tests.integration._builders import book, local, package_of, patient

pytestmark = pytest.mark.usefixtures("clinic")


async def test_the_desk_sells_every_template_with_what_it_covers(make_uow) -> None:
    async with make_uow(readonly=True) as uow:
        found = await package_desk.desk_templates(uow)
        assert [t.key for t in found] == ["insurer-physio-6", "massage-10", "physio-5"]
        physio = found[-1]
        assert [p.key for p in physio.practitioners] == ["ana"]
        assert [loc.key for loc in physio.locations] == ["downtown"]
        assert physio.fees


async def test_a_package_page_has_its_owner_money_transfers_and_family(make_uow) -> None:
    async with make_uow() as uow:
        maya, leo = await patient(uow, "maya"), await patient(uow, "leo")
        package = await package_of(uow, "maya")
        gift = await package_admin.transfer(uow, package.id, leo.id, 1, by="desk")
        package_id, maya_id, leo_id, gift_id = package.id, maya.id, leo.id, gift.id
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        page = await package_desk.package_page(uow, package_id)
        assert page.owner.id == maya_id and page.template_name == "Physio 5-pack"
        assert page.details.available == 2 and page.details.paid == Decimal("400.00")
        assert [p.amount for p in page.payments] == [Decimal("400.00")]
        assert [i.amount for i in page.invoices] == [Decimal("400.00")]
        assert [(t.package_id, t.patient_id, t.uses) for t in page.transfers] == [
            (gift_id, leo_id, 1)]
        assert [p.id for p in page.family] == [leo_id]
        assert page.suggested_refund == await package_admin.suggested_refund(uow, package_id)
        with pytest.raises(NotFound):
            await package_desk.package_page(uow, 99999)


async def test_a_refund_preview_names_the_appointments_and_invoices_it_touches(
        make_uow) -> None:
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        sold = await packages.sell_package(uow, maya.id, "massage-10")  # 3 installments
        first, *rest = await packages.package_invoices(uow, sold.id)
        await billing.record_payment(uow, first.id, first.amount)
        visit = await book(uow, "maya", local(2026, 11, 18, 10), package_id=sold.id,
                           fee="massage-60", practitioner="ben", location="east")
        package_id, visit_id = sold.id, visit.id
        invoice_ids = [i.id for i in rest]
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        preview = await package_desk.refund_preview(uow, package_id)
        assert preview.collected == Decimal("330.00")
        assert preview.suggested == Decimal("330.00")  # 990 / 10 x 10, at most what was paid
        assert preview.released == [visit_id] and preview.settled == invoice_ids
        assert (preview.booked, preview.available) == (1, 9)
    async with make_uow() as uow:
        await package_admin.refund(uow, package_id, by="mia")
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        with pytest.raises(WrongState):
            await package_desk.refund_preview(uow, package_id)


async def test_an_invoice_page_has_the_patient_and_their_credit(make_uow) -> None:
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        sold = await packages.sell_package(uow, maya.id, "physio-5")
        invoice_id = (await packages.package_invoices(uow, sold.id))[0].id
        credit.add(uow, patient_id=maya.id, amount=Decimal("25.00"), source=credit.OVERPAYMENT,
                   reason="test")
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        page = await package_desk.invoice_page(uow, invoice_id)
        assert page.patient.first_name == "Maya" and page.credit == Decimal("25.00")
        assert page.invoice.outstanding == Decimal("400.00")
        with pytest.raises(NotFound):
            await package_desk.invoice_page(uow, 99999)
