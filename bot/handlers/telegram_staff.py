"""Staff on Telegram: ``/staff CODE`` registration and the no-show buttons (RULES.md 8).

``/staff CODE`` (compared with ``CLINICBOT_STAFF_CODE`` in constant time) lets the chat pick
which staff member it is; chats given in the set-up file are registered already. The choice
buttons carry ``staffreg:<staff id>:<minute>:<mac>``, a MAC keyed with the staff code over the
chat, the staff member and the minute the code was given: nothing is kept in memory, so the
choice survives a restart and may be pressed on any instance, but only in the chat that gave
the code, within :data:`CHOICE_VALID`, and not after the code changes. Only a registered staff
chat may press staff buttons; anyone else is refused and nothing changes.

No-show buttons carry ``noshow:<id>:redeem`` or ``noshow:<id>:fee:<key>`` (from the alert) and
``noshow:<id>:undo:<version>`` (after a choice). :func:`bot.services.noshows.resolve` and
``undo`` lock and version the no-show, so two staff pressing at once get one outcome; each
pressed message is edited to show the outcome, who chose it and an ``Undo`` button.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from datetime import datetime, timedelta

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.delivery.notifications import Rendering
from bot.delivery.notifications import no_show as render_no_show
from bot.dialogs.types import Option
from bot.handlers import telegram_guard
from bot.handlers.telegram_context import Context, deps
from bot.handlers.telegram_render import keyboard
from bot.i18n import Translator, negotiate, translator
from bot.services import noshows, staff, staff_code
from bot.services.audit import Actor
from bot.services.clinic import get_clinic
from bot.services.errors import DomainError
from bot.storage.models import NoShow, NoShowFee, OutboxMessage
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)
CHOICE_VALID = timedelta(hours=24)
NO_SHOW_BUTTON = re.compile(r"noshow:(\d{1,18}):(redeem|fee:.{1,40}|undo:\d{1,18})")
MAC_BYTES = 12


def staff_choice(code: str, chat_id: int, staff_id: int, now: datetime) -> str:
    """The callback data of the button by which ``chat_id`` says it is ``staff_id``."""
    minute = int(now.timestamp() // 60)
    return f"staffreg:{staff_id}:{minute}:{_mac(code, chat_id, staff_id, minute)}"


def chosen_staff(code: str, chat_id: int, data: str, now: datetime) -> int | None:
    """The staff id of a genuine, unexpired choice pressed in ``chat_id``; else None."""
    parts = data.split(":")
    if len(parts) != 4 or not parts[1].isdecimal() or not parts[2].isdecimal():
        return None
    staff_id, minute = int(parts[1]), int(parts[2])
    age = now.timestamp() / 60 - minute
    if not 0 <= age <= CHOICE_VALID.total_seconds() / 60:
        return None
    expected = _mac(code, chat_id, staff_id, minute)
    return staff_id if hmac.compare_digest(parts[3].encode(), expected.encode()) else None


def _mac(code: str, chat_id: int, staff_id: int, minute: int) -> str:
    digest = hmac.new(code.encode(), f"staffreg:{chat_id}:{staff_id}:{minute}".encode(),
                      hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def handlers() -> list[BaseHandler[Update, Context, None]]:
    return [
        CommandHandler("staff", on_staff_command, filters=filters.UpdateType.MESSAGE),
        CallbackQueryHandler(on_staff_register, pattern=r"^staffreg:"),
        CallbackQueryHandler(on_no_show_button, pattern=r"^noshow:"),
    ]


async def _t(uow: UnitOfWork) -> Translator:
    return translator(negotiate([], (await get_clinic(uow)).locale))


async def on_staff_command(update: Update, context: Context) -> None:
    """``/staff CODE`` (private chats only): the right code lets the chat choose which staff
    member it is. Attempts are throttled and locked out (:mod:`bot.services.staff_code`)."""
    message, chat = update.message, update.effective_chat
    if message is None or chat is None:
        return
    found = deps(context)
    expected = found.settings.staff_code
    given = (context.args or [""])[0] if context.args else ""
    async with found.uow() as uow:
        t = await _t(uow)
        if chat.type != ChatType.PRIVATE:
            await uow.rollback()
            await message.reply_text(t.gettext(
                "Please send /staff with the code in a private chat with me, not in a group."))
            return
        verdict = staff_code.Verdict(accepted=False)
        if expected is not None:
            correct = hmac.compare_digest(given.encode(), expected.get_secret_value().encode())
            verdict = await staff_code.attempt(uow, chat.id, correct=correct)
        members = [(m.id, m.name) for m in await staff.all_staff(uow)]
        await uow.commit()
    if verdict.locked:
        log.warning("telegram: refused a /staff registration: too many wrong codes")
        await message.reply_text(t.gettext("Too many wrong staff codes. Please try again later."))
        return
    if not verdict.accepted or expected is None:
        log.info("telegram: refused a /staff registration with a wrong code")
        await message.reply_text(t.gettext("That staff code is not right."))
        return
    now = found.clock.now()
    code = expected.get_secret_value()
    options = [Option(staff_choice(code, chat.id, key, now), name) for key, name in members]
    await message.reply_text(
        t.gettext("Which staff member are you?"), reply_markup=keyboard(options)
    )


async def on_staff_register(update: Update, context: Context) -> None:
    """The chat that gave the code picks its staff member."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    found = deps(context)
    code = found.settings.staff_code
    async with found.uow() as uow:
        t = await _t(uow)
        staff_id = None if code is None else chosen_staff(
            code.get_secret_value(), chat.id, query.data, uow.clock.now())
        if staff_id is None:
            log.info("telegram: refused a staff choice not given to this chat (or expired)")
            await query.answer(t.gettext("Only staff can do this."), show_alert=True)
            return
        try:
            member = await staff.register_chat(uow, staff_id, chat.id)
        except DomainError as exc:
            await query.answer(exc.message[:200], show_alert=True)
            return
        name = member.name
        await uow.commit()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(
            t.gettext("This chat now gets the alerts of {name}.", name=name))


async def on_no_show_button(update: Update, context: Context) -> None:
    """Resolve or undo a no-show from a registered staff chat; refuse anyone else."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    found = deps(context)
    button = NO_SHOW_BUTTON.fullmatch(query.data)
    async with found.uow() as uow:
        t = await _t(uow)
        member = await telegram_guard.acting_staff(uow, update)
        if member is None:
            log.info("telegram: refused a staff button from a chat that is not a staff chat")
            await query.answer(t.gettext("Only staff can do this."), show_alert=True)
            return
        if button is None or await uow.session.get(NoShow, int(button[1])) is None:
            await telegram_guard.answer_stale(query, t)
            return
        parts = query.data.split(":", 3)
        no_show_id, action = int(parts[1]), parts[2]
        by = f"{member.name} (Telegram)"
        actor = Actor(member.key, "telegram")
        note: str | None = None
        try:
            if action == "redeem":
                await noshows.resolve(uow, no_show_id, "redeem", by=by, actor=actor)
            elif action == "fee" and len(parts) >= 4:
                await noshows.resolve(
                    uow, no_show_id, "fee", no_show_fee_key=parts[3], by=by, actor=actor
                )
            elif action == "undo" and len(parts) >= 4 and parts[3].isdecimal():
                await noshows.undo(
                    uow, no_show_id, by=by, expected_version=int(parts[3]), actor=actor
                )
            else:
                raise ValueError("unknown no-show action")
            await uow.commit()
        except DomainError as exc:
            await uow.rollback()
            note = t.gettext("Nothing was changed: {reason}", reason=t.error_text(exc))
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
