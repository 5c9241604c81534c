"""The console's day page (``/desk/today``): each practitioner's appointments and free gaps,
and the Arrived / No-show / Undo arrival buttons, over HTTP against the real app on SQLite and
PostgreSQL (the ``console`` fixture of ``test_desk_core``).

Monday 2 November 2026 (the test clock's day): maya with Ana at Downtown at 10:00 (Ana works
09:00-17:00 there), leo with Ben at East End at 09:00 (Ben works 08:00-14:00 there).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from bot.storage.models import Appointment, AuditEntry, Invoice, NoShow
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.integration._builders import book, local

DAY = "2026-11-02"


@dataclass
class Booked:
    maya: int
    leo: int


@pytest.fixture
async def booked(console: Console) -> Booked:
    async with console.uow() as uow:
        maya = await book(uow, "maya", local(2026, 11, 2, 10))
        leo = await book(uow, "leo", local(2026, 11, 2, 9), fee="massage-60",
                         practitioner="ben", location="east")
        await uow.commit()
        return Booked(maya.id, leo.id)


async def status_of(console: Console, appointment_id: int) -> str:
    async with console.uow(readonly=True) as uow:
        found = await uow.session.get(Appointment, appointment_id)
        assert found is not None
        return found.status


async def invoices(console: Console, appointment_id: int) -> int:
    """The appointment's invoices that are not void."""
    async with console.uow(readonly=True) as uow:
        return await uow.session.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.appointment_id == appointment_id, Invoice.status != "void")) or 0


async def post(http: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    page = await http.get(f"/desk/today?day={DAY}")
    return await http.post(path, data={"csrf_token": csrf_of(page), "day": DAY, **data})


async def test_the_day_shows_every_column_with_patients_fees_and_free_gaps(
        console: Console, booked: Booked) -> None:
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(f"/desk/today?day={DAY}")
    assert page.status_code == 200
    ana, ben = page.text.index("Ana Silva at Downtown"), page.text.index("Ben Okafor at East End")
    ana_part, ben_part = page.text[ana:ben], page.text[ben:]
    assert ">Maya Chen</a>" in ana_part and "Physiotherapy follow-up" in ana_part
    assert "$90.00" in ana_part and "Leo" not in ana_part
    # Ana's hours 09:00-17:00 around maya's 10:00 visit: free 9-10 and from its end to 17:00.
    assert "Mon 2 Nov, 9:00" in ana_part and "Mon 2 Nov, 10:30 a.m.</td>" in ana_part
    assert ana_part.count("Free until") == 2 and "5:00 p.m." in ana_part
    assert "Massage therapy 60 min" in ben_part and ben_part.count("Free until") == 2
    assert 'href="/desk/today?day=2026-11-01"' in page.text
    assert 'href="/desk/today?day=2026-11-03"' in page.text
    assert '<label for="day">' in page.text


async def test_a_bad_day_says_how_to_write_it(console: Console) -> None:
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get("/desk/today?day=next-tuesday")
    assert page.status_code == 400
    assert "next-tuesday is not a date: write it as YYYY-MM-DD" in page.text


async def test_arrived_then_undo_bills_and_voids_and_records_the_audit(
        console: Console, booked: Booked) -> None:
    console.clock.set(local(2026, 11, 2, 10, 5))
    async with console.client() as http:
        await log_in(http, "desk")
        done = await post(http, f"/desk/today/{booked.maya}/arrive")
        assert done.status_code == 303
        assert done.headers["location"].startswith("/desk/today?done=arrived")
        shown = await http.get(done.headers["location"])
        assert f"Appointment {booked.maya} marked arrived." in shown.text
        assert await status_of(console, booked.maya) == "arrived"
        assert await invoices(console, booked.maya) == 1
        undone = await post(http, f"/desk/today/{booked.maya}/undo-arrival")
        assert undone.status_code == 303
        assert await status_of(console, booked.maya) == "booked"
    async with console.uow(readonly=True) as uow:
        invoice = await uow.session.scalar(select(Invoice).where(
            Invoice.appointment_id == booked.maya))
        assert invoice is not None and invoice.status == "void"
        entries = (await uow.session.execute(
            select(AuditEntry.action, AuditEntry.face).where(AuditEntry.staff == "desk")
            .order_by(AuditEntry.id))).all()
    assert [tuple(e) for e in entries] == [("appointment.arrive", "console"),
                                           ("appointment.undo_arrival", "console")]


async def test_a_refused_arrival_shows_the_rule_and_changes_nothing(
        console: Console, booked: Booked) -> None:
    console.clock.set(local(2026, 11, 2, 8))  # two hours before maya's visit
    async with console.client() as http:
        await log_in(http, "desk")
        early = await post(http, f"/desk/today/{booked.maya}/arrive")
        assert early.status_code == 400
        assert "it can be marked arrived from" in early.text
        missing = await post(http, "/desk/today/999999/arrive")
        assert missing.status_code == 404 and "999999" in missing.text
        not_yet = await post(http, f"/desk/today/{booked.maya}/no-show")
        assert not_yet.status_code == 400 and "has not started yet" in not_yet.text
        forged = await http.post(f"/desk/today/{booked.maya}/arrive",
                                 data={"csrf_token": "forged", "day": DAY})
        assert forged.status_code == 403
    assert await status_of(console, booked.maya) == "booked"
    assert await invoices(console, booked.maya) == 0


async def test_no_show_raises_it_for_a_decision(console: Console, booked: Booked) -> None:
    console.clock.set(local(2026, 11, 2, 10, 30))
    async with console.client() as http:
        await log_in(http, "mia")
        done = await post(http, f"/desk/today/{booked.maya}/no-show")
        assert done.status_code == 303
        shown = await http.get(done.headers["location"])
        assert "marked no-show: decide it on the No-shows page" in shown.text
        assert "to decide" in shown.text
    assert await status_of(console, booked.maya) == "no_show"
    async with console.uow(readonly=True) as uow:
        raised = await uow.session.scalar(select(NoShow))
        assert raised is not None and raised.appointment_id == booked.maya
        assert raised.reason == "marked"


async def test_a_practitioner_sees_and_marks_only_their_own_appointments(
        console: Console, booked: Booked) -> None:
    console.clock.set(local(2026, 11, 2, 10, 5))
    async with console.client() as http:
        await log_in(http, "ana")
        page = await http.get(f"/desk/today?day={DAY}")
        assert page.status_code == 200
        assert "Ana Silva at Downtown" in page.text and "Ben Okafor" not in page.text
        assert "Leo" not in page.text and "Undo arrival" not in page.text
        for action in ("arrive", "no-show"):
            refused = await post(http, f"/desk/today/{booked.leo}/{action}")
            assert refused.status_code == 403
            assert "is another practitioner" in refused.text
        assert await status_of(console, booked.leo) == "booked"
        mine = await post(http, f"/desk/today/{booked.maya}/arrive")
        assert mine.status_code == 303
        assert await status_of(console, booked.maya) == "arrived"
        undo = await post(http, f"/desk/today/{booked.maya}/undo-arrival")
        assert undo.status_code == 403
    assert await status_of(console, booked.maya) == "arrived"
    assert await invoices(console, booked.maya) == 1
