"""SMS segments (GSM-7 vs UCS-2), splitting long replies into messages, and TwiML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.twiml.messaging_response import MessagingResponse

from bot.dialogs.gsm import to_gsm
from bot.handlers import sms_text
from bot.handlers.sms import NOT_XML, twiml
from bot.handlers.sms_text import is_gsm7, segments, split


@pytest.mark.parametrize(("text", "expected"), [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("a" * 459, 3),
    ("a" * 460, 4),
    ("é" * 160, 1),               # é is in the GSM-7 alphabet
    ("€" * 80, 1), ("€" * 81, 2), # extension characters take two septets
    ("ç" * 70, 1), ("ç" * 71, 2), ("ç" * 201, 3), ("ç" * 202, 4),  # ç is not: UCS-2
    ("\U0001f600" * 35, 1), ("\U0001f600" * 36, 2),  # an emoji is two UTF-16 units
])
def test_segments_follow_the_encoding(text, expected):
    assert segments(text) == expected


def _menu(count: int, label: str = "Option with a fairly long label") -> str:
    return "Which one?\n" + "\n".join(f"{n}) {label} {n}" for n in range(1, count + 1))


def test_a_short_reply_is_one_message():
    assert split("  Hi Maya!\n1) Book  \n") == ["Hi Maya!\n1) Book"]
    assert split(" \n ") == []


def test_a_long_reply_is_split_at_line_breaks_within_three_segments():
    text = _menu(40)
    messages = split(text)
    assert len(messages) > 1
    assert all(segments(m) <= 3 for m in messages)
    lines = [line for m in messages for line in m.split("\n")]
    assert lines == text.split("\n"), "no line is cut, none lost, order kept"


def test_ucs2_text_gets_the_smaller_budget():
    text = _menu(12, "Séance de kinésithérapie ça")
    messages = split(text)
    assert len(messages) >= 3 and all(segments(m) <= 3 for m in messages)
    assert all(len(m) <= 201 for m in messages)


def test_only_a_line_too_long_alone_is_cut_at_spaces():
    words = " ".join(["physio"] * 200)
    messages = split(f"1) Short\n{words}\n2) After")
    assert messages[0].startswith("1) Short")
    assert all(segments(m) <= 3 for m in messages)
    assert " ".join(" ".join(messages).split()) == " ".join(f"1) Short {words} 2) After".split())
    assert all(not m.startswith(" ") for m in messages)


def test_a_word_longer_than_a_message_is_cut_inside():
    messages = split("x" * 1000)
    assert [len(m) for m in messages] == [459, 459, 82]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000))
def test_any_text_splits_into_messages_that_fit(text):
    messages = split(text)
    assert all(m and segments(m) <= sms_text.MAX_SEGMENTS for m in messages)
    # Nothing is lost but spaces; typographic characters are written in GSM-7 (gsm.to_gsm).
    assert "".join("".join(m.split()) for m in messages) == "".join(to_gsm(text).split())


def test_twiml_holds_one_message_per_part_escaped():
    body = twiml(["1) Tom & Jerry <3", "Zoë\x00\x07 ok"])
    root = ET.fromstring(body)
    assert root.tag == "Response"
    assert [m.text for m in root.iter("Message")] == ["1) Tom & Jerry <3", "Zoë ok"]
    assert ET.fromstring(twiml([])).tag == "Response"


@given(st.lists(st.text(alphabet=st.sampled_from(
    ["a", "é", "😀", " ", "&", "<", ">", '"', "'", "\n", "\r", "\t", "\x00", "\x1f", "\ufffe",
     "]"]), max_size=12), max_size=4))
def test_twiml_is_what_twilios_writer_writes(messages: list[str]) -> None:
    written = MessagingResponse()
    for message in messages:
        written.message(NOT_XML.sub("", message))
    assert twiml(messages) == str(written)


def test_typographic_characters_become_gsm7_letters_never_change():
    text = "L\u2019heure \u00ab\u202f10:00\u202f\u00bb \u2013 49,50\u00a0$CA\u2026 \u201cok\u201d"
    assert to_gsm(text) == 'L\'heure " 10:00 " - 49,50 $CA... "ok"'
    assert is_gsm7(to_gsm(text)) and not is_gsm7(text)
    letters = "français sesión clínica À ç ê ü ñ Zoë"
    assert to_gsm(letters) == letters
    assert split("Vous payez 0,00\u00a0$CA.") == ["Vous payez 0,00 $CA."]
    assert segments(split("Vous payez 0,00\u00a0$CA. " * 6)[0]) == 1


def test_a_note_goes_alone_rather_than_cutting_the_choices_off_their_question():
    note = "Je vous parlerai en français désormais."
    menu = "Bonjour Maya! Que voulez-vous faire?\n" + "\n".join(
        f"{n}) Choix numéro {n} à faire" for n in range(1, 8))
    messages = split(f"{note}\n\n{menu}")
    assert messages == [note, menu]
