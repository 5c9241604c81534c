"""The console's package pages: sell (``/desk/patients/{id}/sell``), the package's page
(``/desk/packages/{id}``), payments (``/desk/invoices/{id}/pay``), expiry, transfer and refund,
every refusal and every role, and two staff paying or refunding at once, over HTTP against the
real app on SQLite and PostgreSQL (the ``console`` fixture of ``test_desk_core``).

The example clinic: Maya Chen owns a paid physio 5-pack (2 uses redeemed before the import, 3
available); Leo is her ward (family), Sofía is not.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from sqlalchemy import func, select

from bot.services import credit
from bot.storage.models import (
    AuditEntry,
    Clinic,
    CreditEntry,
    Invoice,
    PackageTemplate,
    PatientPackage,
    Payment,
)
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.integration._builders import package_of, patient


async def ids(console: Console) -> dict[str, int]:
    async with console.uow(readonly=True) as uow:
        return {"maya": (await patient(uow, "maya")).id, "leo": (await patient(uow, "leo")).id,
                "sofia": (await patient(uow, "sofia")).id,
                "package": (await package_of(uow, "maya")).id}


async def post(http: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    return await http.post(path, data={"csrf_token": csrf_of(await http.get("/desk/")), **data})


async def count(console: Console, model: type) -> int:
    async with console.uow(readonly=True) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def template_id(console: Console, key: str) -> int:
    async with console.uow(readonly=True) as uow:
        found = await uow.session.scalar(select(PackageTemplate.id).where(
            PackageTemplate.key == key))
        assert found is not None
        return found


async def sell(http: httpx.AsyncClient, console: Console, patient_id: int, key: str) -> int:
    """Sell template ``key``; the new package's id."""
    answer = await post(http, f"/desk/patients/{patient_id}/sell",
                        template=str(await template_id(console, key)))
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.endswith("?done=sold")
    return int(location.split("/")[-1].split("?")[0])


async def invoice_of(console: Console, package_id: int) -> int:
    """The package's first invoice."""
    async with console.uow(readonly=True) as uow:
        found = await uow.session.scalar(select(Invoice.id).where(
            Invoice.package_id == package_id).order_by(Invoice.id))
        assert found is not None
        return found


async def test_a_receptionist_sells_a_package_and_takes_its_payment(console: Console) -> None:
    who = await ids(console)
    before = await count(console, Payment)  # the imported ones
    async with console.client() as http:
        await log_in(http, "desk")
        form = await http.get(f"/desk/patients/{who['maya']}/sell")
        assert form.status_code == 200
        assert "Sell a package to Maya Chen" in form.text
        for text in ("Physio 5-pack", "Massage 10-pack", "Insurer-friendly physio 6",
                     "sold at the desk only", "$400.00", "with Ana Silva", "at Downtown"):
            assert text in form.text
        package_id = await sell(http, console, who["maya"], "physio-5")
        page = await http.get(f"/desk/packages/{package_id}?done=sold")
        assert page.status_code == 200
        assert "Package sold. Record the payment" in page.text
        assert "awaiting payment" in page.text
        assert f'href="/desk/patients/{who["maya"]}"' in page.text
        invoice = await invoice_of(console, package_id)
        pay_link = f"/desk/invoices/{invoice}/pay?back=/desk/packages/{package_id}"
        assert pay_link in page.text
        pay_form = await http.get(pay_link)
        assert pay_form.status_code == 200 and "$400.00" in pay_form.text
        assert 'for="pay-amount"' in pay_form.text and 'value="card"' in pay_form.text
        too_much = await post(http, f"/desk/invoices/{invoice}/pay", amount="400.01",
                              method="card", back=f"/desk/packages/{package_id}")
        assert too_much.status_code == 400 and "at most" in too_much.text
        assert await count(console, Payment) == before
        part = await post(http, f"/desk/invoices/{invoice}/pay", amount="150",
                          method="cash", back=f"/desk/packages/{package_id}")
        assert part.status_code == 303
        assert part.headers["location"] == f"/desk/packages/{package_id}?paid={invoice}"
        rest = await post(http, f"/desk/invoices/{invoice}/pay", amount="250.00",
                          method="card", back=f"/desk/packages/{package_id}")
        assert rest.status_code == 303
        page = await http.get(rest.headers["location"])
        assert f"Payment recorded on invoice {invoice}." in page.text
        assert "active" in page.text and "Record a payment<" not in page.text
    async with console.uow(readonly=True) as uow:
        package = await uow.session.get(PatientPackage, package_id)
        assert package is not None and package.paid_enough
        staff = (await uow.session.execute(select(
            AuditEntry.action, AuditEntry.face, AuditEntry.staff).order_by(AuditEntry.id))).all()
    assert [tuple(row) for row in staff][-3:] == [
        ("package.sell", "console", "desk"), ("invoice.pay", "console", "desk"),
        ("invoice.pay", "console", "desk")]


