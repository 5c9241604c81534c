"""Every message rendered in Spanish and French reads cleanly (issue 16, item 9).

All msgids of the catalog template are rendered through :class:`bot.i18n.Translator` with
sample values chosen by placeholder name (dates abbreviated as the dialogs show them, money in
the locale's format, counts 1 and 5), and the text is checked for doubled punctuation, words
left in English and placeholders left over. Brand-like names in the samples are not English
words, so any English word found comes from the catalog.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.i18n import Translator, language_name

POT = Path(__file__).resolve().parents[2] / "bot" / "locales" / "messages.pot"
ZONE = ZoneInfo("America/Toronto")
MOMENT = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
DAY = date(2026, 12, 7)
ENGLISH = frozenset({
    "the", "and", "with", "your", "you", "please", "appointment", "appointments", "booked",
    "choose", "send", "time", "times", "day", "days", "payment", "invoice", "invoices",
    "clinic", "book", "reply", "from", "this", "that", "will", "have", "has", "not", "for",
    "when", "which", "what", "there", "is", "are", "of", "to", "it", "be", "at", "by", "or"
})
# Words the bot keeps in English on purpose (commands) or that are the same in the language.
SAME_EVERYWHERE = frozenset({"STOP", "START", "MENU", "HELP", "BACK", "C", "R", "X", "Telegram",
                             "OK", "SMS", "/start", "/staff"})
# "7 déc.," is right (an abbreviation, then a comma); "7 déc.." and " ," are not.
DOUBLED = re.compile(r"(?<![.])\.\.(?![.])|\.\s+\.|,,|;;|::|\?\?|!!|\s[.,]|[,;:]\s*[.,;:]")
LEFTOVER = re.compile(r"[{}]")
DATE_WORDS = ("day", "when", "date", "first_day", "until", "next", "start", "end", "since",
              "expires", "due", "asked")
MONEY_WORDS = ("amount", "price", "paid", "first", "total", "fee_amount", "owed", "balance",
               "credit", "deposit", "refund", "received", "credited")
COMMAND = re.compile(r"clinicbot [a-z -]+[A-Z]*[a-z -]*")  # a desk command, spelt as typed


def msgids() -> list[str | tuple[str, str]]:
    with POT.open("rb") as handle:
        catalog = read_po(handle)
    return [message.id for message in catalog if message.id]


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def sample(t: Translator, name: str, style: str) -> object:
    if name in DATE_WORDS:
        return t.weekday_text(DAY) if style == "short" else t.datetime_text(MOMENT, ZONE)
    if name in MONEY_WORDS:
        return t.money(Decimal("49.50"), "CAD")
    if name in ("time",):
        return t.time_text(MOMENT, ZONE)
    if name == "language":
        return language_name(t.language, title=False)
    if name in ("count", "number", "hours", "minutes", "days", "chat"):
        return 5
    return "Kora"


def render(t: Translator, msgid: str | tuple[str, str], n: int, style: str) -> str:
    if isinstance(msgid, tuple):
        names = placeholders(msgid[0]) | placeholders(msgid[1])
        values = {k: sample(t, k, style) for k in names - {"n"}}
        return t.ngettext(msgid[0], msgid[1], n, **values)
    values = {k: sample(t, k, style) for k in placeholders(msgid)}
    return t.gettext(msgid, **values)


def problems(t: Translator, msgid: str | tuple[str, str]) -> list[str]:
    found = []
    for n in (1, 5):
        for style in ("short", "long"):
            text = render(t, msgid, n, style)
            if DOUBLED.search(text.replace("...", "…")):
                found.append(f"doubled punctuation: {text!r}")
            if LEFTOVER.search(text):
                found.append(f"placeholder left: {text!r}")
            prose = COMMAND.sub("", text)
            words = {w for w in re.findall(r"/?[^\W\d_]+", prose) if w not in SAME_EVERYWHERE}
            english = {w for w in words if w.lower() in ENGLISH}
            if english:
                found.append(f"English {sorted(english)}: {text!r}")
    return list(dict.fromkeys(found))


def test_the_checks_catch_each_slip():
    t = Translator("fr")
    assert DOUBLED.search("Le " + t.weekday_text(DAY) + ".")
    assert not DOUBLED.search("Attendez…")
    assert LEFTOVER.search("Bonjour {name}")


@pytest.mark.parametrize("language", ["es", "fr"])
def test_every_message_renders_cleanly(language):
    t = Translator(language)
    report = {str(m): p for m in msgids() if (p := problems(t, m))}
    assert report == {}, "\n".join(f"{k}\n  " + "\n  ".join(v) for k, v in report.items())
