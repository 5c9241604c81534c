"""Book an appointment: transcripts of every branch, and the database after each (RULES.md 3, 4,
17, 20).

The clock is Monday 2 November 2026, 08:00 in Toronto (EST, UTC-5). Maya (en_CA) owns a paid
Physio 5-pack (3 left; Ana at Downtown, Mon-Thu 9-17; physio follow-up only); Leo, whom she
manages, owns a Massage 10-pack (Ben at East End, Mon/Wed/Fri/Sat 8-14).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import select

from bot.services import appointments, billing, package_admin, packages
from bot.storage.models import Appointment, Fee, Location, Patient, PatientPackage, Practitioner
from tests.dialogs.conftest import SOFIA
from tests.statements import statements

FIRST_DAYS = ["Mon 2 Nov", "Tue 3 Nov", "Wed 4 Nov", "Thu 5 Nov", "Mon 9 Nov", "Tue 10 Nov"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def patient(uow, key: str) -> Patient:
    return await uow.session.scalar(select(Patient).where(Patient.key == key))


async def booked(make_uow, key: str) -> list[SimpleNamespace]:
    """The patient's appointments (every column, read in a fresh unit of work)."""
    async with make_uow() as uow:
        who = await patient(uow, key)
        rows = await uow.session.scalars(
            select(Appointment).where(Appointment.patient_id == who.id).order_by(Appointment.id)
        )
        columns = Appointment.__table__.columns.keys()
        return [SimpleNamespace(**{c: getattr(row, c) for c in columns}) for row in rows]


async def counters(make_uow, key: str) -> tuple[int, int, int]:
    """(redeemed, booked, available) of the patient's first package."""
    async with make_uow() as uow:
        who = await patient(uow, key)
        package = await uow.session.scalar(
            select(PatientPackage).where(PatientPackage.patient_id == who.id)
            .order_by(PatientPackage.id)
        )
        return package.redeemed, package.booked, package.available


async def package_id(make_uow, key: str) -> int:
    async with make_uow() as uow:
        who = await patient(uow, key)
        return await uow.session.scalar(
            select(PatientPackage.id).where(PatientPackage.patient_id == who.id)
            .order_by(PatientPackage.id)
        )


async def start_booking(chat, person: str = "Maya") -> None:
    await chat.say("hi")
    await chat.choose("Book an appointment")
    await chat.choose(person)


async def test_booking_with_the_preselected_package(chat, make_uow):
    await start_booking(chat)
    assert "use your package" in chat.text
    assert chat.labels == ["Physio 5-pack (3 left)", "Without a package"]
    reply = await chat.choose("Physio 5-pack")
    # One eligible fee and one practitioner/location the package allows: straight to the day.
    assert "Which day?" in reply.text and chat.labels == FIRST_DAYS
    reply = await chat.choose("Tue 3 Nov")
    assert "Which time on Tue 3 Nov? Choose a part of the day" in reply.text
    assert chat.labels == ["Morning: 9:00 a.m. to 11:45 a.m.",
                           "Afternoon: 12:00 p.m. to 4:30 p.m.", "Another day",
                           "Tell me if something opens"]
    reply = await chat.choose("Morning")
    assert "Which time on Tue 3 Nov? These are the morning times." in reply.text
    assert chat.labels[:2] == ["9:00 a.m.", "9:15 a.m."]
    assert chat.labels[-2:] == ["Another day", "Tell me if something opens"]
    reply = await chat.choose("10:00 a.m.")
    assert "Physiotherapy follow-up with Ana Silva at Downtown" in reply.text
    assert "Tue 3 Nov, 10:00 a.m." in reply.text
    assert "Uses 1 of your Physio 5-pack: 2 left after this." in reply.text
    assert "You pay $0.00 for this session." in reply.text
    assert chat.labels == ["Confirm", "Choose another time", "Book my remaining sessions"]
    reply = await chat.choose("Confirm")
    assert "Booked for Tue 3 Nov, 10:00 a.m.: Physiotherapy follow-up" in reply.text
    assert "Physio 5-pack: 2 uses left." in reply.text
    assert chat.labels[0] == "Book an appointment", "back at the main menu"
    [appointment] = await booked(make_uow, "maya")
    assert appointment.starts_at == utc(2026, 11, 3, 15, 0)
    assert appointment.status == "booked" and appointment.booked_by == "patient"
    assert appointment.package_id == await package_id(make_uow, "maya")
    assert appointment.package_use == "reserved"
    assert await counters(make_uow, "maya") == (2, 1, 2)


