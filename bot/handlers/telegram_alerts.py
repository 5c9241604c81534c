"""Staff alerts beyond no-show choices: replies to patients, /today and /noshows.

* A staff member's Telegram *reply* to a "Talk to the clinic" alert is the desk's reply to that
  inbox item (:func:`bot.services.inbox.reply`): queued (outbox kind ``staff_reply``) to the
  patient, who gets it on their own channel (Telegram or SMS), and the item marked handled.
* ``/today``: today's appointments, each with ``Arrived`` / ``No-show`` buttons
  (``appt:<id>:arrive`` / ``appt:<id>:noshow``); ``/noshows``: the unresolved no-shows with
  their choices. Only registered staff chats may use them (RULES.md 8).
* The alerts carry their buttons from :mod:`bot.delivery.notifications`; this module handles
  the presses: an
  appointment not marked after the grace period also offers ``Arrived`` / ``No-show``; an
  online registration resembling a profile offers, per look-alike, ``Merge`` into the existing
  profile without its channel (``merge:<new>:<existing>``) and, when it has a phone or Telegram
  account, ``Merge and link`` it (``merge:<new>:<existing>:link``: staff checked it is the
  patient's own), and ``Keep separate`` (RULES.md 18).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.delivery import notifications
from bot.delivery.notifications import Rendering
from bot.dialogs.types import Option
from bot.handlers import telegram_guard, telegram_patients
from bot.handlers.telegram_channel import provider_id
from bot.handlers.telegram_context import CHANNEL, Context, deps
from bot.handlers.telegram_render import clip, keyboard
from bot.i18n import Translator, negotiate, translator
from bot.services import appointments, inbox, merging, noshows, outbox, staff
from bot.services.audit import Actor
from bot.services.clinic import get_clinic
from bot.services.errors import DomainError
from bot.storage.models import (
    Appointment,
    Clinic,
    OutboxMessage,
    Patient,
    Practitioner,
    Staff,
)
from bot.storage.uow import UnitOfWork

log = logging.getLogger(__name__)
STAFF_REPLY = notifications.STAFF_REPLY
MAX_LISTED = 30


def handlers() -> list[BaseHandler[Update, Context, None]]:
    return [
        CommandHandler("today", on_today, filters=filters.UpdateType.MESSAGE),
        CommandHandler("noshows", on_noshows, filters=filters.UpdateType.MESSAGE),
        CallbackQueryHandler(on_appointment_button, pattern=r"^appt:\d{1,18}:(arrive|noshow)$"),
        CallbackQueryHandler(on_merge_button,
                             pattern=r"^(merge:\d{1,18}:\d{1,18}(:link)?|keepsep:\d{1,18})$"),
        MessageHandler(filters.UpdateType.MESSAGE & filters.REPLY & filters.TEXT
                       & ~filters.COMMAND, on_reply),
    ]


async def _staff(uow: UnitOfWork, update: Update) -> tuple[Staff | None, Translator]:
    t = translator(negotiate([], (await get_clinic(uow)).locale))
    return await telegram_guard.acting_staff(uow, update), t


async def on_reply(update: Update, context: Context) -> None:
    """A staff reply to a patient's message goes to the patient; other replies are chat."""
    message, chat = update.message, update.effective_chat
    assert message is not None and chat is not None
    replied = message.reply_to_message
    found = deps(context)
    async with found.uow() as uow:
        member, t = await _staff(uow, update)
        alert = None
        if member is not None and replied is not None:
            alert = await uow.session.scalar(select(OutboxMessage).where(
                OutboxMessage.channel == CHANNEL,
                OutboxMessage.provider_message_id == provider_id(chat.id, replied.message_id),
                OutboxMessage.kind == "message",
            ))
        patient_id = (alert.params or {}).get("patient_id") if alert is not None else None
        staff_id = member.id if member is not None else None
        if staff_id is None or not isinstance(patient_id, int):
            await uow.rollback()
            if staff_id is None and chat.type == "private":
                await telegram_patients.on_text(update, context)
            return
        item_id = (alert.params or {}).get("inbox_id") if alert is not None else None
        if isinstance(item_id, int) and member is not None:
            try:  # the desk's inbox: recorded, marked handled, refused for an opted-out patient
                await inbox.reply(uow, item_id, by=member.key, text=message.text or "",
                                  actor=Actor(member.key, "telegram"))
            except DomainError as exc:
                await uow.rollback()
                await message.reply_text(
                    t.gettext("Nothing was changed: {reason}", reason=t.error_text(exc)))
                return
        else:  # an alert queued before the inbox existed
            text = (message.text or "").strip()[:1000]
            digest = hashlib.sha256(f"{chat.id}:{message.message_id}".encode()).hexdigest()[:16]
            await outbox.enqueue(uow, purpose=f"{STAFF_REPLY}:{digest}", kind=STAFF_REPLY,
                                 patient_id=patient_id, params={"text": text, "staff_id": staff_id})
        await uow.commit()
    await message.reply_text(t.gettext("Your reply will be sent to the patient."))


Listed = list[tuple[str, list[Option]]]
Lister = Callable[[UnitOfWork, Translator, Clinic], Awaitable[Listed]]


