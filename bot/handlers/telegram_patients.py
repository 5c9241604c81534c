"""Patients on Telegram: messages, buttons, commands and shared contacts -> the dialog engine.

``/start`` opens the conversation (the link dialog asks an unknown account for its phone with a
contact button); ``/start CODE`` (an invitation's deep link) sends the invitation code; a shared
contact counts only when it is the sender's own (RULES.md 19). The
commands map to the main menu's choices, so the engine stays channel-agnostic. A button press
edits the message that carried it into the next step; a stale button is answered politely and
the current step is sent again. A ``payment_link`` effect is answered with the page's URL
(:mod:`bot.delivery.pay_link`) once the turn is done. Nothing here logs texts, names or phones.
"""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy import select
from telegram import CallbackQuery, Message, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.delivery import pay_link
from bot.dialogs.types import Inbound, Outcome, Reply
from bot.handlers import telegram_payments, telegram_statement
from bot.handlers.telegram_context import CHANNEL, Context, acted, answer_surely, deps
from bot.handlers.telegram_render import clip, keyboard, markup
from bot.i18n import Translator, negotiate, translator
from bot.services.clinic import get_clinic
from bot.services.errors import InvalidInput
from bot.services.identity import normalise_phone
from bot.services.invitation_codes import read_code
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
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler(list(PATIENT_COMMANDS), on_command, filters=private),
        MessageHandler(private & filters.CONTACT, on_contact),
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_text),
        CallbackQueryHandler(on_button),
    ]


def patient_user(update: Update) -> User | None:
    """The user, when this is their own private chat (the only place patient dialogs run)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE or chat.id != user.id:
        return None
    return user


def _inbound(user: User, **values: object) -> Inbound:
    """The conversation is the user's: its address is the user's id."""
    return Inbound(
        channel=CHANNEL, address=str(user.id), telegram_user_id=user.id,
        language_code=user.language_code, **values,  # type: ignore[arg-type]
    )


async def on_text(update: Update, context: Context) -> None:
    """A typed message: the answer to the current step."""
    user = patient_user(update)
    if update.message is None or user is None:
        return
    outcome = await deps(context).engine.handle(_inbound(user, text=update.message.text or ""))
    await send_outcome(update, context, outcome)


async def on_command(update: Update, context: Context) -> None:
    """/menu, /book ... : the matching menu choice (or keyword) in the engine."""
    user = patient_user(update)
    if update.message is None or update.message.text is None or user is None:
        return
    words = update.message.text.split()
    command = words[0].lstrip("/").split("@")[0].lower()
    engine = deps(context).engine
    payload = words[1] if command == "start" and len(words) == 2 else ""
    if payload and read_code(payload) is not None:  # a deep link t.me/<bot>?start=<code>
        outcome = await engine.handle(_inbound(user, text=payload))
    elif command in KEYWORD_COMMANDS:
        outcome = await engine.handle(_inbound(user, text=KEYWORD_COMMANDS[command]))
    elif command in MENU_COMMANDS:
        outcome = await engine.handle(_inbound(user, text="menu"))
        key = MENU_COMMANDS[command]
        shown = outcome.replies[-1].options if outcome.replies else ()
        if any(option.key == key for option in shown):
            outcome = await engine.handle(_inbound(user, choice=key))
    else:
        return
    await send_outcome(update, context, outcome)


async def on_contact(update: Update, context: Context) -> None:
    """A shared contact: the proven phone when it is the sender's own, else refused."""
    message, user = update.message, patient_user(update)
    if message is None or message.contact is None or user is None:
        return
    contact = message.contact
    t = await user_translator(context, update)
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
    outcome = await deps(context).engine.handle(_inbound(user, phone=phone))
    await send_outcome(update, context, outcome)


async def on_button(update: Update, context: Context) -> None:
    """An inline button: the option it carries; stale buttons get a polite answer (so does
    any button outside a private chat: no staff handler took it)."""
    query, user = update.callback_query, patient_user(update)
    if query is None:
        return
    if query.data is None:
        await query.answer()
        return
    t = await user_translator(context, update)
    if user is None:
        await query.answer(t.gettext("That button is from an earlier message."))
        return
    stale = query.data not in await _shown_keys(context, user.id)
    outcome = await deps(context).engine.handle(_inbound(user, choice=query.data))
    # The turn is committed: from here on only the answer matters, so a button's own
    # acknowledgement (which just stops its spinner) failing must not stop the answer.
    if stale:
        await _acknowledge(query, t.gettext("That button is from an earlier message."))
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        await send_outcome(update, context, outcome, edit=False)
        return
    await _acknowledge(query)
    await send_outcome(update, context, outcome, edit=True)


async def _acknowledge(query: CallbackQuery, text: str | None = None) -> None:
    """Answer the button press (``answerCallbackQuery``); a failure (the Bot API unreachable
    for a moment, or the press too old to answer) is logged and passed over: the patient's
    answer is sent next either way, and the update is not delivered again."""
    try:
        await query.answer(text)
    except TelegramError as exc:
        log.warning("telegram: acknowledging a button press failed (%s); answering anyway",
                    type(exc).__name__)


async def send_outcome(
    update: Update, context: Context, outcome: Outcome, *, edit: bool = False
) -> None:
    """Send the replies (the first edits the pressed message when ``edit``) and effects.

    The turn is done (committed) by now, so the update is first recorded as acted on.
    """
    await acted(update, context)
    chat = update.effective_chat
    assert chat is not None
    t = await user_translator(context, update)
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
        elif getattr(effect, "kind", None) == telegram_statement.KIND:
            await telegram_statement.send_statement(context, chat.id, effect.params)
    for invoice_id in pay_link.link_effects(outcome.effects):
        await send_payment_link(update, context, invoice_id)


async def send_payment_link(update: Update, context: Context, invoice_id: int) -> None:
    """Open (or offer again) the page to pay ``invoice_id`` online and send its URL."""
    chat, user, found = update.effective_chat, update.effective_user, deps(context)
    assert chat is not None
    t, currency = await pay_link.chat_translator(
        found.db, found.clock, CHANNEL, str(chat.id), user.language_code if user else None)
    text = await pay_link.chat_text(found.payment_links, invoice_id, t, currency)
    await answer_surely(partial(context.bot.send_message, chat.id, clip(text)))


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


async def user_translator(context: Context, update: Update) -> Translator:
    """The user's Telegram language, negotiated against the clinic's (for channel texts)."""
    user = update.effective_user
    async with deps(context).uow(readonly=True) as uow:
        locale = (await get_clinic(uow)).locale
    return translator(negotiate([user.language_code if user else None], locale))
