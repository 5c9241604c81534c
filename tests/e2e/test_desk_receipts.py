"""The console's insurance receipts (issue 18, item 2): the package's page lists them (void
ones marked, a refund adjustment named), each prints (``/desk/receipts/{id}``) and downloads as
a PDF (``.pdf``); the reports page adds insurance-friendly sales and receipts per month.
Reception and managers only, over HTTP against the real app on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from bot.services import arrivals, package_admin, receipts
from tests.e2e.test_desk_core import Console, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.e2e.test_desk_statement import pdf_text
from tests.integration.test_receipts import _arrive, _booked, _insured


async def _with_receipts(console: Console) -> tuple[int, list[int]]:
    """Maya's paid insurance-friendly package (100.00 for 3 uses): 3 sessions arrived, the last
    undone, then refunded 50.00: an adjustment of -16.66 closes the receipts."""
    package_id = await _insured(console.uow)
    ids = await _booked(console.uow, package_id, [9, 10, 11])
    await _arrive(console.uow, console.clock, ids)
    async with console.uow() as uow:
        await arrivals.undo_arrival(uow, ids[2])
        await package_admin.refund(uow, package_id, Decimal("50.00"), by="mia")
        await uow.commit()
    async with console.uow(readonly=True) as uow:
        lines = await receipts.receipts_of(uow, package_id, with_voided=True)
    return package_id, [line.id for line in lines]


async def test_reception_sees_prints_and_downloads_each_receipt(console: Console) -> None:
    package_id, ids = await _with_receipts(console)
    first, _, void, adjustment = ids
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(f"/desk/packages/{package_id}")
        assert page.status_code == 200
        for text in ("Receipts for insurance claims", f'href="/desk/receipts/{first}"',
                     f'href="/desk/receipts/{first}.pdf"', "$33.33", "Refund adjustment",
                     "-$16.66", f'id="receipt-{void}" class="void"'):
            assert text in page.text, text
        view = await http.get(f"/desk/receipts/{first}")
        assert view.status_code == 200
        for text in ("Session receipt", "Maya Chen", "Ana Silva", "$33.33", "$15.00",
                     "$48.33"):
            assert text in view.text, text
        voided = await http.get(f"/desk/receipts/{void}")
        assert "void (the redemption was undone)" in voided.text
        pdf = await http.get(f"/desk/receipts/{adjustment}.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert f'receipt-{adjustment}.pdf' in pdf.headers["content-disposition"]
        read = pdf_text(pdf.content)
        for text in ("Session receipt", "Refund adjustment", "-$16.66"):
            assert text in read, (text, read)
        statement = await http.get(f"/desk/packages/{package_id}/statement")
        assert "Receipts for insurance claims" in statement.text
        # 66.66 receipted + the adjustment: 50.00, the 100.00 collected less the 50.00 refund
        assert "$50.00" in statement.text.split("Receipts for insurance claims")[1]
        missing = await http.get("/desk/receipts/99999")
        assert missing.status_code == 404 and "there is no receipt 99999" in missing.text


async def test_a_practitioner_and_a_stranger_are_refused(console: Console) -> None:
    _, ids = await _with_receipts(console)
    paths = (f"/desk/receipts/{ids[0]}", f"/desk/receipts/{ids[0]}.pdf")
    async with console.client() as http:
        for path in paths:
            away = await http.get(path)
            assert away.status_code == 303 and away.headers["location"] == "/desk/login"
        await log_in(http, "ana")
        for path in paths:
            refused = await http.get(path)
            assert refused.status_code == 403 and "Maya Chen" not in refused.text


async def test_the_reports_page_shows_insurance_sales_and_receipts(console: Console) -> None:
    await _with_receipts(console)
    async with console.client() as http:
        await log_in(http, "mia")
        page = await http.get("/desk/reports?from=2026-11-01&to=2026-11-30")
        assert page.status_code == 200
        assert "Insurance-friendly: 1 sold, price $100.00, collected $100.00" in page.text
        section = page.text.split('id="insurance-receipts"')[1]
        assert "Refund adjustment" in section and "$66.66" in section and "-$16.66" in section
