"""Updates the Telegram channel must not act on as they are (groups, edits, bad input).

* Patient dialogs run only in private chats, and a conversation is the user's (its address is
  the user's id, which is their private chat's id and where the outbox writes to them). A
  patient command in a group, supergroup or channel is answered "please message me privately";
  a button there that no staff handler takes gets the stale-button answer. No patient's data is
  read for either.
* An edited message is not acted on again (its original was): in a private chat the user is
  asked to send it as a new message; elsewhere nothing.
* :func:`bad_input`: a handler that failed on input no retry can fix (a crafted button, an
  update shape nothing expects) is recorded as acted on and answered 200, so Telegram does not
  deliver it again and again; a failure that may pass (database, network) still gives up the
  claim and answers 500 (:func:`bot.handlers.telegram.on_error`).
* :func:`too_old`: Telegram keeps an update it could not deliver for 24 hours, then drops it, and
  the ids acted on are remembered a week (:data:`bot.services.inbound.KEEP_ANSWERED`). A message
  older than :data:`STALE_UPDATE` can only be a replay (of an update whose id was forgotten, or
  after Telegram started ``update_id`` afresh): it is recorded as acted on and not acted on
  again. Judged by the wall clock, as Telegram dates its messages.
* :func:`acting_staff`: in a staff chat that is a group, the staff member acting is the pressing
  user's own staff registration when they have one, else the chat's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DataError
from telegram import CallbackQuery, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.handlers.telegram_context import Context
from bot.handlers.telegram_patients import PATIENT_COMMANDS, user_translator
from bot.i18n import Translator
from bot.services import staff
from bot.services.errors import DomainError
from bot.storage.models import Staff
from bot.storage.uow import UnitOfWork

BAD_INPUT: tuple[type[BaseException], ...] = (
    DomainError, LookupError, ValueError, TypeError, AttributeError, AssertionError,
    ArithmeticError, DataError, BadRequest, Forbidden,
)

# Well past Telegram's 24 hours of redelivery, well within the week its ids are remembered.
STALE_UPDATE = timedelta(days=2)


def handlers() -> list[BaseHandler[Update, Context, None]]:
    """Tried before every other handler."""
    return [
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edited),
        CommandHandler(list(PATIENT_COMMANDS), on_group_command,
                       filters=filters.UpdateType.MESSAGE & ~filters.ChatType.PRIVATE),
    ]


def bad_input(error: BaseException | None) -> bool:
    """Whether handling failed on the update itself (retrying cannot help)."""
    return isinstance(error, BAD_INPUT)


def too_old(update: Update, now: datetime | None = None) -> bool:
    """Whether ``update`` is a new message sent longer ago than Telegram would still deliver it
    (a replay). Buttons carry the date of the message they sit on, so they are not judged so;
    a stale button gets the stale-button answer from its handler. A message without a date
    (Telegram always sends one; a crafted update may not) cannot be judged so either."""
    message = update.message
    if message is None or message.date is None:
        return False
    return (now or datetime.now(UTC)) - message.date > STALE_UPDATE


def stale_text(t: Translator) -> str:
    return t.gettext("That button is from an earlier message.")


async def answer_stale(query: CallbackQuery, t: Translator) -> None:
    """The polite answer to a button that is stale, crafted, or not for this chat."""
    await query.answer(stale_text(t))


async def on_edited(update: Update, context: Context) -> None:
    """An edit of a message already acted on: ask for a new message (private chats only)."""
    message = update.edited_message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return
    t = await user_translator(context, update)
    await message.reply_text(t.gettext(
        "I only read new messages, not edits. Please send it again as a new message."))


async def on_group_command(update: Update, context: Context) -> None:
    """A patient command outside a private chat: point to the private chat, act on nothing."""
    if update.message is None:
        return
    t = await user_translator(context, update)
    await update.message.reply_text(t.gettext("Please message me in a private chat."))


async def acting_staff(uow: UnitOfWork, update: Update) -> Staff | None:
    """The staff member acting: None unless the chat is a staff chat; in a group staff chat,
    the pressing user's own registration if they have one, else the chat's member."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return None
    member = await staff.staff_for_chat(uow, chat.id)
    if member is None or user is None or user.id == chat.id:
        return member
    return await staff.staff_for_chat(uow, user.id) or member
