"""Staff on Telegram: ``/staff CODE`` registration and the no-show buttons (RULES.md 8).

``/staff CODE`` (compared with ``CLINICBOT_STAFF_CODE`` in constant time) lets the chat pick
which staff member it is; chats given in the set-up file are registered already. Only a
registered staff chat may press staff buttons; anyone else is refused and nothing changes.

No-show buttons carry ``noshow:<id>:redeem`` or ``noshow:<id>:fee:<key>`` (from the alert) and
``noshow:<id>:undo:<version>`` (after a choice). :func:`bot.services.noshows.resolve` and
``undo`` lock and version the no-show, so two staff pressing at once get one outcome; each
pressed message is edited to show the outcome, who chose it and an ``Undo`` button.
"""

from __future__ import annotations

import hmac
import logging

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.delivery.notifications import Rendering
from bot.delivery.notifications import no_show as render_no_show
from bot.dialogs.types import Option
from bot.handlers.telegram_context import Context, deps
from bot.handlers.telegram_render import keyboard
from bot.i18n import Translator, negotiate, translator
from bot.services import noshows, staff
from bot.services.clinic import get_clinic
from bot.services.errors import DomainError
from bot.storage.models import NoShow, NoShowFee, OutboxMessage
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)


def handlers() -> list[BaseHandler[Update, Context, None]]:
    return [
        CommandHandler("staff", on_staff_command),
        CallbackQueryHandler(on_staff_register, pattern=r"^staffreg:\d+$"),
        CallbackQueryHandler(on_no_show_button, pattern=r"^noshow:"),
    ]


async def _t(uow: UnitOfWork) -> Translator:
    return translator(negotiate([], (await get_clinic(uow)).locale))


async def on_staff_command(update: Update, context: Context) -> None:
    """``/staff CODE``: the right code lets the chat choose which staff member it is."""
    message, chat = update.message, update.effective_chat
    assert message is not None and chat is not None
    found = deps(context)
    expected = found.settings.staff_code
    given = (context.args or [""])[0] if context.args else ""
    async with found.uow(readonly=True) as uow:
        t = await _t(uow)
        options = [Option(f"staffreg:{m.id}", m.name) for m in await staff.all_staff(uow)]
    if expected is None or not hmac.compare_digest(
        given.encode(), expected.get_secret_value().encode()
    ):
        log.info("telegram: refused a /staff registration with a wrong code")
        await message.reply_text(t.gettext("That staff code is not right."))
        return
    found.code_chats.add(chat.id)
    await message.reply_text(
        t.gettext("Which staff member are you?"), reply_markup=keyboard(options)
    )


async def on_staff_register(update: Update, context: Context) -> None:
    """The chat that gave the code picks its staff member."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and query.data is not None and chat is not None
    found = deps(context)
    async with found.uow() as uow:
        t = await _t(uow)
        if chat.id not in found.code_chats:
            await query.answer(t.gettext("Only staff can do this."), show_alert=True)
            return
        member = await staff.register_chat(uow, int(query.data.split(":")[1]), chat.id)
        name = member.name
        await uow.commit()
    found.code_chats.discard(chat.id)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(
            t.gettext("This chat now gets the alerts of {name}.", name=name))


async def on_no_show_button(update: Update, context: Context) -> None:
    """Resolve or undo a no-show from a registered staff chat; refuse anyone else."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and query.data is not None and chat is not None
    found = deps(context)
    parts = query.data.split(":")
    if len(parts) < 3 or not parts[1].isdigit():
        await query.answer()
        return
    no_show_id, action = int(parts[1]), parts[2]
    async with found.uow() as uow:
        t = await _t(uow)
        member = await staff.staff_for_chat(uow, chat.id)
        if member is None:
            log.info("telegram: refused a staff button from a chat that is not a staff chat")
            await query.answer(t.gettext("Only staff can do this."), show_alert=True)
            return
        by = f"{member.name} (Telegram)"
        note: str | None = None
        try:
            if action == "redeem":
                await noshows.resolve(uow, no_show_id, "redeem", by=by)
            elif action == "fee" and len(parts) >= 4:
                await noshows.resolve(uow, no_show_id, "fee", no_show_fee_key=parts[3], by=by)
            elif action == "undo" and len(parts) >= 4 and parts[3].isdigit():
                await noshows.undo(uow, no_show_id, by=by, expected_version=int(parts[3]))
            else:
                raise ValueError("unknown no-show action")
            await uow.commit()
        except DomainError as exc:
            await uow.rollback()
            note = t.gettext("Nothing was changed: {reason}", reason=exc.message)
    async with found.uow(readonly=True) as uow:
        t = await _t(uow)
        no_show = await noshows.get_no_show(uow, no_show_id)
        text, options = await no_show_status(uow, t, no_show)
    await query.answer(note[:200] if note else None)
    if isinstance(query.message, Message):
        original = (query.message.text or "").split("\n\n")[0]
        body = "\n\n".join(part for part in (original, text, note) if part)
        await query.message.edit_text(body[:4096], reply_markup=keyboard(options))


async def no_show_status(
    uow: UnitOfWork, t: Translator, no_show: NoShow
) -> tuple[str, list[Option]]:
    """The outcome line and the buttons a no-show alert shows now."""
    if no_show.resolution is None:
        clinic = await get_clinic(uow)
        fake = OutboxMessage(kind="no_show", params={
            "no_show_id": no_show.id, "appointment_id": no_show.appointment_id})
        notice = await render_no_show(Rendering(uow, clinic, fake, t))
        return t.gettext("Open: choose again."), list(notice.options if notice else ())
    who = no_show.resolved_by or "?"
    if no_show.resolution == "redeemed":
        outcome = t.gettext("Resolved by {who}: a package use was redeemed.", who=who)
    else:
        fee = (await uow.session.get(NoShowFee, no_show.no_show_fee_id)
               if no_show.no_show_fee_id else None)
        outcome = t.gettext("Resolved by {who}: {fee} was charged.", who=who,
                            fee=fee.name if fee else "?")
    return outcome, [Option(f"noshow:{no_show.id}:undo:{no_show.version}", t.gettext("Undo"))]