async def test_without_a_package_the_patient_picks_treatment_and_place(chat, make_uow):
    await start_booking(chat)
    reply = await chat.choose("Without a package")
    assert "What would you like to book?" in reply.text
    assert chat.labels == [
        "Physiotherapy initial assessment", "Physiotherapy follow-up", "Massage therapy 60 min",
    ]
    reply = await chat.choose("follow-up")
    assert "With whom" in reply.text
    assert chat.labels == ["Ana Silva, Downtown", "Ana Silva, East End"]
    reply = await chat.choose("East End")
    assert chat.labels == ["Fri 6 Nov", "Fri 13 Nov", "Fri 20 Nov", "Fri 27 Nov"]
    await chat.choose("Fri 6 Nov")
    await chat.choose("Morning")
    reply = await chat.choose("10:00 a.m.")
    assert "Ana Silva at East End" in reply.text and "Uses 1" not in reply.text
    assert "You pay $90.00 for this session." in reply.text
    reply = await chat.choose("Confirm")
    assert "Booked for Fri 6 Nov, 10:00 a.m." in reply.text and "uses left" not in reply.text
    [appointment] = await booked(make_uow, "maya")
    assert appointment.package_id is None and appointment.package_use is None
    async with make_uow() as uow:
        east = await uow.session.scalar(select(Location.id).where(Location.key == "east"))
    assert appointment.location_id == east
    assert appointment.starts_at == utc(2026, 11, 6, 15, 0)
    assert await counters(make_uow, "maya") == (2, 0, 3), "declined: the package is untouched"


async def test_a_patient_without_a_usable_package_is_asked_the_treatment_first(chat, make_uow):
    async with make_uow() as uow:
        await package_admin.change_expiry(uow, await package_id(make_uow, "maya"),
                                          date(2026, 11, 1))
        await uow.commit()
    await start_booking(chat)
    assert "What would you like to book?" in chat.text, "an expired package is not offered"
    assert "Massage therapy 60 min" in chat.labels


async def test_the_package_expiring_first_is_preselected_and_my_packages_can_choose(
    chat, make_uow
):
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        later = await packages.sell_package(uow, maya.id, "physio-5")
        invoice = (await packages.package_invoices(uow, later.id))[0]
        await billing.record_payment(uow, invoice.id, Decimal("400.00"))
        await uow.commit()
    await start_booking(chat)
    assert chat.labels == ["Physio 5-pack (3 left)", "Physio 5-pack (5 left)", "Without a package"]
    await chat.say("menu")
    await chat.choose("My packages")
    await chat.choose("Maya")
    await chat.choose("5 left")
    reply = await chat.choose("Book with this package")
    assert "use your package" not in reply.text and "Which day?" in reply.text
    await chat.say("back")
    assert "Physio 5-pack (active)" in chat.text, "BACK returns to the package's page"
    await chat.choose("Book with this package")
    await chat.choose("Tue 3 Nov")
    await chat.choose("Morning")
    await chat.choose("9:00 a.m.")
    await chat.choose("Confirm")
    [appointment] = await booked(make_uow, "maya")
    assert appointment.package_id == later.id