async def test_a_sale_is_refused_clearly_and_writes_nothing(console: Console) -> None:
    who = await ids(console)
    before = await count(console, PatientPackage)
    async with console.client() as http:
        await log_in(http, "desk")
        nothing = await post(http, f"/desk/patients/{who['maya']}/sell")
        assert nothing.status_code == 400 and "Choose a package to sell." in nothing.text
        unknown = await post(http, f"/desk/patients/{who['maya']}/sell", template="9999")
        assert unknown.status_code == 400 and "there is no package template" in unknown.text
        assert (await http.get("/desk/patients/99999/sell")).status_code == 404
        gone = await post(http, "/desk/patients/99999/sell",
                          template=str(await template_id(console, "physio-5")))
        assert gone.status_code == 404
        assert (await http.get("/desk/packages/99999")).status_code == 404
        assert (await http.get("/desk/invoices/99999/pay")).status_code == 404
    assert await count(console, PatientPackage) == before


async def test_the_package_page_shows_what_rules_11_promise(console: Console) -> None:
    who = await ids(console)
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(f"/desk/packages/{who['package']}")
    assert page.status_code == 200
    for text in ("Physio 5-pack", "Maya Chen", "5 = 2 redeemed + 0 booked + 3 available",
                 "$400.00", "before import", "Transfer uses to family", "Leo Chen"):
        assert text in page.text, text
    assert "Refund" not in page.text and "Change expiry" not in page.text  # reception


async def test_the_back_field_never_leaves_the_console(console: Console) -> None:
    who = await ids(console)
    async with console.client() as http:
        await log_in(http, "desk")
        package_id = await sell(http, console, who["maya"], "massage-10")
        invoice = await invoice_of(console, package_id)
        for back in ("https://evil.example/desk/", "//evil.example/desk/", "/\\evil.example",
                     "javascript:alert(1)", "/desk/../evil"):
            answer = await post(http, f"/desk/invoices/{invoice}/pay", amount="1.00",
                                method="desk", back=back)
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/desk/packages/{package_id}?paid={invoice}"
        kept = await post(http, f"/desk/invoices/{invoice}/pay", amount="1.00",
                          method="desk", back=f"/desk/patients/{who['maya']}?tab=money")
        assert kept.headers["location"] == (
            f"/desk/patients/{who['maya']}?tab=money&paid={invoice}")
        bad = await post(http, f"/desk/invoices/{invoice}/pay", amount="1.00", method="bitcoin")
        assert bad.status_code == 400 and "Choose how the money was received." in bad.text
        typo = await post(http, f"/desk/invoices/{invoice}/pay", amount="ten", method="desk")
        assert typo.status_code == 400 and "Give the amount as a number" in typo.text


async def test_a_payment_on_another_invoice_goes_back_to_the_patient(console: Console) -> None:
    who = await ids(console)
    async with console.uow(readonly=True) as uow:
        invoice = await uow.session.scalar(select(Invoice.id).where(
            Invoice.patient_id == who["sofia"], Invoice.status == "open").order_by(Invoice.id))
    async with console.client() as http:
        await log_in(http, "desk")
        form = await http.get(f"/desk/invoices/{invoice}/pay")
        assert form.status_code == 200 and 'value="49.00"' in form.text  # what is owed
        paid = await post(http, f"/desk/invoices/{invoice}/pay", amount="49.00", method="cash")
        assert paid.headers["location"] == f"/desk/patients/{who['sofia']}?paid={invoice}"
        profile = await http.get(paid.headers["location"])  # the profile says it was recorded
        assert f"Payment recorded on invoice {invoice}." in profile.text
        again = await post(http, f"/desk/invoices/{invoice}/pay", amount="1.00", method="cash")
        assert again.status_code == 400 and "already paid in full" in again.text
        assert "Nothing is owed on this invoice." in again.text


