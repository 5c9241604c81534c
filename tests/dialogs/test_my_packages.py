"""My packages (RULES.md 11, 17): what each package has left, its details, and booking with it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.dialogs import registry
from bot.dialogs.base import Answer, Dialog, DialogContext, Finish, Result
from bot.dialogs.engine import Engine
from bot.dialogs.types import Reply
from bot.services import accounts, appointments, billing, noshows, package_admin, packages
from bot.storage.models import Appointment
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA, SOFIA
from tests.integration._builders import book, counters, local, package_of, patient

IMPORTED = "sessions before online records"
MAYAS = "Physio 5-pack: 3 left, until Mar 30, 2027"
MENU_TEXT = "What would you like to do?"


async def _maya_package_id(make_uow) -> int:
    async with make_uow() as uow:
        return (await package_of(uow, "maya")).id


async def _open(chat: Chat, who: str = "Maya Chen (me)") -> Reply:
    await chat.say("hi")
    await chat.choose("My packages")
    return await chat.choose(who)


async def test_the_list_shows_what_is_left_and_the_details(chat):
    reply = await _open(chat)
    assert "Your packages" in reply.text
    assert chat.labels == [MAYAS]
    reply = await chat.choose("Physio 5-pack")
    for fact in ("Physio 5-pack (active)", "Bought Oct 1, 2026 for $400.00; paid $400.00.",
                 "Uses: 2 used, 0 booked, 3 available", "Expires Mar 30, 2027"):
        assert fact in reply.text
    assert "Sessions covered:\n2 sessions before online records" in reply.text, (
        "the two sessions used before the import: one line")
    assert "Still to pay" not in reply.text and "Refunded" not in reply.text
    assert chat.labels[-1] == "Back"


async def test_details_after_a_booking_an_arrival_and_a_no_show(chat, make_uow, clock):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        arrived = await book(uow, "maya", local(2026, 11, 2, 9), package_id=package_id)
        missed = await book(uow, "maya", local(2026, 11, 2, 10), package_id=package_id)
        await book(uow, "maya", local(2026, 11, 3, 10), package_id=package_id)
        await uow.commit()
    clock.set(local(2026, 11, 2, 10, 45))
    async with make_uow() as uow:
        await appointments.arrive(uow, arrived.id)
        no_show = await noshows.mark_no_show(uow, missed.id, by="desk")
        await noshows.resolve(uow, no_show.id, "redeem", by="desk")
        await uow.commit()
    async with make_uow() as uow:
        assert await counters(uow, package_id) == (5, 4, 1, 0)

    await _open(chat)
    assert chat.labels == ["Physio 5-pack: all uses booked"], "0 left, one of them booked"
    reply = await chat.choose("Physio 5-pack")
    lines = reply.text.splitlines()
    assert "Uses: 4 used, 1 booked, 0 available" in lines
    assert "Nov 2, 2026: Physiotherapy follow-up with Ana Silva" in lines
    assert "Nov 2, 2026: Physiotherapy follow-up with Ana Silva (missed)" in lines
    assert "Nov 3, 2026: Physiotherapy follow-up with Ana Silva (upcoming)" in lines
    assert chat.labels == ["Statement", "Back"], "no uses available: nothing to book with"


async def test_an_expired_package_says_so_and_offers_no_booking(chat, make_uow):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        await package_admin.change_expiry(uow, package_id, date(2026, 11, 1))
        await uow.commit()
    await _open(chat)
    assert chat.labels == ["Physio 5-pack: expired Nov 1, 2026"]
    reply = await chat.choose("Physio 5-pack")
    assert "Physio 5-pack (expired)" in reply.text and "Expires Nov 1, 2026" in reply.text
    assert "Uses: 2 used, 0 booked, 3 available" in reply.text
    assert chat.labels == ["Statement", "Back"]


async def test_a_package_without_expiry_says_no_expiry(chat, make_uow):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        await package_admin.change_expiry(uow, package_id, None)
        await uow.commit()
    await _open(chat)
    reply = await chat.choose("Physio 5-pack")
    assert "No expiry" in reply.text.splitlines() and "Expires" not in reply.text


async def test_a_refunded_package_shows_the_refund(chat, make_uow):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        await package_admin.refund(uow, package_id, by="desk")
        await uow.commit()
    await _open(chat)
    assert chat.labels == ["Physio 5-pack: refunded"]
    reply = await chat.choose("Physio 5-pack")
    assert "Physio 5-pack (refunded)" in reply.text
    assert "Refunded: $240.00" in reply.text, "price / uses x uses not redeemed = 400/5 x 3"
    assert chat.labels == ["Statement", "Back"]


async def test_a_package_awaiting_payment_then_paid(chat, make_uow):
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        sold = await packages.sell_package(uow, maya.id, "physio-5", online=True)
        await uow.commit()
    await _open(chat)
    assert chat.labels == [MAYAS, "Physio 5-pack: awaiting payment"]
    reply = await chat.choose("awaiting payment")
    for fact in ("Physio 5-pack (awaiting payment)", "Bought Nov 2, 2026 for $400.00; paid $0.00.",
                 "Still to pay: $400.00", "Uses: 0 used, 0 booked, 5 available",
                 "Expires May 1, 2027"):
        assert fact in reply.text
    assert "Sessions covered" not in reply.text
    assert chat.labels == ["Statement", "Back"], "an unpaid package cannot be booked with yet"
    async with make_uow() as uow:
        invoice = (await packages.package_invoices(uow, sold.id))[0]
        await billing.record_payment(uow, invoice.id, Decimal("400.00"))
        await uow.commit()
    await chat.choose("Back")
    assert chat.labels == [MAYAS, "Physio 5-pack: 5 left, until May 1, 2027"]


async def test_a_guardian_sees_their_wards_packages(chat):
    reply = await _open(chat, who="Leo Chen")
    assert "Leo's packages" in reply.text
    assert chat.labels == ["Massage 10-pack: 10 left, until Sep 15, 2027"]
    reply = await chat.choose("Massage")
    for fact in ("Massage 10-pack (active)", "Bought Sep 15, 2026 for $990.00; paid $330.00.",
                 "Still to pay: $660.00", "Uses: 0 used, 0 booked, 10 available",
                 "Expires Sep 15, 2027"):
        assert fact in reply.text


async def test_no_packages_offers_to_buy_one(make_chat, make_uow):
    async with make_uow() as uow:
        await accounts.set_locale(uow, (await patient(uow, "sofia")).id, "en_CA")
        await uow.commit()
    sofia = make_chat(SOFIA)
    await sofia.say("hi")
    reply = await sofia.choose("My packages")
    assert "You have no packages yet." in reply.text and sofia.labels == ["Buy a package"]
    reply = await sofia.choose("Buy a package")
    assert "Which package" in reply.text
    assert sofia.labels == ["Massage 10-pack – $990.00", "Physio 5-pack – $400.00"]


async def test_someone_elses_package_cannot_be_opened(chat, make_uow):
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        theirs = await packages.sell_package(uow, sofia.id, "physio-5")
        await uow.commit()
    await _open(chat)
    reply = await chat.send(choice=f"pk{theirs.id}")
    assert "earlier message" in reply.text and chat.labels == [MAYAS]
    reply = await chat.say(f"pk{theirs.id}")
    assert "number of one of the packages" in reply.text
    assert "Sofía" not in chat.text and "$0.00" not in chat.text


async def test_back_menu_and_stale_input_keep_the_place(chat):
    await _open(chat)
    listing = chat.last
    reply = await chat.say("9")
    assert "9 is not one of the choices" in reply.text
    reply = await chat.say("blorp")
    assert "number of one of the packages" in reply.text and chat.labels == [
        MAYAS]
    await chat.choose("Physio 5-pack")
    details = chat.last
    reply = await chat.say("zzz")
    assert "number of one of the choices" in reply.text and "Uses:" in reply.text
    chat.last = listing
    reply = await chat.press("Physio 5-pack")
    assert "earlier message" in reply.text and "Uses:" in reply.text
    await chat.choose("Back")
    assert chat.labels == [MAYAS]
    chat.last = details
    reply = await chat.press("Back")
    assert "earlier message" in reply.text and chat.labels == [MAYAS]
    await chat.choose("Physio 5-pack")
    await chat.say("BACK")
    assert chat.labels == [MAYAS]
    reply = await chat.say("menu")
    assert MENU_TEXT in reply.text


class StandInBook(Dialog):
    """Where "Book with this package" leads: shows the package the booking would pre-select."""

    name = "book"
    first_step = "fee"

    async def ask_fee(self, ctx: DialogContext) -> Reply:
        return Reply(f"booking with package {ctx.data.get('package_id')} for {ctx.subject_id}")

    async def on_fee(self, ctx: DialogContext, answer: Answer) -> Result:
        return Finish()


async def test_book_with_this_package_hands_it_to_the_booking_dialog(
    engine, clock, clinic, make_uow, monkeypatch
):
    real = registry.build_dialogs

    def with_booking() -> dict[str, Dialog]:
        return {**real(), "book": StandInBook()}

    monkeypatch.setattr(registry, "build_dialogs", with_booking)
    chat = Chat(Engine(engine, clock, with_booking()), address=MAYA, phone=MAYA)
    async with make_uow() as uow:
        leo_id = (await patient(uow, "leo")).id
        leo_package = (await package_of(uow, "leo")).id
    await _open(chat, who="Leo Chen")
    await chat.choose("Massage")
    assert chat.labels == ["Book with this package", "Book my remaining sessions", "Statement",
                           "Back"]
    reply = await chat.choose("Book with this package")
    assert reply.text == f"booking with package {leo_package} for {leo_id}"
    reply = await chat.say("back")
    assert "Massage 10-pack (active)" in reply.text, "BACK returns to the package's details"


async def test_without_a_booking_dialog_no_booking_is_offered(chat, monkeypatch):
    real = registry.build_dialogs
    monkeypatch.setattr(
        registry, "build_dialogs",
        lambda: {name: d for name, d in real().items() if name != "book"},
    )
    await _open(chat)
    await chat.choose("Physio 5-pack")
    assert chat.labels == ["Statement", "Back"]
    reply = await chat.send(choice="book")
    assert "earlier message" in reply.text, "a crafted booking button is not accepted"


async def test_book_with_this_package_books_with_it_without_asking_again(chat, make_uow):
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        newer = await packages.sell_package(uow, maya.id, "physio-5", online=True)
        invoice = (await packages.package_invoices(uow, newer.id))[0]
        await billing.record_payment(uow, invoice.id, Decimal("400.00"))
        await uow.commit()
        newer_id = newer.id
    await _open(chat)
    assert chat.labels == [MAYAS, "Physio 5-pack: 5 left, until May 1, 2027"]
    await chat.choose("5 left")
    assert chat.labels == ["Book with this package", "Book my remaining sessions", "Statement",
                           "Back"]
    reply = await chat.choose("Book with this package")
    assert "use your package" not in reply.text, "chosen here: not asked again"
    assert "Which day?" in reply.text, "its one treatment and place: straight to the day"
    await chat.choose("Tue 3 Nov")
    await chat.choose("Morning")
    reply = await chat.choose("9:00 a.m.")
    assert "Uses 1 of your Physio 5-pack: 4 left after this." in reply.text
    await chat.choose("Confirm")
    async with make_uow() as uow:
        used = await uow.session.scalar(select(Appointment.package_id))
    assert used == newer_id, "not the earliest-expiring one: the one chosen here"


async def test_a_used_up_package_and_one_without_expiry_say_so_on_the_list(
        chat, make_uow, clock):
    package_id = await _maya_package_id(make_uow)
    async with make_uow() as uow:
        visits = [await book(uow, "maya", local(2026, 11, 2, hour), package_id=package_id)
                  for hour in (9, 10, 11)]
        await uow.commit()
    clock.set(local(2026, 11, 2, 11, 30))
    async with make_uow() as uow:
        for visit in visits:
            await appointments.arrive(uow, visit.id)
        await package_admin.change_expiry(uow, package_id, None)
        await uow.commit()
    await _open(chat)
    assert chat.labels == ["Physio 5-pack: used up"]
    reply = await chat.choose("used up")
    assert "No expiry" in reply.text and chat.labels == ["Statement", "Back"]


@pytest.mark.parametrize(("locale", "label", "earlier"), [
    ("es", "Physio 5-pack: quedan 3, hasta el 30 mar 2027",
     "2 sesiones antes de los registros en línea"),
    ("fr", "Physio 5-pack : 3 restantes, jusqu'au 30 mars 2027",
     "2 séances avant les dossiers en ligne"),
])
async def test_the_list_and_earlier_uses_in_the_patients_language(
        chat, make_uow, locale, label, earlier):
    async with make_uow() as uow:
        (await patient(uow, "maya")).locale = locale
        await uow.commit()
    await chat.say("hola")
    await chat.say("2")  # My packages
    await chat.say("1")  # for Maya
    assert chat.labels == [label]
    reply = await chat.say("1")
    assert earlier in reply.text and "A session used" not in reply.text
