"""The console's patient pages (``/desk/patients/{id}``, ``/desk/unpaid``): the profile,
guardians, memberships, credit paid back and the unpaid invoices, over HTTP against the real
app on SQLite and PostgreSQL, with the example clinic loaded (Maya guards Leo; Sofía holds a
monthly membership; Maya owns a physio package)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from bot.services import accounts, credit
from bot.storage.models import AuditEntry, Invoice, Membership, guardianship
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.integration._builders import patient


async def ids(console: Console) -> dict[str, int]:
    async with console.uow(readonly=True) as uow:
        return {key: (await patient(uow, key)).id for key in ("maya", "leo", "sofia")}


async def post(http: httpx.AsyncClient, page: str, action: str, **data: str) -> httpx.Response:
    token = csrf_of(await http.get(page))
    return await http.post(action, data={"csrf_token": token, **data})


async def links(console: Console) -> set[tuple[int, int]]:
    async with console.uow(readonly=True) as uow:
        rows = await uow.session.execute(
            select(guardianship.c.guardian_id, guardianship.c.ward_id))
        return {(g, w) for g, w in rows.tuples()}


async def actions(console: Console) -> list[str]:
    async with console.uow(readonly=True) as uow:
        return list((await uow.session.scalars(select(AuditEntry.action).where(
            AuditEntry.face == "console").order_by(AuditEntry.id))).all())


async def test_the_profile_shows_contact_family_packages_memberships_and_money(
        console: Console) -> None:
    who = await ids(console)
    async with console.uow() as uow:
        credit.add(uow, patient_id=who["maya"], amount=Decimal("20.00"), source="refund",
                   reason="goodwill refund")
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(f"/desk/patients/{who['maya']}")
        assert page.status_code == 200
        assert "<h1>Maya Chen</h1>" in page.text
        assert "(416) 555-0101" in page.text and "maya@example.com" in page.text
        assert "SMS" in page.text and "receives messages" in page.text
        assert f'href="/desk/patients/{who["leo"]}">Leo Chen' in page.text  # her ward
        assert f'/desk/patients/{who["maya"]}/book' in page.text
        assert f'/desk/patients/{who["maya"]}/sell' in page.text
        assert 'href="/desk/packages/' in page.text
        assert "Credit: $20.00" in page.text and "goodwill refund" in page.text
        leo = await http.get(f"/desk/patients/{who['leo']}")
        assert "<h1>Leo Chen</h1>" in leo.text and "set-up file" in leo.text
        assert f'href="/desk/patients/{who["maya"]}">Maya Chen' in leo.text
        sofia = await http.get(f"/desk/patients/{who['sofia']}")
        assert "Wellness membership (monthly)" in sofia.text and "Cancel membership" in sofia.text
        assert "Español" in sofia.text
        assert 'href="/desk/invoices/' in sofia.text


async def test_a_missing_or_merged_patient_is_said_so(console: Console) -> None:
    who = await ids(console)
    async with console.uow() as uow:
        maya = await patient(uow, "maya")
        copy = await accounts.register_online(uow, first_name="Maya", last_name="Chen",
                                              birth_date=maya.birth_date, phone="+14165550199")
        await uow.commit()
        copy_id = copy.id
    async with console.uow() as uow:
        await accounts.merge(uow, who["maya"], copy_id, by="desk")
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "desk")
        for wanted in ("999999", "abc", "0"):
            missing = await http.get(f"/desk/patients/{wanted}")
            assert missing.status_code == 404
            assert f"There is no patient {wanted}." in missing.text
            assert 'href="/desk/patients"' in missing.text
        merged = await http.get(f"/desk/patients/{copy_id}")
        assert merged.status_code == 200 and "merged into another one" in merged.text
        assert f'href="/desk/patients/{who["maya"]}">Open Maya Chen' in merged.text
        refused = await post(http, f"/desk/patients/{who['maya']}",
                             f"/desk/patients/{copy_id}/guardians", guardian="sofia")
        assert refused.status_code == 400 and "merged into" in refused.text


async def test_adding_and_removing_guardians(console: Console) -> None:
    who = await ids(console)
    leo = f"/desk/patients/{who['leo']}"
    async with console.client() as http:
        await log_in(http, "desk")
        added = await post(http, leo, f"{leo}/guardians", guardian="(416) 555-0102")
        assert added.status_code == 303 and added.headers["location"].endswith(
            "?done=guardian-added")
        shown = await http.get(added.headers["location"])
        assert "Guardian added." in shown.text and "Sofía Ramírez" in shown.text
        assert (who["sofia"], who["leo"]) in await links(console)
        again = await post(http, leo, f"{leo}/guardians", guardian="sofia")
        assert again.status_code == 400 and "already manages" in again.text
        itself = await post(http, leo, f"{leo}/guardians", guardian=str(who["leo"]))
        assert itself.status_code == 400 and "own guardian" in itself.text
        nobody = await post(http, leo, f"{leo}/guardians", guardian="nobody-here")
        assert nobody.status_code == 400 and "nobody-here" in nobody.text
        assert 'value="nobody-here"' in nobody.text  # what was typed stays
        removed = await post(http, leo, f"{leo}/guardians/{who['sofia']}/remove")
        assert removed.status_code == 303
        assert (who["sofia"], who["leo"]) not in await links(console)
        gone = await post(http, leo, f"{leo}/guardians/{who['sofia']}/remove")
        assert gone.status_code == 400 and "does not manage" in gone.text
    assert await actions(console) == ["guardian.add", "guardian.remove"]


async def test_two_receptionists_adding_the_same_guardian_at_once_link_it_once(
        console: Console) -> None:
    who = await ids(console)
    leo = f"/desk/patients/{who['leo']}"

    async def add() -> int:
        async with console.client() as http:
            await log_in(http, "desk")
            token = csrf_of(await http.get(leo))
            answer = await http.post(f"{leo}/guardians",
                                     data={"csrf_token": token, "guardian": "sofia"})
            return answer.status_code

    codes = sorted(await asyncio.gather(add(), add(), add()))
    assert codes == [303, 400, 400]
    assert await actions(console) == ["guardian.add"]


async def test_enrolling_invoices_the_periods_begun_and_cancelling_asks_first(
        console: Console) -> None:
    who = await ids(console)
    maya = f"/desk/patients/{who['maya']}"
    async with console.client() as http:
        await log_in(http, "desk")
        enrolled = await post(http, maya, f"{maya}/enrol", plan="wellness-monthly",
                              start="2026-10-01")
        assert enrolled.status_code == 303
        shown = await http.get(enrolled.headers["location"])
        assert "Enrolled in the membership." in shown.text
        async with console.uow(readonly=True) as uow:
            membership = await uow.session.scalar(
                select(Membership).where(Membership.patient_id == who["maya"]))
            assert membership is not None
            membership_id = membership.id
            invoiced = await uow.session.scalar(select(func.count()).select_from(Invoice).where(
                Invoice.membership_id == membership_id))
        assert invoiced == 2  # October and November have begun
        assert f'href="/desk/memberships/{membership_id}/statement"' in shown.text
        twice = await post(http, maya, f"{maya}/enrol", plan="wellness-monthly",
                           start="2026-10-01")
        assert twice.status_code == 400 and "already has" in twice.text
        for plan, start in (("no-such-plan", "2026-10-01"), ("wellness-monthly", "tomorrow")):
            bad = await post(http, maya, f"{maya}/enrol", plan=plan, start=start)
            assert bad.status_code == 400
        cancel = f"/desk/memberships/{membership_id}/cancel"
        asked = await post(http, maya, cancel, **{"from": "2026-11-01"})
        assert asked.status_code == 200
        assert "Cancel Wellness membership (monthly) from" in asked.text
        async with console.uow(readonly=True) as uow:
            assert (await uow.session.get(Membership, membership_id)).cancelled_from is None
        done = await http.post(cancel, data={"csrf_token": csrf_of(asked), "from": "2026-11-01",
                                             "confirmed": "yes"})
        assert done.status_code == 303
        assert done.headers["location"] == f"{maya}?done=membership-cancelled"
        early = await post(http, maya, cancel, **{"from": "2026-01-01", "confirmed": "yes"})
        assert early.status_code == 400 and "before it starts" in early.text
        missing = await post(http, maya, "/desk/memberships/999999/cancel",
                             **{"from": "2026-11-01"})
        assert missing.status_code == 404 and "There is no membership 999999." in missing.text
    async with console.uow(readonly=True) as uow:
        kept = await uow.session.get(Membership, membership_id)
        assert kept is not None and kept.cancelled_from is not None
        voided = await uow.session.scalar(select(Invoice.status).where(
            Invoice.membership_id == membership_id, Invoice.period_start >= kept.cancelled_from))
    assert voided == "void"
    assert await actions(console) == ["membership.enrol", "membership.cancel"]


async def test_paying_credit_back_some_or_all(console: Console) -> None:
    who = await ids(console)
    maya = f"/desk/patients/{who['maya']}"
    async with console.uow() as uow:
        credit.add(uow, patient_id=who["maya"], amount=Decimal("50.00"), source="refund",
                   reason="refund")
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "desk")
        part = await post(http, maya, f"{maya}/pay-back", amount="15,50", method="card")
        assert part.status_code == 303
        assert "Credit: $34.50" in (await http.get(part.headers["location"])).text
        too_much = await post(http, maya, f"{maya}/pay-back", amount="100", method="cash")
        assert too_much.status_code == 400 and "at most the credit" in too_much.text
        garbled = await post(http, maya, f"{maya}/pay-back", amount="ten", method="cash")
        assert garbled.status_code == 400
        asked = await post(http, maya, f"{maya}/pay-back", amount="", method="cash")
        assert asked.status_code == 200 and "Pay back $34.50, all of the credit?" in asked.text
        done = await http.post(f"{maya}/pay-back", data={
            "csrf_token": csrf_of(asked), "amount": "", "method": "cash", "confirmed": "yes"})
        assert done.status_code == 303
        nothing = await post(http, maya, f"{maya}/pay-back", amount="", method="cash")
        assert nothing.status_code == 400 and "no credit" in nothing.text
    async with console.uow(readonly=True) as uow:
        assert await credit.balance(uow, who["maya"]) == Decimal("0.00")
    assert await actions(console) == ["credit.pay_back", "credit.pay_back"]


async def test_two_paying_back_all_the_credit_at_once_pay_it_once(console: Console) -> None:
    who = await ids(console)
    maya = f"/desk/patients/{who['maya']}"
    async with console.uow() as uow:
        credit.add(uow, patient_id=who["maya"], amount=Decimal("40.00"), source="refund",
                   reason="refund")
        await uow.commit()

    async def pay_all() -> int:
        async with console.client() as http:
            await log_in(http, "desk")
            answer = await post(http, maya, f"{maya}/pay-back", amount="40.00", method="cash")
            return answer.status_code

    assert sorted(await asyncio.gather(pay_all(), pay_all())) == [303, 400]
    async with console.uow(readonly=True) as uow:
        assert await credit.balance(uow, who["maya"]) == Decimal("0.00")


async def test_the_unpaid_page_lists_every_open_invoice_oldest_first_in_pages(
        console: Console) -> None:
    who = await ids(console)
    today = console.clock.now().date()
    async with console.uow() as uow:
        for n in range(60):
            uow.session.add(Invoice(
                patient_id=who["maya"], kind="session", description=f"Visit {n:02d}",
                amount=Decimal("10.00"), paid=Decimal("0"), status="open",
                issued_on=today - timedelta(days=200), due_on=today - timedelta(days=100 - n),
                created_at=console.clock.now()))
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "desk")
        first = await http.get("/desk/unpaid")
        assert first.status_code == 200 and "<h1>Unpaid invoices</h1>" in first.text
        assert first.text.count('href="/desk/invoices/') == 50
        assert first.text.index("Visit 00") < first.text.index("Visit 01")
        assert ">100<" in first.text  # days overdue of the oldest
        assert "Older" not in first.text and "?after=" in first.text
        newer = await http.get("/desk/unpaid?after=" + first.text.split("?after=")[1].split('"')[0])
        assert "Visit 50" in newer.text and "Visit 49" not in newer.text
        assert "Wellness membership" in newer.text  # Sofía's membership period, due later
        assert "?before=" in newer.text
        before = newer.text.split("?before=")[1].split('"')[0]
        back = await http.get(f"/desk/unpaid?before={before}")
        assert "Visit 00" in back.text and "Visit 49" in back.text and "Visit 50" not in back.text
        assert (await http.get("/desk/unpaid?after=garbage")).status_code == 200


async def test_a_practitioner_is_refused_every_patient_page_and_action(console: Console) -> None:
    who = await ids(console)
    maya = f"/desk/patients/{who['maya']}"
    async with console.client() as http:
        await log_in(http, "ana")
        for path in (maya, "/desk/unpaid", "/desk/patients/999999"):
            assert (await http.get(path)).status_code == 403
        token = csrf_of(await http.get("/desk/today"))
        for action, data in (
                (f"{maya}/guardians", {"guardian": "sofia"}),
                (f"/desk/patients/{who['leo']}/guardians/{who['maya']}/remove", {}),
                (f"{maya}/enrol", {"plan": "wellness-monthly", "start": "2026-11-01"}),
                ("/desk/memberships/1/cancel", {"from": "2026-11-01", "confirmed": "yes"}),
                (f"{maya}/pay-back", {"amount": "", "confirmed": "yes", "method": "cash"})):
            answer = await http.post(action, data={"csrf_token": token, **data})
            assert answer.status_code == 403, action
    async with console.client() as http:
        await log_in(http, "desk")
        forged = await http.post(f"{maya}/guardians", data={"guardian": "sofia",
                                                              "csrf_token": "forged"})
        assert forged.status_code == 403
    assert await actions(console) == []
    assert (who["maya"], who["leo"]) in await links(console)


@pytest.mark.parametrize("key", ["mia"])
async def test_a_manager_opens_the_profile_and_the_unpaid_page(console: Console, key: str
                                                               ) -> None:
    who = await ids(console)
    async with console.client() as http:
        await log_in(http, key)
        assert (await http.get(f"/desk/patients/{who['maya']}")).status_code == 200
        assert (await http.get("/desk/unpaid")).status_code == 200
