"""Saying it in one message (issue 16 item 10): a typed request jumps into its dialog with what
it names pre-filled, asks only what is missing, and is always confirmed before booking.

The talking clinic (tests/dialogs/talking_clinic.py) adds Omar (massage, Tue/Thu 12-18 at East
End) and Lucía (chiropractic); Sofía (es) and Chloé (fr) own paid Massage 10-packs. The clock is
Monday 2 November 2026, 08:00 in Toronto.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.storage.models import Appointment, Patient, PatientPackage
from tests.dialogs.conftest import MAYA, SOFIA
from tests.dialogs.talking_clinic import CHLOE, load_talking_clinic


@pytest.fixture
async def clinic(make_uow) -> None:
    await load_talking_clinic(make_uow)


async def _appointments(make_uow, key: str) -> list[Appointment]:
    async with make_uow() as uow:
        who = await uow.session.scalar(select(Patient.id).where(Patient.key == key))
        rows = (await uow.session.scalars(
            select(Appointment).where(Appointment.patient_id == who).order_by(Appointment.id)
        )).all()
        uow.session.expunge_all()
        return list(rows)


async def _available(make_uow, key: str) -> int:
    async with make_uow() as uow:
        who = await uow.session.scalar(select(Patient.id).where(Patient.key == key))
        return await uow.session.scalar(
            select(PatientPackage.available).where(PatientPackage.patient_id == who)
        )


async def _offered(chat, label: str) -> bool:
    """Whether ``label`` is among the step's options, paging through "More" (SMS pages)."""
    for _ in range(3):
        if label in chat.labels:
            return True
        more = [o for o in chat.labels if o in ("More", "Más", "Plus")]
        if not more:
            return False
        await chat.choose(more[0])
    return False


async def test_a_massage_with_omar_next_tuesday_afternoon_in_three_messages(
    make_chat, make_uow
):
    chat = make_chat(MAYA)
    reply = await chat.say("book a massage with Omar next Tuesday afternoon")
    assert "Which time on Tue 3 Nov? These are the afternoon times." in reply.text
    assert chat.labels[0] == "12:00 p.m."
    reply = await chat.choose("1:00 p.m.")
    assert "Please check your booking:" in reply.text
    expected = "Tue 3 Nov, 1:00 p.m.: Massage therapy 60 min with Omar Haddad at East End."
    assert expected in reply.text
    assert await _appointments(make_uow, "maya") == []  # a guess is never booked silently
    reply = await chat.choose("Confirm")
    assert "Booked for Tue 3 Nov, 1:00 p.m.: Massage therapy 60 min with Omar Haddad" in reply.text
    [booked] = await _appointments(make_uow, "maya")
    assert booked.starts_at.replace(tzinfo=UTC) == datetime(2026, 11, 3, 18, 0, tzinfo=UTC)
    assert booked.package_id is None
    assert len([line for line in chat.transcript if line.startswith("> ")]) == 3


async def test_spanish_a_package_session_in_three_messages(make_chat, make_uow):
    chat = make_chat(SOFIA)
    reply = await chat.say("quiero un masaje con Omar el martes por la tarde")
    assert "mar 3 nov" in reply.text.casefold()
    await chat.send("2")
    text = chat.text
    assert "Massage therapy 60 min" in text and "Omar Haddad" in text
    assert "Massage 10-pack" in text  # the package applies as usual
    assert chat.labels[0] == "Confirmar"
    before = await _available(make_uow, "sofia")
    await chat.choose("Confirmar")
    [booked] = await _appointments(make_uow, "sofia")
    assert booked.package_id is not None
    assert await _available(make_uow, "sofia") == before - 1


async def test_french_a_day_and_hour_go_straight_to_the_confirmation(make_chat, make_uow):
    chat = make_chat(CHLOE)
    reply = await chat.say("je voudrais un massage avec Omar mardi 15h")
    assert "mar. 3 nov" in reply.text.casefold() and "15:00" in reply.text
    assert "Massage 10-pack" in reply.text
    await chat.choose("Confirmer")
    [booked] = await _appointments(make_uow, "chloe")
    assert booked.starts_at.replace(tzinfo=UTC) == datetime(2026, 11, 3, 20, 0, tzinfo=UTC)
    assert booked.package_id is not None


async def test_declining_the_package_applied_from_a_request(make_chat, make_uow):
    chat = make_chat(SOFIA)
    await chat.say("masaje con Omar el jueves a las 2 de la tarde")
    assert "Massage 10-pack" in chat.text
    assert await _offered(chat, "Sin el paquete")
    await chat.choose("Sin el paquete")
    assert "Massage 10-pack" not in chat.text and "110,00" in chat.text
    await chat.choose("Confirmar")
    [booked] = await _appointments(make_uow, "sofia")
    assert booked.package_id is None


async def test_only_what_is_missing_is_asked(make_chat):
    chat = make_chat(MAYA)
    await chat.say("hi")
    reply = await chat.say("I need physio on thursday")  # which physio? asked; Thursday kept
    assert reply.text == "Would you like to use your package for this booking?"
    assert chat.labels == ["Physio 5-pack (3 left)", "Without a package"]
    reply = await chat.choose("Physio 5-pack")  # it covers one physio fee: no more questions
    assert "Which time on Thu 5 Nov?" in reply.text
    await chat.send("1")
    assert "Uses 1 of your Physio 5-pack" in chat.text