async def test_typed_days_and_times_in_english(chat, make_uow):
    await start_booking(chat)
    await chat.choose("Physio 5-pack")
    reply = await chat.say("tomorrow")
    assert "Which time on Tue 3 Nov?" in reply.text
    await chat.say("back")
    reply = await chat.say("Friday afternoon")
    assert "no free times on Fri 6 Nov" in reply.text and "Mon 9 Nov" in reply.text
    assert "Which day?" in reply.text
    reply = await chat.say("Wednesday afternoon")
    assert "Which time on Wed 4 Nov? These are the afternoon times." in reply.text
    assert chat.labels[0] == "12:00 p.m." and "11:45 a.m." not in chat.labels
    reply = await chat.say("3pm")  # a time alone, at the time step: that day
    assert "Wed 4 Nov, 3:00 p.m." in reply.text and "is not free" not in reply.text
    await chat.say("back")
    await chat.say("back")
    reply = await chat.say("12 March 3pm")
    assert "booked online up to Nov 30, 2026" in reply.text
    reply = await chat.say("yesterday")
    assert "already passed" in reply.text
    reply = await chat.say("blue banana")
    assert "could not read that as a day" in reply.text and chat.labels == FIRST_DAYS
    reply = await chat.say("tomorrow 8pm")
    assert "no free time at or after 8:00 p.m. on Tue 3 Nov" in reply.text
    assert "Which time on Tue 3 Nov?" in reply.text
    await chat.say("back")
    reply = await chat.say("tomorrow at 10:10")
    assert "10:10 a.m. on Tue 3 Nov is not free; the nearest free time after it is 10:15" in (
        reply.text
    )
    assert "Tue 3 Nov, 10:15 a.m." in reply.text and chat.labels[0] == "Confirm"
    await chat.choose("Confirm")
    [appointment] = await booked(make_uow, "maya")
    assert appointment.starts_at == utc(2026, 11, 3, 15, 15)


async def test_a_part_of_the_day_alone_picks_the_first_day_with_such_times(chat):
    await start_booking(chat, "Leo")
    await chat.choose("Massage 10-pack")
    reply = await chat.say("afternoon")  # Ben works 8-14: today's afternoon has 12:00, 13:00
    assert "Which time on Mon 2 Nov? These are the afternoon times." in reply.text
    assert chat.labels == ["12:00 p.m.", "12:15 p.m.", "12:30 p.m.", "12:45 p.m.", "1:00 p.m.",
                           "Another day", "Tell me if something opens"]
    reply = await chat.say("evening")
    assert "no free evening times on Mon 2 Nov" in reply.text


async def test_typed_days_and_times_in_spanish(make_chat, make_uow):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    await sofia.say("1")  # Book an appointment (no family: no "who is this for")
    # No package: the first question is the treatment; fee names are the clinic's own.
    await sofia.choose("Massage therapy 60 min")
    assert sofia.labels == ["lun 2 nov", "mié 4 nov", "vie 6 nov", "sáb 7 nov", "lun 9 nov",
                            "mié 11 nov"]
    reply = await sofia.say("mañana")  # Tuesday: Ben does not work
    assert "mar 3 nov" in reply.text and "mié 4 nov" in reply.text
    assert len(sofia.labels) == 6, "asked again"
    await sofia.say("viernes por la tarde")
    assert sofia.labels[:-2] == ["12:00", "12:15", "12:30", "12:45", "13:00"]
    await sofia.say("back")
    reply = await sofia.say("viernes a las 9:10")
    assert "vie 6 nov, 09:15" in reply.text and "09:10" in reply.text
    await sofia.say("1")  # Confirm
    [appointment] = await booked(make_uow, "sofia")
    assert appointment.starts_at == utc(2026, 11, 6, 14, 15)
    assert appointment.package_id is None


