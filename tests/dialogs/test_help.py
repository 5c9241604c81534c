"""HELP names the clinic, its phone as people dial it there, and STOP once (issue 16, item 8)."""

from __future__ import annotations

import pytest

from bot.i18n import phone_text
from tests.dialogs.conftest import SOFIA, STRANGER


def test_phone_text_is_the_national_format():
    assert phone_text("+14165550100") == "(416) 555-0100"
    assert phone_text("+33142685300") == "01 42 68 53 00"
    assert phone_text("not a phone") == "not a phone"


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Harbour Physio & Wellness, phone (416) 555-0100. Send STOP"),
    ("es", "Harbour Physio & Wellness, teléfono (416) 555-0100. Envíe STOP"),
    ("fr", "Harbour Physio & Wellness, téléphone (416) 555-0100. Envoyez STOP"),
])
async def test_help_in_every_language_at_the_menu_and_mid_dialog(make_chat, language, expected):
    if language != "en":
        chat = make_chat(SOFIA)
        await chat.say("hola")
        if language == "fr":
            await chat.choose("Idioma")
            await chat.choose("Français")
    else:
        chat = make_chat()
        await chat.say("hi")
    for where in ("menu", "mid-dialog"):
        if where == "mid-dialog":
            await chat.say("1")
        reply = await chat.say("HELP")
        assert expected in reply.text, (where, reply.text)
        assert reply.text.count("STOP") == 1, (where, reply.text)
        assert "+1416" not in reply.text


async def test_help_for_a_stranger_names_stop_once(make_chat):
    stranger = make_chat(STRANGER)
    reply = await stranger.say("help")
    assert "(416) 555-0100" in reply.text and reply.text.count("STOP") == 1
