"""My packages -> a package -> Statement (issue 18, item 1), in en/es/fr.

On SMS the statement is a short summary (within 3 segments, the choices included); on
Telegram the dialog says the PDF is coming and asks the channel for it (a ``statement_pdf``
effect with the package and the language), staying network-free.
"""

from __future__ import annotations

import pytest

from bot.dialogs.gsm import to_gsm
from bot.dialogs.render import plain
from bot.handlers.sms_text import segments
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA
from tests.integration._builders import package_of, patient


async def _details(chat) -> None:
    await chat.say("hi")
    await chat.choose("My packages")
    await chat.choose("Maya Chen (me)")
    await chat.choose("Physio 5-pack")


async def _package_id(make_uow) -> int:
    async with make_uow() as uow:
        return (await package_of(uow, "maya")).id


async def test_on_sms_the_statement_is_a_short_summary(chat):
    await _details(chat)
    assert "Statement" in chat.labels
    reply = await chat.choose("Statement")
    assert reply.text == (
        "Physio 5-pack: paid $400.00 of $400.00, $0.00 owed. Uses: 2 redeemed, 0 booked, "
        "3 available; expires Mar 30, 2027.")
    assert chat.labels == ["Back"] and chat.outcome.effects == []
    assert segments(to_gsm(plain(reply))) <= 3
    back = await chat.choose("Back")
    assert "Physio 5-pack (active)" in back.text, "Back returns to the package's details"


@pytest.mark.parametrize(("locale", "hello", "statement", "expected"), [
    ("es", "hola", "Extracto",
     "Physio 5-pack: pagado 400,00 CAD de 400,00 CAD, pendiente 0,00 CAD."),
    ("fr", "bonjour", "Relevé",
     "Physio 5-pack : payé 400,00 $CA sur 400,00 $CA, reste dû 0,00 $CA."),
])
async def test_the_summary_speaks_the_patients_language(chat, make_uow, locale, hello,
                                                         statement, expected):
    async with make_uow() as uow:
        (await patient(uow, "maya")).locale = locale
        await uow.commit()
    await chat.say(hello)
    await chat.say("2")  # My packages
    await chat.say("1")  # for Maya
    await chat.say("1")  # the Physio 5-pack
    reply = await chat.choose(statement)
    said = " ".join(reply.text.replace("\u00a0", " ").replace("\u202f", " ").split())
    assert said.startswith(expected), reply.text
    assert segments(to_gsm(plain(reply))) <= 3


@pytest.mark.parametrize(("locale", "hello", "statement", "sent"), [
    ("en", "hi", "Statement", "Here is the statement of Physio 5-pack as a PDF file."),
    ("es", "hola", "Extracto", "Aquí tienes el extracto de Physio 5-pack en PDF."),
    ("fr", "bonjour", "Relevé", "Voici le relevé de Physio 5-pack en PDF."),
])
async def test_on_telegram_the_pdf_is_asked_of_the_channel(bot_engine, make_uow, locale, hello,
                                                             statement, sent):
    package_id = await _package_id(make_uow)
    async with make_uow() as uow:
        (await patient(uow, "maya")).locale = None if locale == "en" else locale
        await uow.commit()
    chat = Chat(bot_engine, channel="telegram", address="7001", phone=MAYA,
                telegram_user_id=7001)
    await chat.say(hello)
    await chat.choose({"en": "My packages", "es": "Mis paquetes", "fr": "Mes forfaits"}[locale])
    await chat.choose("Maya")
    await chat.choose("Physio 5-pack")
    reply = await chat.press(statement)
    assert reply.text == sent
    [effect] = chat.outcome.effects
    assert effect.kind == "statement_pdf"
    assert effect.params["package_id"] == package_id
    assert effect.params["locale"].split("_")[0] == locale