async def test_a_time_taken_before_confirming_is_explained_with_fresh_times(chat, make_uow):
    await start_booking(chat)
    await chat.choose("Physio 5-pack")
    await chat.choose("Tue 3 Nov")
    await chat.choose("Morning")
    await chat.choose("10:00 a.m.")
    assert chat.labels == ["Confirm", "Choose another time", "Book my remaining sessions"]
    async with make_uow() as uow:  # someone else books Ana at that time meanwhile
        sofia = await patient(uow, "sofia")
        ana = await uow.session.scalar(select(Practitioner).where(Practitioner.key == "ana"))
        fee = await uow.session.scalar(select(Fee).where(Fee.key == "physio-follow"))
        downtown = await uow.session.scalar(select(Location).where(Location.key == "downtown"))
        await appointments.book(uow, patient_id=sofia.id, practitioner_id=ana.id,
                                location_id=downtown.id, fee_id=fee.id,
                                starts_at=utc(2026, 11, 3, 15, 0), booked_by="staff")
        await uow.commit()
    reply = await chat.choose("Confirm")
    assert "someone just took that time" in reply.text
    assert "Which time on Tue 3 Nov?" in reply.text
    assert "10:00 a.m." not in chat.labels and "10:15 a.m." not in chat.labels
    assert "9:30 a.m." in chat.labels and "10:30 a.m." in chat.labels
    assert await booked(make_uow, "maya") == []
    assert await counters(make_uow, "maya") == (2, 0, 3), "no use reserved"
    reply = await chat.say("back")  # the confirmation of the taken time says it is gone
    assert "no longer free" in reply.text and chat.labels == ["Choose another time"]
    await chat.choose("Choose another time")
    await chat.choose("10:30 a.m.")
    await chat.choose("Confirm")
    [appointment] = await booked(make_uow, "maya")
    assert appointment.starts_at == utc(2026, 11, 3, 15, 30)
    assert await counters(make_uow, "maya") == (2, 1, 2)


async def test_a_guardian_books_for_leo_with_his_massage_package(chat, make_uow):
    await start_booking(chat, "Leo")
    assert chat.labels == ["Massage 10-pack (10 left)", "Without a package"]
    reply = await chat.choose("Massage 10-pack")
    assert chat.labels == ["Mon 2 Nov", "Wed 4 Nov", "Fri 6 Nov", "Sat 7 Nov", "Mon 9 Nov",
                           "Wed 11 Nov"], reply.text
    await chat.choose("Wed 4 Nov")
    await chat.choose("Morning")
    reply = await chat.choose("9:00 a.m.")
    assert "Massage therapy 60 min with Ben Okafor at East End" in reply.text
    assert "Uses 1 of your Massage 10-pack: 9 left after this." in reply.text
    assert "You pay $10.00 for this session." in reply.text
    reply = await chat.choose("Confirm")
    assert "Booked for Leo, Wed 4 Nov, 9:00 a.m." in reply.text
    [appointment] = await booked(make_uow, "leo")
    assert appointment.package_id == await package_id(make_uow, "leo")
    assert await counters(make_uow, "leo") == (0, 1, 9)
    assert await booked(make_uow, "maya") == []


async def test_a_package_expiring_soon_limits_the_days(chat, make_uow):
    async with make_uow() as uow:
        await package_admin.change_expiry(uow, await package_id(make_uow, "maya"),
                                          date(2026, 11, 4))
        await uow.commit()
    await start_booking(chat)
    reply = await chat.choose("Physio 5-pack")
    assert chat.labels == ["Mon 2 Nov", "Tue 3 Nov", "Wed 4 Nov"]
    reply = await chat.say("Thursday")
    assert "package can be used until Nov 4, 2026" in reply.text


