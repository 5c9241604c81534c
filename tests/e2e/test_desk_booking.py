"""The console's booking pages: book (``/desk/patients/{id}/book``), the appointment page and its
actions (``/desk/appointments/{id}``), rescheduling, and closures and time off
(``/desk/closures``), over HTTP against the real app on SQLite and PostgreSQL (the ``console``
fixture of ``test_desk_core``), including two receptionists booking one time at once.

The test clock reads Monday 2 November 2026, 08:00 in Toronto. Ana works at Downtown Monday to
Thursday 09:00-17:00; Maya owns a Physio 5-pack (3 uses available) for Ana at Downtown.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from bot.storage.models import Appointment, AuditEntry, Closure, OutboxMessage, PatientPackage
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.integration._builders import book, local, patient

TUESDAY = "2026-11-03"
AT_TEN = local(2026, 11, 3, 10).isoformat()


async def ids(console: Console) -> dict[str, int]:
    async with console.uow(readonly=True) as uow:
        maya = await patient(uow, "maya")
        package = await uow.session.scalar(
            select(PatientPackage).where(PatientPackage.patient_id == maya.id))
        assert package is not None
        return {"maya": maya.id, "leo": (await patient(uow, "leo")).id, "package": package.id}


async def where_of(console: Console, practitioner: str, location: str) -> tuple[int, int]:
    from bot.storage.models import Location, Practitioner
    async with console.uow(readonly=True) as uow:
        who = await uow.session.scalar(select(Practitioner.id).where(
            Practitioner.key == practitioner))
        place = await uow.session.scalar(select(Location.id).where(Location.key == location))
        assert who is not None and place is not None
        return who, place


async def fee_of(console: Console, key: str) -> int:
    from bot.storage.models import Fee
    async with console.uow(readonly=True) as uow:
        found = await uow.session.scalar(select(Fee.id).where(Fee.key == key))
        assert found is not None
        return found


async def post(http: httpx.AsyncClient, page: str, path: str, **data: str) -> httpx.Response:
    """Open ``page`` (for its CSRF token), then post ``data`` to ``path``."""
    opened = await http.get(page)
    return await http.post(path, data={"csrf_token": csrf_of(opened), **data})


async def booking_form(console: Console, patient_id: int, *, package: str) -> dict[str, str]:
    ana, downtown = await where_of(console, "ana", "downtown")
    return {"fee": str(await fee_of(console, "physio-follow")), "package": package,
            "practitioner": str(ana), "location": str(downtown), "at": AT_TEN}


@dataclass(frozen=True)
class Seen:
    status: str
    package_id: int | None
    booked_by: str


async def appointment(console: Console, appointment_id: int) -> Seen:
    async with console.uow(readonly=True) as uow:
        found = await uow.session.get(Appointment, appointment_id)
        assert found is not None
        return Seen(found.status, found.package_id, found.booked_by)


async def available(console: Console, package_id: int) -> int:
    async with console.uow(readonly=True) as uow:
        found = await uow.session.get(PatientPackage, package_id)
        assert found is not None
        return found.available


async def test_the_desk_books_a_free_time_with_the_package_pre_selected(
        console: Console) -> None:
    known = await ids(console)
    async with console.client() as http:
        await log_in(http, "desk")
        follow = await fee_of(console, "physio-follow")
        page = await http.get(f"/desk/patients/{known['maya']}/book?fee={follow}&day={TUESDAY}")
        assert page.status_code == 200
        assert "Book an appointment for Maya Chen" in page.text
        assert f'value="{known["package"]}" selected' in page.text  # pre-selected, as in chat
        assert "Ana Silva at Downtown" in page.text and "Ben Okafor" not in page.text
        tuesday = page.text.split(f'id="day-{TUESDAY}"')[1].split("</fieldset>")[0]
        assert f'value="{AT_TEN}"' in tuesday
        assert ">9:00 a.m.<" in tuesday and ">4:30 p.m.<" in tuesday
        booked = await http.post(f"/desk/patients/{known['maya']}/book", data={
            "csrf_token": csrf_of(page),
            **await booking_form(console, known["maya"], package=str(known["package"]))})
        assert booked.status_code == 303
        location = booked.headers["location"]
        assert re.fullmatch(r"/desk/appointments/\d+\?done=booked", location)
        shown = await http.get(location)
        assert shown.status_code == 200 and "Booked." in shown.text
        for text in ("Maya Chen", "Ana Silva", "Downtown", "Physiotherapy follow-up",
                     "Tue 3 Nov, 10:00", "Physio 5-pack", f"/desk/packages/{known['package']}",
                     f"/desk/patients/{known['maya']}"):
            assert text in shown.text, text
        again = await http.get(
            f"/desk/patients/{known['maya']}/book?fee={follow}&day={TUESDAY}")
        assert f'value="{AT_TEN}"' not in again.text  # taken now
    appointment_id = int(location.split("/")[3].split("?")[0])
    made = await appointment(console, appointment_id)
    assert made.package_id == known["package"] and made.booked_by == "staff"
    assert await available(console, known["package"]) == 2
    async with console.uow(readonly=True) as uow:
        entry = await uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "appointment.book"))
        assert entry is not None and entry.staff == "desk" and entry.face == "console"


async def test_without_a_package_and_the_other_fees_and_places(console: Console) -> None:
    known = await ids(console)
    async with console.client() as http:
        await log_in(http, "desk")
        massage = await fee_of(console, "massage-60")
        page = await http.get(f"/desk/patients/{known['maya']}/book?fee={massage}")
        assert "Ben Okafor at East End" in page.text and "Physio 5-pack" not in page.text
        follow = await fee_of(console, "physio-follow")
        path = f"/desk/patients/{known['maya']}/book"
        again = await http.get(f"{path}?fee={follow}&shown={massage}&package=none")
        assert f'value="{known["package"]}" selected' in again.text  # pre-selected again
        kept = await http.get(f"{path}?fee={follow}&shown={follow}&package=none")
        assert 'value="none" selected' in kept.text
        later = await http.get(f"{path}?fee={follow}&day=2026-11-09")
        assert 'id="day-2026-11-09"' in later.text and 'id="day-2026-11-08"' not in later.text
        assert "&amp;day=2026-11-16" in later.text  # the link to the next days
        past = await http.get(f"{path}?fee={follow}&day=2026-10-01")
        assert 'id="day-2026-11-02"' in past.text and 'id="day-2026-10-01"' not in past.text
        booked = await post(http, f"/desk/patients/{known['maya']}/book",
                            f"/desk/patients/{known['maya']}/book",
                            **await booking_form(console, known["maya"], package="none"))
        assert booked.status_code == 303
    made = await appointment(console, int(booked.headers["location"].split("/")[3][:-12]))
    assert made.package_id is None
    assert await available(console, known["package"]) == 3


async def test_a_refused_time_shows_the_reason_and_the_page_again(console: Console) -> None:
    known = await ids(console)
    async with console.client() as http:
        await log_in(http, "desk")
        path = f"/desk/patients/{known['maya']}/book"
        data = await booking_form(console, known["maya"], package="none")
        for at, reason in ((local(2026, 11, 3, 8).isoformat(), "outside their hours"),
                           (local(2026, 11, 1, 10).isoformat(), "has already passed"),
                           ("tomorrow", "choose one of the free times shown")):
            refused = await post(http, path, path, **{**data, "at": at})
            assert refused.status_code == 400 and reason in refused.text
            assert "Book an appointment for Maya Chen" in refused.text
        assert (await http.get("/desk/patients/999999/book")).status_code == 404
    async with console.uow(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Appointment)) == 0


@pytest.mark.parametrize("attempt", range(2))
async def test_two_receptionists_booking_the_same_time_one_wins(
        console: Console, attempt: int) -> None:
    known = await ids(console)
    path = f"/desk/patients/{known['maya']}/book"
    data = await booking_form(console, known["maya"], package="none")

    async def opened(key: str) -> tuple[httpx.AsyncClient, str]:
        http = console.client()
        await log_in(http, key)
        return http, csrf_of(await http.get(path))

    desks = [await opened("desk"), await opened("mia")]
    try:
        answers = await asyncio.gather(*(
            http.post(path, data={"csrf_token": token, **data}) for http, token in desks))
    finally:
        for http, _token in desks:
            await http.aclose()
    assert sorted(a.status_code for a in answers) == [303, 409]
    lost = next(a for a in answers if a.status_code == 409)
    assert "That time has just been taken: choose another time below." in lost.text
    assert f'value="{AT_TEN}"' not in lost.text  # the times still free are offered
    async with console.uow(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Appointment)) == 1


async def test_reschedule_cancel_and_the_package_on_the_appointment_page(
        console: Console) -> None:
    known = await ids(console)
    async with console.uow() as uow:
        made = (await book(uow, "maya", local(2026, 11, 3, 10), package_id=known["package"])).id
        await uow.commit()
    page = f"/desk/appointments/{made}"
    async with console.client() as http:
        await log_in(http, "desk")
        move = await http.get(page + "/reschedule?day=2026-11-04")
        assert move.status_code == 200 and "Reschedule appointment" in move.text
        new_time = local(2026, 11, 4, 11, 30).isoformat()
        assert f'value="{new_time}"' in move.text
        ana, downtown = await where_of(console, "ana", "downtown")
        moved = await post(http, page + "/reschedule", page + "/reschedule", at=new_time,
                           practitioner=str(ana), location=str(downtown))
        assert moved.status_code == 303 and moved.headers["location"] == page + "?done=moved"
        assert "Wed 4 Nov, 11:30" in (await http.get(page)).text
        _ana, east = await where_of(console, "ana", "east")
        narrowed = await http.get(page + f"/reschedule?where={ana}-{east}&day=2026-11-06")
        assert "Ana Silva at East End" not in narrowed.text  # the package: Downtown only
        removed = await post(http, page, page + "/remove-package")
        assert removed.headers["location"] == page + "?done=package-removed"
        assert await available(console, known["package"]) == 3
        shown = await http.get(page)
        assert "Add the package" in shown.text
        friday = local(2026, 11, 6, 10).isoformat()
        there = await http.get(page + f"/reschedule?where={ana}-{east}&day=2026-11-06")
        assert "Ana Silva at East End" in there.text and f'value="{friday}"' in there.text
        moved = await post(http, page, page + "/reschedule", at=friday,
                           practitioner=str(ana), location=str(east))
        assert moved.status_code == 303
        shown = await http.get(page)
        assert "East End" in shown.text and "No package of the patient can cover it." in shown.text
        refused = await post(http, page, page + "/add-package", package=str(known["package"]))
        assert refused.status_code == 400 and "Appointment" in refused.text
        back = await post(http, page, page + "/reschedule", at=new_time,
                          practitioner=str(ana), location=str(downtown))
        assert back.status_code == 303
        added = await post(http, page, page + "/add-package", package=str(known["package"]))
        assert added.headers["location"] == page + "?done=package-added"
        assert await available(console, known["package"]) == 2
        twice = await post(http, page, page + "/add-package", package=str(known["package"]))
        assert twice.status_code == 400 and "already has a package" in twice.text
        confirm = await http.get(page + "/cancel")
        assert "Cancel appointment" in confirm.text and "Yes, cancel it" in confirm.text
        assert (await appointment(console, made)).status == "booked"  # only asked
        cancelled = await post(http, page + "/cancel", page + "/cancel")
        assert cancelled.headers["location"] == page + "?done=cancelled"
        assert (await appointment(console, made)).status == "cancelled"
        assert await available(console, known["package"]) == 3
        again = await post(http, page, page + "/cancel")
        assert again.status_code == 400 and "is cancelled" in again.text
        assert (await http.get("/desk/appointments/999999")).status_code == 404


async def test_arrive_undo_and_no_show_from_the_appointment_page(console: Console) -> None:
    async with console.uow() as uow:
        first = (await book(uow, "maya", local(2026, 11, 2, 9))).id
        second = (await book(uow, "maya", local(2026, 11, 2, 9, 30))).id
        await uow.commit()
    console.clock.advance(local(2026, 11, 2, 9, 45) - console.clock.now())
    async with console.client() as http:
        await log_in(http, "desk")
        page = f"/desk/appointments/{first}"
        arrived = await post(http, page, page + "/arrive")
        assert arrived.headers["location"] == page + "?done=arrived"
        assert (await appointment(console, first)).status == "arrived"
        undone = await post(http, page, page + "/undo-arrival")
        assert undone.headers["location"] == page + "?done=undone"
        assert (await appointment(console, first)).status == "booked"
        other = f"/desk/appointments/{second}"
        marked = await post(http, other, other + "/no-show")
        assert marked.headers["location"] == other + "?done=no-show"
        assert (await appointment(console, second)).status == "no_show"
        assert "/desk/no-shows#no-show-" in (await http.get(other)).text
        today = await http.get("/desk/today")
        assert f'href="/desk/appointments/{first}"' in today.text
        assert 'href="/desk/closures"' in today.text


async def test_a_practitioner_opens_and_marks_only_their_own(console: Console) -> None:
    known = await ids(console)
    async with console.uow() as uow:
        own = (await book(uow, "maya", local(2026, 11, 2, 9))).id
        bens = (await book(uow, "leo", local(2026, 11, 2, 9), fee="massage-60",
                           practitioner="ben", location="east")).id
        await uow.commit()
    console.clock.advance(local(2026, 11, 2, 8, 50) - console.clock.now())  # may arrive
    async with console.client() as http:
        await log_in(http, "ana")
        mine = f"/desk/appointments/{own}"
        page = await http.get(mine)
        assert page.status_code == 200 and "Maya Chen" in page.text
        assert "Reschedule" not in page.text and "/desk/patients/" not in page.text
        theirs = await http.get(f"/desk/appointments/{bens}")
        assert theirs.status_code == 403 and "another practitioner" in theirs.text
        token = csrf_of(page)
        refused = {
            f"/desk/patients/{known['maya']}/book": 403,
            mine + "/reschedule": 403, mine + "/cancel": 403, mine + "/add-package": 403,
            mine + "/remove-package": 403, mine + "/undo-arrival": 403,
            "/desk/closures/1/notify": 403,
            f"/desk/appointments/{bens}/arrive": 403,
            f"/desk/appointments/{bens}/no-show": 403,
            "/desk/closures": 403, "/desk/closures/1/remove": 403,
        }
        for path, status in refused.items():
            answer = await http.post(path, data={"csrf_token": token, "package": "1"})
            assert answer.status_code == status, path
        for path in (f"/desk/patients/{known['maya']}/book", mine + "/reschedule",
                     mine + "/cancel", "/desk/closures"):
            assert (await http.get(path)).status_code == 403, path
        arrived = await http.post(mine + "/arrive", data={"csrf_token": token})
        assert arrived.headers["location"] == mine + "?done=arrived"
    assert (await appointment(console, own)).status == "arrived"
    assert (await appointment(console, bens)).status == "booked"
    async with console.client() as http:
        assert (await http.get(f"/desk/appointments/{own}")).headers["location"] == (
            "/desk/login")


async def test_closures_and_time_off_are_added_listed_and_removed(console: Console) -> None:
    known = await ids(console)
    async with console.uow() as uow:
        await book(uow, "maya", local(2026, 11, 10, 10))
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "mia")
        added = await post(http, "/desk/closures", "/desk/closures", kind="closure",
                           location="", **{"from": "2026-11-10", "reason": "Staff day"})
        assert added.status_code == 303 and "done=added" in added.headers["location"]
        listing = await http.get(added.headers["location"])
        assert "Added" in listing.text and "Staff day" in listing.text
        assert "Tue, Nov 10, 2026" in listing.text or "Nov 10, 2026" in listing.text
        assert "appointment " in listing.text  # the booked one, to move or cancel
        closure_id = int(added.headers["location"].split("closure=")[1].split("#")[0])
        for _time in range(2):
            told = await post(http, "/desk/closures", f"/desk/closures/{closure_id}/notify",
                              kind="closure")
            assert told.status_code == 303
        told_page = await http.get(told.headers["location"])
        assert "Told 0 patient(s)" in told_page.text and "1 had been told already" in told_page.text
        async with console.uow(readonly=True) as uow:
            sent = await uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.purpose.like(f"closure:{closure_id}:%")))
        assert sent == 1
        page = await http.get(f"/desk/patients/{known['maya']}/book?day=2026-11-10")
        closed_day = page.text.split('id="day-2026-11-10"')[1].split("</fieldset>")[0]
        assert "No free time" in closed_day
        ana, _downtown = await where_of(console, "ana", "downtown")
        off = await post(http, "/desk/closures", "/desk/closures", kind="time-off",
                         practitioner=str(ana), from_time="12:00", to_time="17:00",
                         **{"from": "2026-11-11", "reason": "Course"})
        assert off.status_code == 303
        follow = await fee_of(console, "physio-follow")
        page = await http.get(f"/desk/patients/{known['maya']}/book?fee={follow}&day=2026-11-11")
        wednesday = page.text.split('id="day-2026-11-11"')[1].split("</fieldset>")[0]
        assert ">11:30 a.m.<" in wednesday and ">12:00 p.m.<" not in wednesday
        for data, reason in (({"from": ""}, "give the first day"),
                             ({"from": "2026-11-12", "from_time": "12:00"}, "give both times"),
                             ({"from": "2026-10-12"}, "already over"),
                             ({"from": "2026-11-12", "to": "2026-11-11"}, "end after")):
            refused = await post(http, "/desk/closures", "/desk/closures", kind="closure",
                                 location="", **data)
            assert refused.status_code == 400 and reason in refused.text, reason
        async with console.uow(readonly=True) as uow:
            rows = (await uow.session.execute(select(
                Closure.id, Closure.practitioner_id, Closure.reason).order_by(Closure.id))).all()
        assert [(c.practitioner_id, c.reason) for c in rows] == [(None, "Staff day"),
                                                                 (ana, "Course")]
        wrong_kind = await post(http, "/desk/closures", f"/desk/closures/{rows[0].id}/remove",
                                kind="time-off")
        assert wrong_kind.status_code == 400
        for row, kind in ((rows[0], "closure"), (rows[1], "time-off")):
            gone = await post(http, "/desk/closures", f"/desk/closures/{row.id}/remove",
                              kind=kind)
            assert gone.status_code == 303 and "done=removed" in gone.headers["location"]
        assert "No closure to come." in (await http.get("/desk/closures")).text
    async with console.uow(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Closure)) == 0
        actions = set(await uow.session.scalars(select(AuditEntry.action)))
        assert {"closure.add", "time_off.add", "closure.remove", "time_off.remove"} <= actions
