"""A conversation that went quiet starts again: after :data:`QUIET_PERIOD` without a message,
a half-finished step is dropped and the next message gets a greeting and the main menu.

Measured from the conversation's last update (``Conversation.updated_at``: the last turn, or the
reminder that put it at the reminder step), by the engine's clock. What still works after the
quiet period, as it would have before: STOP, START and HELP (HELP then describes the menu), a
reply to a reminder (``C``, ``R``, ``X`` or its button at the reminder step), and a main-menu
choice (by number only where the menu was the last thing shown, by its words or button
anywhere). Nothing half-chosen survives: what was picked so far, the way back and whom the
request was for are forgotten. Bookings only become rows when confirmed, so no hold is left.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import as_utc
from bot.dialogs import reminder
from bot.dialogs.matching import fold, match_option
from bot.dialogs.types import Inbound, Option
from bot.storage.models import Conversation

QUIET_PERIOD = timedelta(minutes=30)
FORGOTTEN = ("history", "data", "for")


def went_quiet(conversation: Conversation, now: datetime) -> bool:
    """Whether the conversation stands at a step no message answered for the quiet period."""
    if conversation.dialog is None or conversation.updated_at is None:
        return False
    return now - as_utc(conversation.updated_at) >= QUIET_PERIOD


def answers_reminder(conversation: Conversation, inbound: Inbound) -> bool:
    """Whether the message is a C/R/X answer at the reminder step (those never go stale)."""
    if (conversation.dialog, conversation.step) != (reminder.NAME, reminder.STEP):
        return False
    letter = inbound.choice if inbound.choice is not None else fold(inbound.text).upper()
    return letter in reminder.LETTERS


def forget(conversation: Conversation) -> None:
    """Drop what was chosen so far, the way back and whom the request was for."""
    for key in FORGOTTEN:
        conversation.state.pop(key, None)


def names_menu_choice(inbound: Inbound, text: str, menu: list[Option]) -> bool:
    """Whether a message sent at a stale step (not the menu) picks a main-menu choice: its
    button, or its words (a bare number meant something else at that step)."""
    if inbound.choice is not None:
        return any(option.key == inbound.choice for option in menu)
    return not text.strip().isdecimal() and match_option(text, menu) is not None
