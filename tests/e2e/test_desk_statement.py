"""The console's package statement: the print view (``/desk/packages/{id}/statement``) and
its PDF (``/desk/packages/{id}/statement.pdf``), linked from the package's page; reception and
managers only, over HTTP against the real app on SQLite and PostgreSQL.

The example clinic: Maya Chen owns a paid physio 5-pack (2 uses redeemed before the import).
"""

from __future__ import annotations

import io
from decimal import Decimal

from pypdf import PdfReader
from sqlalchemy import select

from bot.services import package_admin
from bot.storage.models import Clinic, Membership
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.integration._builders import book, local, package_of, patient


async def maya_package(console: Console) -> int:
    async with console.uow(readonly=True) as uow:
        return (await package_of(uow, "maya")).id


def pdf_text(body: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    return " ".join(text.replace("\u00a0", " ").split())


async def test_reception_reads_prints_and_downloads_a_statement(console: Console) -> None:
    package = await maya_package(console)
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(f"/desk/packages/{package}")
        assert f'href="/desk/packages/{package}/statement"' in page.text
        assert f'href="/desk/packages/{package}/statement.pdf"' in page.text
        view = await http.get(f"/desk/packages/{package}/statement")
        assert view.status_code == 200
        for text in ("Package statement", "Harbour Physio &amp; Wellness", "Maya Chen",
                     f"Physio 5-pack (package {package})", "$400.00", "Sessions covered",
                     "before import", "Payments and refunds", "Download PDF",
                     '<th scope="col">Date</th>'):
            assert text in view.text, text
        assert view.text.count("before import") == 2
        pdf = await http.get(f"/desk/packages/{package}/statement.pdf")
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert "attachment" in pdf.headers["content-disposition"]
        read = pdf_text(pdf.content)
        for text in ("Harbour Physio & Wellness", "Maya Chen", "$400.00", "Sessions covered"):
            assert text in read, (text, read)
        missing = await http.get("/desk/packages/99999/statement")
        assert missing.status_code == 404 and "there is no package 99999" in missing.text
        assert (await http.get("/desk/packages/99999/statement.pdf")).status_code == 404


async def test_a_manager_reads_it_in_the_clinic_locale(console: Console) -> None:
    package = await maya_package(console)
    async with console.uow() as uow:
        (await uow.session.scalars(select(Clinic))).one().locale = "fr_CA"
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "mia")
        view = await http.get(f"/desk/packages/{package}/statement")
        assert view.status_code == 200
        assert "Relevé du forfait" in view.text and "Séances couvertes" in view.text
        read = pdf_text((await http.get(f"/desk/packages/{package}/statement.pdf")).content)
        assert "Relevé du forfait" in read and "400,00" in read, read


async def test_a_practitioner_and_a_stranger_are_refused(console: Console) -> None:
    package = await maya_package(console)
    paths = (f"/desk/packages/{package}/statement", f"/desk/packages/{package}/statement.pdf")
    async with console.client() as http:
        for path in paths:
            away = await http.get(path)
            assert away.status_code == 303 and away.headers["location"] == "/desk/login"
        await log_in(http, "ana")
        for path in paths:
            refused = await http.get(path)
            assert refused.status_code == 403
            assert "Maya Chen" not in refused.text
            assert refused.headers["content-type"].startswith("text/html")



async def sofia_membership(console: Console) -> int:
    async with console.uow(readonly=True) as uow:
        sofia = await patient(uow, "sofia")
        found = await uow.session.scalar(select(Membership.id).where(
            Membership.patient_id == sofia.id))
        assert found is not None
        return found


async def test_a_membership_statement_lists_periods_and_payments(console: Console) -> None:
    membership = await sofia_membership(console)
    paths = (f"/desk/memberships/{membership}/statement",
             f"/desk/memberships/{membership}/statement.pdf")
    async with console.client() as http:
        await log_in(http, "desk")
        view = await http.get(paths[0])
        assert view.status_code == 200
        for text in ("Membership statement", "Wellness membership (monthly)",
                     f"(membership {membership})", "$49.00 a month", "Periods invoiced",
                     "Sep 1, 2026", "Payments", "Next renewal"):
            assert text in view.text, text
        read = pdf_text((await http.get(paths[1])).content)
        for text in ("Membership statement", "Wellness membership (monthly)", "$49.00",
                     "Periods invoiced"):
            assert text in read, (text, read)
        assert (await http.get("/desk/memberships/99999/statement")).status_code == 404
        await http.post("/desk/logout", data={"csrf_token": csrf_of(await http.get("/desk/"))})
        await log_in(http, "ana")
        for path in paths:
            assert (await http.get(path)).status_code == 403


async def test_a_booked_session_then_a_refund_show_on_the_statement(console: Console) -> None:
    package = await maya_package(console)
    async with console.uow() as uow:
        await book(uow, "maya", local(2026, 11, 3, 10), package_id=package)
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "desk")
        view = (await http.get(f"/desk/packages/{package}/statement")).text
        for text in ("Nov 3, 2026", "booked", "Physiotherapy follow-up", "Ana Silva",
                     "5 = 2 redeemed + 1 booked + 2 available"):
            assert text in view, text
        async with console.uow() as uow:
            await package_admin.refund(uow, package, Decimal("100.00"), by="mia")
            await uow.commit()
        view = (await http.get(f"/desk/packages/{package}/statement")).text
        assert "refunded" in view and "Refund" in view and "-$100.00" in view
        assert "Physiotherapy follow-up" not in view, "the refund released the booked use"
        read = pdf_text((await http.get(f"/desk/packages/{package}/statement.pdf")).content)
        assert "-$100.00" in read and "Refund" in read, read