async def test_back_at_each_step_restores_the_previous_question(chat, make_uow):
    await start_booking(chat)
    await chat.choose("Without a package")
    await chat.choose("follow-up")
    await chat.choose("Downtown")
    await chat.choose("Tue 3 Nov")
    await chat.choose("Morning")
    reply = await chat.choose("11:00 a.m.")
    assert "Please check your booking" in reply.text
    reply = await chat.say("back")
    assert "Which time on Tue 3 Nov? These are the morning times." in reply.text
    reply = await chat.say("back")
    assert "Which time on Tue 3 Nov? Choose a part of the day" in reply.text
    reply = await chat.say("back")
    assert "Which day?" in reply.text and chat.labels == FIRST_DAYS
    reply = await chat.say("back")
    assert "With whom" in reply.text
    reply = await chat.say("back")
    assert "What would you like to book?" in reply.text
    reply = await chat.say("back")
    assert "use your package" in reply.text
    reply = await chat.say("back")
    assert "Who is this for?" in reply.text
    await chat.choose("Maya")
    await chat.choose("Physio 5-pack")  # a different road after going back
    await chat.choose("Wed 4 Nov")
    await chat.choose("Morning")
    await chat.choose("9:00 a.m.")
    await chat.choose("Confirm")
    [appointment] = await booked(make_uow, "maya")
    assert appointment.package_id is not None
    assert appointment.starts_at == utc(2026, 11, 4, 14, 0)


async def test_menu_midway_books_nothing_and_starts_afresh(chat, make_uow):
    await start_booking(chat)
    await chat.choose("Physio 5-pack")
    await chat.choose("Tue 3 Nov")
    await chat.choose("Morning")
    await chat.choose("10:00 a.m.")
    reply = await chat.say("MENU")
    assert "What would you like to do?" in reply.text
    await chat.choose("Book an appointment")
    assert "Who is this for?" in chat.text
    assert await booked(make_uow, "maya") == []
    assert await counters(make_uow, "maya") == (2, 0, 3)


async def test_stale_and_wrong_answers_ask_again(chat, make_uow):
    await start_booking(chat)
    reply = await chat.say("7")
    assert "7 is not one of the choices" in reply.text and "use your package" in reply.text
    await chat.choose("Physio 5-pack")
    day_question = chat.last
    reply = await chat.say("9")
    assert "9 is not one of the choices" in reply.text and chat.labels == FIRST_DAYS
    await chat.press("Tue 3 Nov")
    await chat.press("Morning")
    time_question = chat.last
    reply = await chat.send(choice=day_question.options[3].key)  # "Thu 5 Nov", pressed late
    assert "earlier message" in reply.text and "Which time on Tue 3 Nov?" in reply.text
    reply = await chat.say("🙂🙂🙂 <b>x</b>")
    assert "choose one of the times" in reply.text and "Which time on Tue 3 Nov?" in reply.text
    await chat.press("9:00 a.m.")
    reply = await chat.send(choice=time_question.options[1].key)  # 9:15, from the older list
    assert "earlier message" in reply.text and "Please check your booking" in reply.text
    assert "Tue 3 Nov, 9:00 a.m." in reply.text
    await chat.press("Confirm")
    reply = await chat.send(choice="yes")  # the Confirm button again, after booking
    assert "earlier message" in reply.text and "What would you like to do?" in reply.text
    assert len(await booked(make_uow, "maya")) == 1
    assert await counters(make_uow, "maya") == (2, 1, 2)


async def test_a_day_or_time_turn_reads_the_busy_times_once(chat, engine):
    """The answer is checked against the free times and the next question shows them: one read
    of the practitioner's appointments serves both (until the turn writes)."""
    await start_booking(chat)
    await chat.choose("Physio 5-pack")

    def reads(seen: list[str]) -> int:
        return sum("FROM appointment" in s and "practitioner_id" in s for s in seen)

    with statements(engine) as seen:
        reply = await chat.choose("Tue 3 Nov")
        assert "Which time on Tue 3 Nov?" in reply.text and reads(seen) == 1
        seen.clear()
        reply = await chat.choose("Morning")
        assert "morning times" in reply.text and reads(seen) == 1
        seen.clear()
        reply = await chat.choose("10:00 a.m.")
        assert "Please check your booking" in reply.text and reads(seen) == 1