async def _staff_list(
    update: Update, context: Context, lister: Lister, nothing: Callable[[Translator], str]
) -> None:
    """Answer a staff command with one message per listed item (staff chats only)."""
    message = update.message
    assert message is not None
    async with deps(context).uow(readonly=True) as uow:
        member, t = await _staff(uow, update)
        if member is None:
            await message.reply_text(t.gettext("Only staff can do this."))
            return
        listed = await lister(uow, t, await get_clinic(uow))
    if not listed:
        await message.reply_text(nothing(t))
        return
    for text, options in listed:
        await message.reply_text(clip(text), reply_markup=keyboard(options))


async def on_today(update: Update, context: Context) -> None:
    """Today's appointments with Arrived / No-show buttons (staff chats only)."""

    async def today(uow: UnitOfWork, t: Translator, clinic: Clinic) -> Listed:
        return [
            (await _appointment_line(uow, t, clinic.timezone, appointment),
             notifications.arrival_options(t, appointment.id)
             if appointment.status == "booked" else [])
            for appointment in (await staff.appointments_today(uow))[:MAX_LISTED]
        ]

    await _staff_list(update, context, today, lambda t: t.gettext("No appointments today."))


async def on_noshows(update: Update, context: Context) -> None:
    """The unresolved no-shows, each with its choices (staff chats only)."""

    async def open_ones(uow: UnitOfWork, t: Translator, clinic: Clinic) -> Listed:
        listed: Listed = []
        for no_show in (await noshows.open_no_shows(uow))[:MAX_LISTED]:
            row = OutboxMessage(kind="no_show", params={
                "no_show_id": no_show.id, "appointment_id": no_show.appointment_id})
            notice = await notifications.no_show(Rendering(uow, clinic, row, t))
            if notice is not None:
                listed.append((notice.text, list(notice.options)))
        return listed

    await _staff_list(update, context, open_ones, lambda t: t.gettext("No open no-shows."))


async def on_appointment_button(update: Update, context: Context) -> None:
    """Arrived / No-show on an appointment (staff chats only; anyone else is refused)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, raw_id, action = query.data.split(":")
    async with deps(context).uow() as uow:
        member, t = await _staff(uow, update)
        if member is None:
            await query.answer(t.gettext("Only staff can do this."), show_alert=True)
            return
        name = member.name
        actor = Actor(member.key, "telegram")
        options: tuple[Option, ...] = ()
        try:
            if action == "arrive":
                await appointments.arrive(uow, int(raw_id), actor=actor)
                outcome = t.gettext("Marked arrived by {who}.", who=name)
            else:
                no_show = await noshows.mark_no_show(
                    uow, int(raw_id), by=f"{name} (Telegram)", actor=actor
                )
                outcome = t.gettext("Marked no-show by {who}.", who=name)
                row = OutboxMessage(kind="no_show", params={
                    "no_show_id": no_show.id, "appointment_id": no_show.appointment_id})
                notice = await notifications.no_show(
                    Rendering(uow, await get_clinic(uow), row, t))
                options = notice.options if notice else ()
            await uow.commit()
        except DomainError as exc:
            await uow.rollback()
            outcome = t.gettext("Nothing was changed: {reason}", reason=t.error_text(exc))
    await query.answer()
    await _show_outcome(query.message, outcome, options)


async def on_merge_button(update: Update, context: Context) -> None:
    """Merge an online registration into the profile it resembles, or keep both."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    async with deps(context).uow() as uow:
        member, t = await _staff(uow, update)
        if member is None:
            await query.answer(t.gettext("Only staff can do this."), show_alert=True)
            return
        name = member.name
        try:
            if parts[0] == "merge":
                link = parts[3:] == ["link"]
                result = await merging.merge(uow, keep_id=int(parts[2]), merge_id=int(parts[1]),
                                             by=f"{name} (Telegram)", link_channels=link,
                                             actor=Actor(member.key, "telegram"))
                if link:
                    outcome = t.gettext("Merged by {who}; the registration's phone or Telegram "
                                        "now opens the file.", who=name)
                elif result.left_off:
                    outcome = t.gettext("Merged by {who}; the registration's phone or Telegram "
                                        "was taken off and does not open the file.", who=name)
                else:
                    outcome = t.gettext("Merged by {who}.", who=name)
            else:
                outcome = t.gettext("Kept separate by {who}.", who=name)
            await uow.commit()
        except DomainError as exc:
            await uow.rollback()
            outcome = t.gettext("Nothing was changed: {reason}", reason=t.error_text(exc))
    await query.answer()
    await _show_outcome(query.message, outcome, ())


async def _show_outcome(carrier: object, outcome: str, options: tuple[Option, ...]) -> None:
    """Edit the pressed message: its first paragraph, the outcome, and any next buttons."""
    if isinstance(carrier, Message):
        original = (carrier.text or "").split("\n\n")[0]
        await carrier.edit_text(clip(f"{original}\n\n{outcome}"), reply_markup=keyboard(options))


async def _appointment_line(
    uow: UnitOfWork, t: Translator, timezone: str, appointment: Appointment
) -> str:
    patient = await uow.session.get(Patient, appointment.patient_id)
    practitioner = await uow.session.get(Practitioner, appointment.practitioner_id)
    return t.gettext(
        "{time} {patient} with {practitioner} ({status})",
        time=t.time_text(appointment.starts_at, ZoneInfo(timezone)),
        patient=patient.full_name if patient else "?",
        practitioner=practitioner.name if practitioner else "?",
        status=appointment.status.replace("_", "-"),
    )
