"""My appointments: list, cancel, reschedule, too late, past expiry (RULES.md 5, 7, 17).

The clock is Monday 2 November 2026, 08:00 in Toronto; the clinic's notice is 24 hours. Maya
(en_CA) owns a Physio 5-pack (3 left, Ana at Downtown) and manages Leo (Massage 10-pack).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.services import appointments, package_admin
from bot.storage.models import (
    Appointment,
    Fee,
    InboxItem,
    Location,
    OutboxMessage,
    Patient,
    PatientPackage,
    Practitioner,
)
from tests.dialogs.test_book import counters, package_id

TUE_10AM = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)  # Tue 3 Nov, 10:00 in Toronto


async def book(make_uow, key: str, starts_at: datetime, *, fee: str = "physio-follow",
               practitioner: str = "ana", location: str = "downtown",
               package: str | None = "auto") -> int:
    """Book through the service (as the desk would) and return the appointment's id."""
    async with make_uow() as uow:
        who = await uow.session.scalar(select(Patient.id).where(Patient.key == key))
        fee_id = await uow.session.scalar(select(Fee.id).where(Fee.key == fee))
        practitioner_id = await uow.session.scalar(
            select(Practitioner.id).where(Practitioner.key == practitioner))
        location_id = await uow.session.scalar(select(Location.id).where(Location.key == location))
        appointment = await appointments.book(
            uow, patient_id=who, practitioner_id=practitioner_id, location_id=location_id,
            fee_id=fee_id, starts_at=starts_at, package_id=package, booked_by="staff",
        )
        await uow.commit()
        return appointment.id


async def row(make_uow, appointment_id: int) -> tuple[str, datetime, int | None, str | None]:
    async with make_uow() as uow:
        a = await uow.session.get(Appointment, appointment_id)
        return a.status, a.starts_at, a.package_id, a.package_use


async def open_appointments(chat, person: str = "Maya") -> None:
    await chat.say("hi")
    await chat.choose("My appointments")
    await chat.choose(person)


async def test_no_upcoming_appointments_offers_to_book(chat):
    await open_appointments(chat)
    assert "no upcoming appointments" in chat.text
    assert chat.labels == ["Book an appointment", "Back to menu"]
    reply = await chat.choose("Book an appointment")
    assert "use your package" in reply.text, "straight into booking, for the same person"
    reply = await chat.say("back")
    assert "no upcoming appointments" in reply.text
    reply = await chat.choose("Back to menu")
    assert "What would you like to do?" in reply.text


async def test_the_list_shows_upcoming_appointments_with_a_package_marker(
    chat, make_uow, clock
):
    await book(make_uow, "maya", datetime(2026, 11, 4, 15, 0, tzinfo=UTC), package=None)
    await book(make_uow, "maya", TUE_10AM)
    await book(make_uow, "maya", datetime(2026, 11, 2, 14, 0, tzinfo=UTC), package=None)
    cancelled = await book(make_uow, "maya", datetime(2026, 11, 10, 15, 0, tzinfo=UTC))
    await book(make_uow, "leo", datetime(2026, 11, 4, 14, 0, tzinfo=UTC), fee="massage-60",
               practitioner="ben", location="east")
    async with make_uow() as uow:
        await appointments.cancel(uow, cancelled, by="staff")
        await uow.commit()
    clock.set(datetime(2026, 11, 2, 14, 30, tzinfo=UTC))  # today's 9:00 has started
    await open_appointments(chat)
    assert chat.labels == [
        "Tue 3 Nov, 10:00 a.m.: Physiotherapy follow-up, Ana Silva (package)",
        "Wed 4 Nov, 10:00 a.m.: Physiotherapy follow-up, Ana Silva",
    ], "soonest first; started, cancelled and Leo's appointments are not listed"
    reply = await chat.choose("Wed 4 Nov")
    assert "Wed 4 Nov, 10:00 a.m.: Physiotherapy follow-up with Ana Silva at Downtown" in (
        reply.text
    )
    assert "Covered by" not in reply.text
    assert chat.labels == ["Call it off", "Reschedule", "Back"]
    reply = await chat.choose("Back")
    await chat.choose("Tue 3 Nov")
    assert "Covered by your Physio 5-pack." in chat.text


async def test_cancelling_in_time_returns_the_use_to_the_package(chat, make_uow):
    appointment_id = await book(make_uow, "maya", TUE_10AM)
    assert await counters(make_uow, "maya") == (2, 1, 2)
    await open_appointments(chat)
    await chat.choose("Tue 3 Nov")
    reply = await chat.choose("Call it off")
    assert "Call off this appointment?" in reply.text
    assert chat.labels == ["Yes, call it off", "No, keep it"]
    reply = await chat.say("back")
    assert chat.labels == ["Call it off", "Reschedule", "Back"]
    await chat.choose("Call it off")
    reply = await chat.choose("Yes, call it off")
    assert "Cancelled. The use went back to your Physio 5-pack (3 left)." in reply.text
    assert "What would you like to do?" in reply.text
    assert await row(make_uow, appointment_id) == ("cancelled", TUE_10AM, None, None)
    assert await counters(make_uow, "maya") == (2, 0, 3)