async def test_an_invoice_is_paid_from_credit(console: Console) -> None:
    who = await ids(console)
    async with console.client() as http:
        await log_in(http, "desk")
        package_id = await sell(http, console, who["maya"], "physio-5")
        invoice = await invoice_of(console, package_id)
        none = await post(http, f"/desk/invoices/{invoice}/pay", source="credit")
        assert none.status_code == 400 and "has no credit" in none.text
        async with console.uow() as uow:
            credit.add(uow, patient_id=who["maya"], amount=Decimal("100.00"),
                       source=credit.OVERPAYMENT, reason="test")
            await uow.commit()
        form = await http.get(f"/desk/invoices/{invoice}/pay")
        assert "Pay from credit" in form.text and "$100.00" in form.text
        paid = await post(http, f"/desk/invoices/{invoice}/pay", source="credit")
        assert paid.status_code == 303
    async with console.uow(readonly=True) as uow:
        assert await credit.balance(uow, who["maya"]) == Decimal("0.00")
        found = await uow.session.get(Invoice, invoice)
        assert found is not None and found.paid == Decimal("100.00")


async def test_two_staff_paying_the_last_of_an_invoice_at_once_record_it_once(
        console: Console) -> None:
    who = await ids(console)
    async with console.client() as http:
        await log_in(http, "desk")
        package_id = await sell(http, console, who["maya"], "physio-5")
    invoice = await invoice_of(console, package_id)

    async def pay(key: str) -> httpx.Response:
        async with console.client() as http:
            await log_in(http, key)
            token = csrf_of(await http.get(f"/desk/invoices/{invoice}/pay"))
            return await http.post(f"/desk/invoices/{invoice}/pay", data={
                "csrf_token": token, "amount": "400.00", "method": "card"})

    answers = await asyncio.gather(pay("desk"), pay("mia"))
    assert sorted(a.status_code for a in answers) == [303, 400]
    async with console.uow(readonly=True) as uow:
        paid = (await uow.session.scalars(select(Payment.amount).where(
            Payment.invoice_id == invoice))).all()
    assert paid == [Decimal("400.00")]


async def test_a_manager_changes_and_clears_the_expiry(console: Console) -> None:
    who = await ids(console)
    path = f"/desk/packages/{who['package']}/expiry"
    async with console.client() as http:
        await log_in(http, "desk")
        assert (await post(http, path, expires="2027-06-30")).status_code == 403
    async with console.client() as http:
        await log_in(http, "mia")
        page = await http.get(f"/desk/packages/{who['package']}")
        assert 'for="expiry-date"' in page.text and 'for="refund-amount"' in page.text
        early = await post(http, path, expires="2026-01-01")
        assert early.status_code == 400 and "before the purchase date" in early.text
        empty = await post(http, path, expires="")
        assert empty.status_code == 400 and "Give the new expiry date" in empty.text
        changed = await post(http, path, expires="2027-06-30")
        assert changed.status_code == 303
        assert "The expiry was changed." in (await http.get(changed.headers["location"])).text
        async with console.uow(readonly=True) as uow:
            assert str((await package_of(uow, "maya")).expires_on) == "2027-06-30"
        assert (await post(http, path, clear="yes")).status_code == 303
    async with console.uow(readonly=True) as uow:
        assert (await package_of(uow, "maya")).expires_on is None


async def test_uses_move_to_family_only(console: Console) -> None:
    who = await ids(console)
    path = f"/desk/packages/{who['package']}/transfer"
    async with console.client() as http:
        await log_in(http, "desk")
        stranger = await post(http, path, to=str(who["sofia"]), uses="1")
        assert stranger.status_code == 400 and "transferred only to the owner" in stranger.text
        many = await post(http, path, to=str(who["leo"]), uses="4")
        assert many.status_code == 400 and "transfer from 1 to 3 uses" in many.text
        blank = await post(http, path, to=str(who["leo"]), uses="")
        assert blank.status_code == 400 and "Choose the family member" in blank.text
        moved = await post(http, path, to=str(who["leo"]), uses="2")
        assert moved.status_code == 303
        page = await http.get(moved.headers["location"])
        assert "Uses moved to package" in page.text and "2 to Leo Chen" in page.text
        assert "3 = 2 redeemed + 0 booked + 1 available" in page.text
    async with console.uow(readonly=True) as uow:
        gift = await uow.session.scalar(select(PatientPackage).where(
            PatientPackage.transferred_from_id == who["package"]))
        assert gift is not None and gift.patient_id == who["leo"] and gift.available == 2


