"""Long lists on SMS (issue 16, item 3): parts of the day first, numbers that keep their meaning
across pages (More is 0), and a time typed at any point.

The clock is Monday 2 November 2026, 08:00 in Toronto. Ana (physio, Downtown) has free times
every 15 minutes from 9:00 to 16:30 on Tue 3 Nov: 12 in the morning, 19 in the afternoon.
"""

from __future__ import annotations

from bot.dialogs.render import plain
from tests.dialogs.conftest import SOFIA
from tests.dialogs.test_book import booked, start_booking, utc


async def _to_day(chat) -> None:
    await start_booking(chat)
    await chat.choose("Physio 5-pack")
    await chat.choose("Tue 3 Nov")


async def test_a_full_day_asks_the_part_of_the_day_first(chat):
    await _to_day(chat)
    assert chat.labels == ["Morning: 9:00 a.m. to 11:45 a.m.",
                           "Afternoon: 12:00 p.m. to 4:30 p.m.", "Another day",
                           "Tell me if something opens"]
    reply = await chat.choose("Afternoon")
    assert "These are the afternoon times." in reply.text
    assert chat.labels[0] == "12:00 p.m." and chat.labels[-3] == "4:30 p.m."
    assert len(chat.labels) == 21, "19 afternoon times, Another day and the waitlist, one page"


async def test_a_time_typed_at_the_part_step_goes_straight_to_the_confirmation(chat):
    for typed, shown in (("10:30", "10:30 a.m."), ("3pm", "3:00 p.m."), ("15h", "3:00 p.m."),
                         ("11:00 am", "11:00 a.m.")):
        await chat.say("menu")
        await _to_day(chat)
        reply = await chat.say(typed)
        assert "Please check your booking" in reply.text, (typed, reply.text)
        assert f"Tue 3 Nov, {shown}" in reply.text


async def test_numbers_go_on_across_pages_and_more_is_zero(make_chat, make_uow):
    sofia = make_chat(SOFIA)
    await sofia.say("hola")
    await sofia.choose("Reservar")
    await sofia.choose("Physiotherapy follow-up")
    await sofia.choose("Downtown")
    await sofia.choose("mar 3 nov")
    await sofia.choose("Tarde")
    first_page = sofia.last
    assert first_page.first_number == 1 and sofia.labels[-1] == "Más"
    assert sofia.labels[-2] == "Avísenme si se libera algo", "never behind Más"
    text = plain(first_page)
    assert text.endswith("\n0) Más") and "\n1) 12:00" in text
    shown = len(first_page.options) - 1
    reply = await sofia.say("0")
    assert reply.first_number == shown + 1, "page 2 goes on from page 1"
    assert f"\n{shown + 1}) " in plain(reply) and "\n1) " not in plain(reply)
    reply = await sofia.say("1")  # still the first afternoon time, though not on this page
    assert "mar 3 nov, 12:00" in reply.text and "Revise su reserva" in reply.text
    await sofia.say("atrás")
    assert sofia.last.first_number == 1, "the step is asked afresh from its first page"
    reply = await sofia.say(str(shown + 1))  # page 1 closes with the waitlist, not a time
    second = 12 * 60 + 15 * (shown - 1)
    assert f"mar 3 nov, {second // 60}:{second % 60:02d}" in reply.text
    await sofia.say("sí")
    [appointment] = await booked(make_uow, "sofia")
    assert appointment.starts_at == utc(2026, 11, 3, 17 + second // 60 - 12, second % 60)