async def test_keeping_it_changes_nothing(chat, make_uow):
    appointment_id = await book(make_uow, "maya", TUE_10AM, package=None)
    await open_appointments(chat)
    await chat.choose("Tue 3 Nov")
    await chat.choose("Call it off")
    reply = await chat.choose("No, keep it")
    assert "Upcoming appointments" in reply.text
    assert await row(make_uow, appointment_id) == ("booked", TUE_10AM, None, None)
    await chat.choose("Tue 3 Nov")
    await chat.choose("Call it off")
    reply = await chat.choose("Yes")
    assert reply.text.startswith("Cancelled.") and "package" not in reply.text
    assert (await row(make_uow, appointment_id))[0] == "cancelled"


async def test_too_late_to_cancel_offers_a_message_to_the_clinic(chat, make_uow, clock):
    appointment_id = await book(make_uow, "maya", TUE_10AM)
    clock.set(datetime(2026, 11, 2, 16, 0, tzinfo=UTC))  # 11:00: 23 hours before
    await open_appointments(chat)
    await chat.choose("Tue 3 Nov")
    reply = await chat.choose("Call it off")
    assert "only up to 24 hours before they start" in reply.text
    assert chat.labels == ["Send a message to the clinic", "Back to menu"]
    reply = await chat.choose("Send a message to the clinic")
    assert "Type your message" in reply.text
    reply = await chat.say("I have a fever and cannot come tomorrow")
    assert "passed to the clinic" in reply.text
    async with make_uow() as uow:
        [message] = (await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "message"))).all()
        assert message.params["about"] == f"appointment:{appointment_id}"
        item = await uow.session.get(InboxItem, message.params["inbox_id"])  # text kept there
        assert item is not None and item.text == "I have a fever and cannot come tomorrow"
    assert await row(make_uow, appointment_id) == ("booked", TUE_10AM, await package_id(
        make_uow, "maya"), "reserved")
    assert await counters(make_uow, "maya") == (2, 1, 2)


async def test_the_notice_window_passing_while_confirming_is_refused_by_the_rule(
    chat, make_uow, clock
):
    appointment_id = await book(make_uow, "maya", TUE_10AM)
    clock.set(datetime(2026, 11, 2, 14, 45, tzinfo=UTC))  # 9:45: 24.25 hours before
    await open_appointments(chat)
    await chat.choose("Tue 3 Nov")
    await chat.choose("Call it off")
    # 10:05, within the quiet period of the last answer: 23.9 hours before
    clock.set(datetime(2026, 11, 2, 15, 5, tzinfo=UTC))
    reply = await chat.choose("Yes, call it off")
    assert "only up to 24 hours" in reply.text
    reply = await chat.choose("Back to menu")
    assert "What would you like to do?" in reply.text
    assert (await row(make_uow, appointment_id))[0] == "booked"
    assert await counters(make_uow, "maya") == (2, 1, 2)


async def test_rescheduling_keeps_the_package_and_moves_the_time(chat, make_uow):
    appointment_id = await book(make_uow, "maya", TUE_10AM)
    await open_appointments(chat)
    await chat.choose("Tue 3 Nov")
    reply = await chat.choose("Reschedule")
    assert "Which day?" in reply.text
    await chat.choose("Tue 3 Nov")
    await chat.choose("Morning")
    assert "10:00 a.m." not in chat.labels, "its own time is not offered again"
    assert "9:45 a.m." in chat.labels, "its own time does not block the times around it"
    await chat.say("back")
    reply = await chat.say("Wednesday 2pm")
    assert "Move this appointment to Wed 4 Nov, 2:00 p.m.?" in reply.text
    assert "Tue 3 Nov, 10:00 a.m." in reply.text
    reply = await chat.choose("Confirm")
    assert "Your appointment is now: Wed 4 Nov, 2:00 p.m." in reply.text
    moved = datetime(2026, 11, 4, 19, 0, tzinfo=UTC)
    assert await row(make_uow, appointment_id) == (
        "booked", moved, await package_id(make_uow, "maya"), "reserved")
    assert await counters(make_uow, "maya") == (2, 1, 2)


async def test_a_time_taken_before_the_move_is_confirmed_shows_fresh_times(chat, make_uow):
    appointment_id = await book(make_uow, "maya", TUE_10AM)
    await open_appointments(chat)
    await chat.choose("Tue 3 Nov")
    await chat.choose("Reschedule")
    await chat.say("Wednesday 2pm")
    await book(make_uow, "leo", datetime(2026, 11, 4, 19, 0, tzinfo=UTC), package=None)
    reply = await chat.choose("Confirm")
    assert "someone just took that time" in reply.text and "Which time on Wed 4 Nov?" in reply.text
    assert "2:00 p.m." not in chat.labels
    assert await row(make_uow, appointment_id) == (
        "booked", TUE_10AM, await package_id(make_uow, "maya"), "reserved")


