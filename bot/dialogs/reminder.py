"""Answering an appointment reminder: ``C`` confirm, ``R`` reschedule, ``X`` cancel (RULES.md 7).

When the outbox sends an appointment reminder it calls :func:`await_answer` in the same
transaction that marks the message sent: the conversation on that channel and address is put in
this dialog's ``answer`` step for that appointment (``ctx.data["appointment_id"]``, the request
``for`` the appointment's patient), so the reply is understood.

* ``C`` sets the appointment's ``confirmed_at`` (``reminders.confirm_appointment``).
* ``R`` opens the reschedule flow of "My appointments" (its ``day`` step) for that appointment.
* ``X`` cancels it as the patient (``appointments.cancel``; a package use goes back). Inside the
  clinic's notice window both lead to "My appointments"' ``too_late`` step, which explains the
  rule and offers to pass a message to the clinic.

The letters are the same in every language; a yes (``yes``, ``sí``, ``oui``...) confirms
too. No prompt asks for CANCEL: it is one of Twilio's
opt-out words (INTERFACES.md). On Telegram the three answers are also buttons.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.dialogs import keywords
from bot.dialogs.appointments import MyAppointments
from bot.dialogs.base import Answer, Dialog, DialogContext, Finish, Goto, Result, Retry
from bot.dialogs.identity import owns_address
from bot.dialogs.matching import fold
from bot.dialogs.types import Option, Reply
from bot.i18n import Translator
from bot.services import appointments, catalog, packages, reminders
from bot.services.errors import TooLateToCancel
from bot.storage.models import Appointment, Clinic, Conversation, Patient
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore

CONFIRM, RESCHEDULE, CANCEL = "C", "R", "X"
LETTERS = (CONFIRM, RESCHEDULE, CANCEL)
BUTTON_CHANNELS = frozenset({"telegram"})
NAME, STEP = "reminder", "answer"


def reply_hint(t: Translator) -> str:
    return t.gettext("Reply C to confirm, R to reschedule or X to cancel.")


def reply_options(t: Translator) -> tuple[Option, ...]:
    """The answers as buttons (keys are the letters)."""
    return (
        Option(CONFIRM, t.gettext("Confirm")),
        Option(RESCHEDULE, t.gettext("Reschedule")),
        Option(CANCEL, t.gettext("Call off the appointment")),
    )


async def reminder_text(
    uow: UnitOfWork, t: Translator, clinic: Clinic, appointment: Appointment
) -> str:
    """The reminder: who, what, with whom, where and when, and how to answer."""
    patient = await uow.session.get(Patient, appointment.patient_id)
    fee = await catalog.get_fee(uow, appointment.fee_id)
    practitioner = await catalog.get_practitioner(uow, appointment.practitioner_id)
    location = await catalog.get_location(uow, appointment.location_id)
    text = t.gettext(
        "Reminder from {clinic}: {when}, {treatment} with {practitioner} at {location}, for "
        "{name}.",
        clinic=clinic.name, name=patient.first_name if patient else "",
        treatment=fee.name, practitioner=practitioner.name, location=location.name,
        when=t.datetime_text(appointment.starts_at, ZoneInfo(clinic.timezone)),
    )
    return f"{text} {reply_hint(t)}"


async def await_answer(
    uow: UnitOfWork,
    *,
    channel: str,
    address: str,
    account_id: int,
    appointment: Appointment,
    t: Translator,
    now: datetime,
) -> None:
    """Put the conversation at ``channel``/``address`` in this dialog for ``appointment``.

    ``account_id`` is the patient the message went to (the appointment's patient or their
    guardian); a conversation already linked to a profile keeps it while that profile still
    owns the address (a recycled number's conversation passes to its new owner). Where the
    patient was in another dialog is dropped: the reminder is the last thing they were sent.
    """
    shown = [[o.key, o.label] for o in reply_options(t)] if channel in BUTTON_CHANNELS else []
    await put_conversation(
        uow, channel=channel, address=address, account_id=account_id,
        subject_id=appointment.patient_id, place=(NAME, STEP),
        data={"appointment_id": appointment.id}, shown=shown, now=now,
    )


async def put_conversation(
    uow: UnitOfWork,
    *,
    channel: str,
    address: str,
    account_id: int,
    subject_id: int,
    place: tuple[str, str],
    data: dict[str, object],
    shown: list[list[str]],
    now: datetime,
) -> None:
    """Put the conversation at ``channel``/``address`` at ``place`` (dialog, step) with
    ``data``, acting for ``subject_id``, as a proactive message that expects an answer does
    (see :func:`await_answer`; also the waitlist's offers)."""
    stmt = (
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.address == address)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    values = {"channel": channel, "address": address, "state": {}, "updated_at": now}
    await insert_ignore(uow, Conversation, values, ["channel", "address"])
    conversation = await uow.session.scalar(stmt)
    assert conversation is not None
    linked = (None if conversation.patient_id is None
              else await uow.session.get(Patient, conversation.patient_id))
    if linked is None or linked.merged_into_id is not None or not owns_address(
            linked, channel, address):
        conversation.patient_id = account_id
    kept = {k: v for k, v in (conversation.state or {}).items() if k in ("locale", "opted_out")}
    conversation.state = {
        **kept, "data": data, "for": subject_id, "page": 0, "shown": shown, "options": shown,
    }
    conversation.dialog, conversation.step = place
    conversation.updated_at = now
    await uow.session.flush()


class Reminder(Dialog):
    """The reply to an appointment reminder (see the module docstring)."""

    name = NAME
    first_step = STEP

    async def appointment(self, ctx: DialogContext) -> Appointment | None:
        """The reminded appointment while it is one of the subject's upcoming ones."""
        subject = await MyAppointments().checked_subject(ctx)
        chosen = ctx.data.get("appointment_id")
        upcoming = await appointments.upcoming_for(ctx.uow, subject)
        return next((a for a in upcoming if a.id == chosen), None)

    def help(self, ctx: DialogContext, step: str) -> str:
        del step
        return ctx._("Reply C to confirm, R to reschedule or X to cancel. MENU: main menu.")

    async def ask_answer(self, ctx: DialogContext) -> Reply:
        appointment = await self.appointment(ctx)
        if appointment is None:
            return Reply(ctx._("This appointment is no longer booked."),
                         (Option("menu", ctx._("Back to menu")),))
        text = await reminder_text(ctx.uow, ctx.t, ctx.clinic, appointment)
        buttons = reply_options(ctx.t) if ctx.channel in BUTTON_CHANNELS else ()
        return Reply(text, buttons)

    async def on_answer(self, ctx: DialogContext, answer: Answer) -> Result:
        letter = answer.key if answer.key in LETTERS else fold(answer.text).upper()
        if letter not in LETTERS and fold(answer.text) in keywords.YES:
            letter = CONFIRM  # "yes", "sí", "oui" confirm too
        appointment = await self.appointment(ctx)
        if appointment is None:
            return Finish([ctx._("This appointment is no longer booked.")])
        if letter not in LETTERS:
            return Retry(ctx._("Please reply C to confirm, R to reschedule or X to cancel."))
        assert ctx.account is not None
        if letter == CONFIRM:
            await reminders.confirm_appointment(
                ctx.uow, appointment.id, acting_patient_id=ctx.account.id
            )
            when = ctx.when(appointment.starts_at)
            return Finish([ctx._("Thank you, your appointment on {when} is confirmed.",
                                 when=when)])
        if letter == RESCHEDULE:
            if not appointments.patient_may_change(ctx.clinic, appointment, ctx.now):
                return Goto("too_late", dialog=MyAppointments.name)
            ctx.data.update(
                fee_id=appointment.fee_id, practitioner_id=appointment.practitioner_id,
                location_id=appointment.location_id, exclude_id=appointment.id,
                current=appointment.starts_at.isoformat(), until=None,
            )
            return Goto("day", dialog=MyAppointments.name)
        return await self._cancel(ctx, appointment)

    async def _cancel(self, ctx: DialogContext, appointment: Appointment) -> Result:
        assert ctx.account is not None
        package_id = appointment.package_id
        try:
            await appointments.cancel(
                ctx.uow, appointment.id, by="patient", acting_patient_id=ctx.account.id
            )
        except TooLateToCancel:
            return Goto("too_late", dialog=MyAppointments.name)
        if package_id is None:
            return Finish([ctx._("Cancelled.")])
        package = await packages.get_package(ctx.uow, package_id)
        return Finish([ctx.t.ngettext(
            "Cancelled. The use went back to your {package} ({n} left).",
            "Cancelled. The use went back to your {package} ({n} left).",
            package.available, package=package.name,
        )])