async def test_without_a_package_the_treatments_named_are_offered(make_chat):
    chat = make_chat(MAYA)
    await chat.say("hi")
    await chat.say("physio with ana on thursday")
    reply = await chat.choose("Without a package")
    assert reply.text == "What would you like to book?"
    assert chat.labels == ["Physiotherapy initial assessment", "Physiotherapy follow-up"]
    reply = await chat.choose("initial")  # Ana works Downtown on Thursdays: not asked where
    assert "Which time on Thu 5 Nov?" in reply.text


async def test_how_many_sessions_do_i_have_left_shows_the_packages(make_chat):
    chat = make_chat(MAYA)
    await chat.say("hi")
    reply = await chat.say("how many sessions do I have left?")
    assert "Physio 5-pack: 3 left" in chat.labels[0] or "Physio 5-pack: 3 left" in reply.text


async def test_move_my_tuesday_appointment_to_thursday(make_chat, make_uow):
    chat = make_chat(MAYA)
    await chat.say("book a massage with Omar on Tuesday at 1pm")
    await chat.choose("Confirm")
    reply = await chat.say("move my Tuesday appointment to Thursday afternoon")
    assert "Which time on Thu 5 Nov? These are the afternoon times." in reply.text
    reply = await chat.choose("3:00 p.m.")
    assert "Move this appointment to Thu 5 Nov, 3:00 p.m.?" in reply.text
    await chat.choose("Confirm")
    [moved] = await _appointments(make_uow, "maya")
    assert moved.starts_at.replace(tzinfo=UTC) == datetime(2026, 11, 5, 20, 0, tzinfo=UTC)


async def test_cancel_my_massage_asks_before_cancelling(make_chat, make_uow):
    chat = make_chat(MAYA)
    await chat.say("book a massage with Omar on Tuesday at 1pm")
    await chat.choose("Confirm")
    reply = await chat.say("please cancel my tuesday massage")
    assert reply.text.startswith("Cancel this appointment?")
    assert [a.status for a in await _appointments(make_uow, "maya")] == ["booked"]


async def test_a_message_to_the_clinic_is_not_taken_for_a_request(make_chat):
    chat = make_chat(MAYA)
    await chat.say("hi")
    await chat.choose("Talk to the clinic")
    reply = await chat.say("can I move my Friday appointment to Monday?")
    assert "Move this appointment" not in reply.text and "Which time" not in reply.text


async def test_a_typed_day_at_the_day_step_is_still_a_day(make_chat):
    chat = make_chat(MAYA)
    await chat.say("massage with omar")
    assert chat.text.startswith("Which day?")
    reply = await chat.say("can I come thursday afternoon")
    assert "Which time on Thu 5 Nov? These are the afternoon times." in reply.text


async def test_a_request_for_a_family_member_books_for_them(make_chat, make_uow):
    chat = make_chat(MAYA)
    await chat.say("book a massage for Leo with Ben on Wednesday at 9am")
    assert "Wed 4 Nov, 9:00 a.m.: Massage therapy 60 min with Ben Okafor" in chat.text
    reply = await chat.choose("Confirm")
    assert reply.text.startswith("Booked for Leo, Wed 4 Nov, 9:00 a.m.")
    assert len(await _appointments(make_uow, "leo")) == 1
    assert await _appointments(make_uow, "maya") == []


async def test_a_request_naming_no_single_appointment_shows_the_list(make_chat):
    chat = make_chat(MAYA)
    await chat.say("book a massage with Omar on Tuesday at 1pm")
    await chat.choose("Confirm")
    await chat.say("book a massage with Omar on Thursday at 1pm")
    await chat.choose("Confirm")
    reply = await chat.say("I need to reschedule my massage")
    assert reply.text == "Upcoming appointments:" and len(chat.labels) == 2


async def test_a_day_past_the_horizon_is_explained_at_the_day_step(make_chat):
    chat = make_chat(MAYA)
    reply = await chat.say("massage with omar on 20 january")
    assert "Appointments can be booked online up to" in reply.text
    assert "Which day?" in reply.text


async def test_a_name_typed_mid_booking_is_not_a_new_request(make_chat):
    chat = make_chat(MAYA)
    await chat.say("hi")
    await chat.choose("Book an appointment")
    await chat.choose("Maya")
    await chat.choose("Without a package")
    await chat.choose("initial")
    assert chat.text == "With whom, and where?"
    reply = await chat.say("Ana")  # both places are Ana's: asked again, not a new booking
    assert "Please answer with the number of one of the choices." in reply.text
    reply = await chat.say("book a massage with Omar on Tuesday at 1pm")  # says what it wants
    assert "Massage therapy 60 min with Omar Haddad" in reply.text


async def test_a_refusal_while_acting_on_a_request_is_explained_not_an_apology(
    make_chat, monkeypatch
):
    from bot.dialogs import understood
    from bot.services.errors import NotAllowed

    async def refused(*args, **kwargs):
        raise NotAllowed("not yours")

    monkeypatch.setattr(understood.appointments, "upcoming_for", refused)
    chat = make_chat(MAYA)
    reply = await chat.say("please cancel my thursday appointment")
    assert not chat.outcome.failed
    assert reply.text.endswith("What would you like to do?")