async def test_moving_past_the_package_expiry_explains_what_would_allow_it(chat, make_uow):
    appointment_id = await book(make_uow, "maya", TUE_10AM)
    async with make_uow() as uow:
        await package_admin.change_expiry(uow, await package_id(make_uow, "maya"),
                                          date(2026, 11, 5))
        await uow.commit()
    await open_appointments(chat)
    await chat.choose("Tue 3 Nov")
    await chat.choose("Reschedule")
    reply = await chat.choose("Mon 9 Nov")
    await chat.choose("Morning")
    await chat.choose("11:00 a.m.")
    reply = await chat.choose("Confirm")
    assert "Physio 5-pack expires on Nov 5, 2026" in reply.text
    assert "cannot cover an appointment on Nov 9, 2026" in reply.text
    assert "remove the package from this appointment or extend its expiry" in reply.text
    assert chat.labels == ["Send a message to the clinic", "Choose another day"]
    assert await row(make_uow, appointment_id) == (
        "booked", TUE_10AM, await package_id(make_uow, "maya"), "reserved")
    reply = await chat.choose("Choose another day")
    assert "Which day?" in reply.text
    await chat.choose("Thu 5 Nov")
    await chat.choose("Morning")
    await chat.choose("11:00 a.m.")
    reply = await chat.choose("Confirm")
    assert "Your appointment is now: Thu 5 Nov, 11:00 a.m." in reply.text
    assert (await row(make_uow, appointment_id))[1] == datetime(2026, 11, 5, 16, 0, tzinfo=UTC)


async def test_past_expiry_can_be_passed_to_the_clinic(chat, make_uow):
    appointment_id = await book(make_uow, "maya", TUE_10AM)
    async with make_uow() as uow:
        await package_admin.change_expiry(uow, await package_id(make_uow, "maya"),
                                          date(2026, 11, 5))
        await uow.commit()
    await open_appointments(chat)
    await chat.choose("Tue 3 Nov")
    await chat.choose("Reschedule")
    await chat.say("next Monday 11am")
    await chat.choose("Confirm")
    await chat.choose("Send a message to the clinic")
    await chat.say("Please extend my package so I can move to Monday")
    async with make_uow() as uow:
        [message] = (await uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "message"))).all()
        assert message.params["about"] == f"appointment:{appointment_id}"


async def test_a_guardian_cancels_leos_appointment_and_his_package_gets_the_use_back(
    chat, make_uow
):
    appointment_id = await book(make_uow, "leo", datetime(2026, 11, 4, 14, 0, tzinfo=UTC),
                                fee="massage-60", practitioner="ben", location="east")
    assert await counters(make_uow, "leo") == (0, 1, 9)
    await open_appointments(chat, "Leo")
    assert chat.labels == ["Wed 4 Nov, 9:00 a.m.: Massage therapy 60 min, Ben Okafor (package)"]
    await chat.choose("Wed 4 Nov")
    await chat.choose("Call it off")
    reply = await chat.choose("Yes, call it off")
    assert "The use went back to your Massage 10-pack (10 left)." in reply.text
    assert (await row(make_uow, appointment_id))[0] == "cancelled"
    assert await counters(make_uow, "leo") == (0, 0, 10)


async def test_back_and_stale_answers_in_my_appointments(chat, make_uow):
    appointment_id = await book(make_uow, "maya", TUE_10AM)
    await open_appointments(chat)
    list_question = chat.last
    reply = await chat.say("5")
    assert "5 is not one of the choices" in reply.text
    await chat.press("Tue 3 Nov")
    await chat.press("Reschedule")
    reply = await chat.say("back")
    assert chat.labels == ["Call it off", "Reschedule", "Back"]
    reply = await chat.say("back")
    assert "Upcoming appointments" in reply.text
    reply = await chat.send(choice=list_question.options[0].key)  # same key, fresh list: fine
    assert chat.labels == ["Call it off", "Reschedule", "Back"]
    async with make_uow() as uow:  # the desk cancels it meanwhile
        await appointments.cancel(uow, appointment_id, by="staff")
        await uow.commit()
    reply = await chat.choose("Call it off")
    assert "Please answer" in reply.text and "no longer booked" in reply.text
    assert chat.labels == ["Back"]
    reply = await chat.choose("Back")
    assert "no upcoming appointments" in reply.text
    reply = await chat.send(choice=list_question.options[0].key)
    assert "earlier message" in reply.text and "no upcoming appointments" in reply.text
    async with make_uow() as uow:
        package = await uow.session.get(PatientPackage, await package_id(make_uow, "maya"))
        assert (package.booked, package.available) == (0, 3)
