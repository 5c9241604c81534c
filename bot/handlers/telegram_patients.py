"""Patients on Telegram: messages, buttons, commands and shared contacts -> the dialog engine.

``/start`` opens the conversation (the link dialog asks an unknown account for its phone with a
contact button); a shared contact counts only when it is the sender's own (RULES.md 19). The
commands map to the main menu's choices, so the engine stays channel-agnostic. A button press
edits the message that carried it into the next step; a stale button is answered politely and
the current step is sent again. Nothing here logs texts, names or phones.
"""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy import select
from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.dialogs.types import Inbound, Outcome, Reply
from bot.handlers import telegram_payments
from bot.handlers.telegram_context import CHANNEL, Context, acted, answer_surely, deps
from bot.handlers.telegram_render import clip, keyboard, markup
from bot.i18n import Translator, negotiate, translator
from bot.services.clinic import get_clinic
from bot.services.errors import InvalidInput
from bot.services.identity import normalise_phone
from bot.storage.models import Conversation

log = logging.getLogger(__name__)

# Command -> the main menu's option key (None: a keyword the engine knows).
MENU_COMMANDS = {
    "book": "book", "packages": "packages", "appointments": "appointments", "buy": "buy",
    "invoices": "memberships", "language": "language",
}
KEYWORD_COMMANDS = {"start": "menu", "menu": "menu", "help": "help", "stop": "stop"}
PATIENT_COMMANDS = (*MENU_COMMANDS, *KEYWORD_COMMANDS)


def handlers() -> list[BaseHandler[Update, Context, None]]:
    """The patient handlers, in the order they are tried (staff handlers go first)."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler(list(PATIENT_COMMANDS), on_command, filters=private),
        MessageHandler(private & filters.CONTACT, on_contact),
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_text),
        CallbackQueryHandler(on_button),
    ]


def _inbound(update: Update, **values: object) -> Inbound:
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    return Inbound(
        channel=CHANNEL, address=str(chat.id),
        telegram_user_id=user.id if user else None,
        language_code=user.language_code if user else None,
        **values,  # type: ignore[arg-type]
    )


async def on_text(update: Update, context: Context) -> None:
    """A typed message: the answer to the current step."""
    assert update.message is not None
    outcome = await deps(context).engine.handle(_inbound(update, text=update.message.text or ""))
    await send_outcome(update, context, outcome)


async def on_command(update: Update, context: Context) -> None:
    """/menu, /book ... : the matching menu choice (or keyword) in the engine."""
    assert update.message is not None and update.message.text is not None
    command = update.message.text.split()[0].lstrip("/").split("@")[0].lower()
    engine = deps(context).engine
    if command in KEYWORD_COMMANDS:
        outcome = await engine.handle(_inbound(update, text=KEYWORD_COMMANDS[command]))
    else:
        outcome = await engine.handle(_inbound(update, text="menu"))
        key = MENU_COMMANDS[command]
        shown = outcome.replies[-1].options if outcome.replies else ()
        if any(option.key == key for option in shown):
            outcome = await engine.handle(_inbound(update, choice=key))
    await send_outcome(update, context, outcome)


async def on_contact(update: Update, context: Context) -> None:
    """A shared contact: the proven phone when it is the sender's own, else refused."""
    message, user = update.message, update.effective_user
    assert message is not None and message.contact is not None and user is not None
    contact = message.contact
    t = await _translator(context, update)
    if contact.user_id != user.id:
        log.info("telegram: refused a contact that is not the sender's own")
        text = t.gettext("Please share your own phone number with the button, not a contact's.")
        await message.reply_text(text)
        return
    raw = contact.phone_number.strip()
    try:
        phone = normalise_phone(raw if raw.startswith("+") else "+" + raw, None)
    except InvalidInput:
        await message.reply_text(t.gettext("Sorry, that phone number could not be read."))
        return
    outcome = await deps(context).engine.handle(_inbound(update, phone=phone))
    await send_outcome(update, context, outcome)


async def on_button(update: Update, context: Context) -> None:
    """An inline button: the option it carries; stale buttons get a polite answer."""
    query = update.callback_query
    assert query is not None
    chat = update.effective_chat
    if chat is None or query.data is None:
        await query.answer()
        return
    t = await _translator(context, update)
    stale = query.data not in await _shown_keys(context, chat.id)
    outcome = await deps(context).engine.handle(_inbound(update, choice=query.data))
    if stale:
        await query.answer(t.gettext("That button is from an earlier message."))
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        await send_outcome(update, context, outcome, edit=False)
        return
    await query.answer()
    await send_outcome(update, context, outcome, edit=True)


async def send_outcome(
    update: Update, context: Context, outcome: Outcome, *, edit: bool = False
) -> None:
    """Send the replies (the first edits the pressed message when ``edit``) and effects.

    The turn is done (committed) by now, so the update is first recorded as acted on.
    """
    await acted(update, context)
    chat = update.effective_chat
    assert chat is not None
    t = await _translator(context, update)
    replies: list[Reply] = list(outcome.replies)
    query = update.callback_query
    if edit and replies and query is not None and isinstance(query.message, Message) and (
        not replies[0].request_contact
    ):
        first, pressed = replies.pop(0), query.message
        await answer_surely(partial(
            pressed.edit_text, clip(first.text), reply_markup=keyboard(first.options)))
    for reply in replies:
        await answer_surely(partial(
            context.bot.send_message, chat.id, clip(reply.text), reply_markup=markup(reply, t)))
    for effect in outcome.effects:
        if getattr(effect, "kind", None) == "telegram_invoice":
            await telegram_payments.send_invoice(context, chat.id, int(effect.params["invoice_id"]))


async def _shown_keys(context: Context, chat_id: int) -> set[str]:
    """The option keys the chat's last message offered (a press of another key is stale)."""
    async with deps(context).uow(readonly=True) as uow:
        state = await uow.session.scalar(
            select(Conversation.state).where(
                Conversation.channel == CHANNEL, Conversation.address == str(chat_id)
            )
        )
    shown = (state or {}).get("shown", []) if isinstance(state, dict) else []
    return {str(pair[0]) for pair in shown if isinstance(pair, list) and pair}


async def _translator(context: Context, update: Update) -> Translator:
    """The user's Telegram language, negotiated against the clinic's (for channel texts)."""
    user = update.effective_user
    async with deps(context).uow(readonly=True) as uow:
        locale = (await get_clinic(uow)).locale
    return translator(negotiate([user.language_code if user else None], locale))