async def test_a_manager_refunds_after_seeing_the_figures(console: Console) -> None:
    who = await ids(console)
    path = f"/desk/packages/{who['package']}/refund"
    async with console.client() as http:
        await log_in(http, "desk")
        assert (await post(http, path, amount="10")).status_code == 403
    async with console.client() as http:
        await log_in(http, "mia")
        page = await http.get(f"/desk/packages/{who['package']}")
        assert "Suggested refund: $240.00" in page.text  # 400 / 5 x 3
        over = await post(http, path, amount="400.01")
        assert over.status_code == 400 and "must be from 0.00 to 400.00" in over.text
        assert await count(console, CreditEntry) == 0
        asked = await post(http, path, amount="")
        assert asked.status_code == 200
        for text in ("Suggested refund", "$240.00", "Yes, refund $240.00",
                     "3 available", "The package ends"):
            assert text in asked.text, text
        assert await count(console, CreditEntry) == 0  # nothing written yet
        done = await http.post(path, data={"csrf_token": csrf_of(asked), "amount": "200.00",
                                           "confirmed": "yes"})
        assert done.status_code == 303
        page = await http.get(done.headers["location"])
        assert "The package was refunded" in page.text and "refunded" in page.text
        again = await post(http, path, amount="1")
        assert again.status_code == 400 and "already refunded" in again.text
    async with console.uow(readonly=True) as uow:
        assert await credit.balance(uow, who["maya"]) == Decimal("200.00")


async def test_two_managers_refunding_at_once_refund_once(console: Console) -> None:
    who = await ids(console)
    path = f"/desk/packages/{who['package']}/refund"

    async def refund() -> httpx.Response:
        async with console.client() as http:
            await log_in(http, "mia")
            token = csrf_of(await http.get(f"/desk/packages/{who['package']}"))
            return await http.post(path, data={"csrf_token": token, "amount": "240.00",
                                               "confirmed": "yes"})

    answers = await asyncio.gather(refund(), refund())
    assert sorted(a.status_code for a in answers) == [303, 400]
    assert any("already refunded" in a.text for a in answers)
    async with console.uow(readonly=True) as uow:
        assert await credit.balance(uow, who["maya"]) == Decimal("240.00")
        assert await uow.session.scalar(select(func.count()).select_from(CreditEntry)) == 1


async def test_the_pages_speak_the_clinic_locale(console: Console) -> None:
    who = await ids(console)
    async with console.uow() as uow:
        (await uow.session.scalars(select(Clinic))).one().locale = "fr_CA"
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "mia")
        page = await http.get(f"/desk/packages/{who['package']}")
        sell = await http.get(f"/desk/patients/{who['maya']}/sell")
    assert page.status_code == 200 and sell.status_code == 200
    for text in ("Remboursement suggéré : 240,00", "Séances couvertes", "avant l&#39;import",
                 "5 = 2 consommées + 0 réservées + 3 disponibles"):
        assert text in page.text, text
    assert "Vendre un forfait à Maya Chen" in sell.text and "400,00" in sell.text


async def test_each_role_is_refused_where_it_should_be(console: Console) -> None:
    who = await ids(console)
    async with console.uow(readonly=True) as uow:
        invoice = await uow.session.scalar(select(Invoice.id).order_by(Invoice.id))
    before = await count(console, Payment)
    pages = [f"/desk/patients/{who['maya']}/sell", f"/desk/packages/{who['package']}",
             f"/desk/invoices/{invoice}/pay"]
    actions = pages[:1] + [f"/desk/packages/{who['package']}/{what}"
                           for what in ("expiry", "transfer", "refund")] + pages[2:]
    async with console.client() as http:
        await log_in(http, "ana")
        for path in pages:
            answer = await http.get(path)
            assert answer.status_code == 403, path
            assert "Your role (practitioner) may not open this page" in answer.text
        token = csrf_of(await http.get("/desk/today"))
        for path in actions:
            answer = await http.post(path, data={"csrf_token": token, "amount": "1",
                                                 "expires": "2027-01-01", "uses": "1",
                                                 "to": str(who["leo"]), "confirmed": "yes"})
            assert answer.status_code == 403, path
    async with console.client() as http:
        await log_in(http, "desk")
        for path in pages:
            assert (await http.get(path)).status_code == 200, path
    assert await count(console, CreditEntry) == 0 and await count(console, Payment) == before
