"""The console's series page (``/desk/packages/{id}/series``, issue 19) over HTTP against the
real app on SQLite and PostgreSQL: the dates shown first with nothing booked, a taken time
replaced by the nearest free one, booking them all, and a time taken meanwhile booking nothing.

The clock is Monday 2 November 2026, 08:00 in Toronto; Maya's physio 5-pack has 3 uses left.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.storage.models import Appointment, AuditEntry
from tests.e2e.test_desk_core import Console, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.e2e.test_desk_packages import ids, post
from tests.integration._builders import book, counters, local

FORM = {"first": "2026-11-03T10:00", "every": "7"}


async def booked_for_maya(console: Console, maya: int) -> int:
    async with console.uow(readonly=True) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Appointment).where(
            Appointment.patient_id == maya, Appointment.status == "booked")) or 0)


async def test_the_desk_sees_the_dates_then_books_the_series(console: Console) -> None:
    who = await ids(console)
    async with console.uow() as uow:
        await book(uow, "sofia", local(2026, 11, 10, 10))
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(f"/desk/packages/{who['package']}")
        assert f'href="/desk/packages/{who["package"]}/series"' in page.text
        form = await http.get(f"/desk/packages/{who['package']}/series")
        assert form.status_code == 200
        what = re.search(r'<option value="([\d-]+)">Physiotherapy follow-up, Ana Silva, '
                         r'Downtown</option>', form.text)
        assert what, form.text
        shown = await post(http, f"/desk/packages/{who['package']}/series", what=what[1], **FORM)
        assert shown.status_code == 200, shown.text
        assert "Dates (nothing is booked yet)" in shown.text
        assert "(instead of Tue 10 Nov, 10:00 a.m., which is not free)" in shown.text
        assert await booked_for_maya(console, who["maya"]) == 0
        starts = re.findall(r'name="start" value="([^"]+)"', shown.text)
        assert len(starts) == 3
        done = await http.post(f"/desk/packages/{who['package']}/series", data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', shown.text)[1],
            "what": what[1], **FORM, "start": starts, "confirmed": "yes"})
        assert done.status_code == 303, done.text
        assert done.headers["location"].endswith("?done=series&n=3")
        after = await http.get(done.headers["location"])
        assert "Booked 3 sessions as a series." in after.text
    assert await booked_for_maya(console, who["maya"]) == 3
    async with console.uow(readonly=True) as uow:
        assert (await counters(uow, who["package"]))[2:] == (3, 0)
        faces = await uow.session.scalars(select(AuditEntry.face).where(
            AuditEntry.action == "appointment.book"))
        assert list(faces).count("console") == 3


async def test_a_time_taken_meanwhile_books_nothing(console: Console) -> None:
    who = await ids(console)
    async with console.client() as http:
        await log_in(http, "desk")
        form = await http.get(f"/desk/packages/{who['package']}/series")
        what = re.search(r'<option value="([\d-]+)">Physiotherapy follow-up, Ana', form.text)
        shown = await post(http, f"/desk/packages/{who['package']}/series", what=what[1], **FORM)
        starts = re.findall(r'name="start" value="([^"]+)"', shown.text)
        async with console.uow() as uow:
            await book(uow, "sofia", local(2026, 11, 17, 10))
            await uow.commit()
        refused = await http.post(f"/desk/packages/{who['package']}/series", data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', shown.text)[1],
            "what": what[1], **FORM, "start": starts, "confirmed": "yes"})
        assert refused.status_code == 409
        assert "nothing was" in refused.text
        assert "(instead of Tue 17 Nov, 10:00 a.m., which is not free)" in refused.text
        incomplete = await post(http, f"/desk/packages/{who['package']}/series", what="x",
                                first="", every="7")
        assert incomplete.status_code == 400
    assert await booked_for_maya(console, who["maya"]) == 0
    async with console.uow(readonly=True) as uow:
        assert (await counters(uow, who["package"]))[2:] == (0, 3)


async def test_refusals_are_in_the_staff_members_language(console: Console) -> None:
    who = await ids(console)
    url = f"/desk/packages/{who['package']}/series"
    async with console.uow() as uow:  # the package's uses are all booked meanwhile
        for day in (3, 10, 17):
            await book(uow, "maya", local(2026, 11, day, 11), package_id=who["package"])
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "desk")
        form = await http.get(url)
        what = re.search(r'<option value="([\d-]+)">Physiotherapy follow-up, Ana', form.text)
        assert what
        for language, rhythm, used_up in (
                ("es", "Una serie se repite cada 1 a 60 días.",
                 "A este paquete no le quedan sesiones para reservar."),
                ("fr", "Une série se répète tous les 1 à 60 jours.",
                 "Il ne reste aucune séance à réserver sur ce forfait.")):
            await post(http, "/desk/language", language=language, back="/desk/")
            refused = await post(http, url, what=what[1], first=FORM["first"], every="99")
            assert refused.status_code == 400 and rhythm in refused.text, language
            refused = await post(http, url, what=what[1], **FORM)
            assert refused.status_code == 400 and used_up in refused.text, language
