"""Turning dialog replies into Telegram messages: inline keyboards and the contact button.

Option keys become callback data, which Telegram limits to 64 bytes (:func:`callback_data`
refuses longer ones rather than letting Telegram reject the whole message).
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.dialogs.types import Option, Reply
from bot.i18n import Translator

MAX_CALLBACK_BYTES = 64
MAX_TEXT_CHARS = 4096

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup


def callback_data(key: str) -> str:
    """``key`` as callback data; ValueError if Telegram could not carry it."""
    if not key or len(key.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data must be 1 to {MAX_CALLBACK_BYTES} bytes")
    return key


def keyboard(options: Sequence[Option]) -> InlineKeyboardMarkup | None:
    """One button per line, labelled like the SMS choices; None when there are no options."""
    if not options:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(o.label, callback_data=callback_data(o.key))] for o in options]
    )


def contact_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    """The one-time "Share my phone number" button."""
    button = KeyboardButton(t.gettext("Share my phone number"), request_contact=True)
    return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)


def markup(reply: Reply, t: Translator) -> Markup | None:
    """The keyboard a reply needs: the contact button, inline options, or none."""
    if reply.request_contact:
        return contact_keyboard(t)
    return keyboard(reply.options)


def clip(text: str) -> str:
    """Text within Telegram's message limit."""
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"
