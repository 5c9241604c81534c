"""My appointments: the subject's upcoming appointments; cancel or reschedule one (RULES.md 5, 7,
17).

Steps: ``list`` (upcoming appointments, or "none" with an offer to book; then the subject's
waitlist entries, each leading to ``waiting``, which offers to leave the list), ``detail`` (Call it
off / Reschedule / Back; never "Cancel": an opt-out word, see :mod:`bot.dialogs.keywords`),
``cancel`` (confirm, then ``appointments.cancel``: a package use goes
back), the shared ``day`` / ``time`` picker (same practitioner, location and treatment) and
``move`` (confirm, then ``appointments.reschedule``). Inside the clinic's notice window
(``cancel_notice_hours``) the ``too_late`` step says so and offers a message to the clinic about
that appointment; moving a package appointment past the package's expiry (``PastExpiry``) leads
to ``past_expiry``, which says what would allow it and offers the same message or another day.
"""

from __future__ import annotations

from bot.dialogs.base import Answer, DialogContext, Finish, Goto, Result, Retry
from bot.dialogs.book import Book
from bot.dialogs.series_cancel import CANCEL_REST, CancelsSeries
from bot.dialogs.slots import SlotPicker, chosen_slot, slot_still_free, taken, to_talk
from bot.dialogs.types import Option, Reply
from bot.dialogs.waitlist_steps import LeaveSteps
from bot.services import accounts, appointments, catalog, packages
from bot.services.errors import NotAllowed, PastExpiry, SlotTaken, TooLateToCancel
from bot.storage.models import Appointment

BOOK, MENU, BACK, CANCEL, MOVE = "book", "menu", "back", "cancel", "move"
YES, NO, TALK, OTHER_DAY, OTHER_TIME = "yes", "no", "talk", "day", "other"


async def appointment_text(ctx: DialogContext, appointment: Appointment) -> str:
    """ "Tue 3 Nov, 10:00 AM: Physiotherapy follow-up with Ana Silva at Downtown." """
    fee = await catalog.get_fee(ctx.uow, appointment.fee_id)
    practitioner = await catalog.get_practitioner(ctx.uow, appointment.practitioner_id)
    location = await catalog.get_location(ctx.uow, appointment.location_id)
    return ctx._(
        "{when}: {treatment} with {practitioner} at {location}.",
        treatment=fee.name, practitioner=practitioner.name, location=location.name,
        when=ctx.when(appointment.starts_at),
    )


def none_left(ctx: DialogContext) -> tuple[Option, ...]:
    """What the list offers when there are no upcoming appointments."""
    return (Option(BOOK, ctx._("Book an appointment")), Option(MENU, ctx._("Back to menu")))


class MyAppointments(CancelsSeries, LeaveSteps, SlotPicker):
    """Lists the subject's upcoming appointments and cancels or moves one of them."""

    name = "appointments"
    first_step = "list"
    after_time = "move"

    async def checked_subject(self, ctx: DialogContext) -> int:
        """The subject's id, once the account is known to act for them (RULES.md 17)."""
        if ctx.account is None:
            raise NotAllowed("appointments need a known patient")
        return (await accounts.require_may_act(ctx.uow, ctx.account.id, ctx.subject_id)).id

    async def appointment(self, ctx: DialogContext) -> Appointment | None:
        """The chosen appointment if it is still one of the subject's upcoming ones."""
        upcoming = await appointments.upcoming_for(ctx.uow, await self.checked_subject(ctx))
        chosen = ctx.data.get("appointment_id")
        return next((a for a in upcoming if a.id == chosen), None)

    def too_soon(self, ctx: DialogContext, appointment: Appointment) -> bool:
        """Inside the notice window: the service would refuse (RULES.md 7); ask no further."""
        return not appointments.patient_may_change(ctx.clinic, appointment, ctx.now)

    # -- the list ----------------------------------------------------------------------------

    async def ask_list(self, ctx: DialogContext) -> Reply:
        subject = await self.checked_subject(ctx)
        upcoming = await appointments.upcoming_for(ctx.uow, subject)
        waiting = await self.waiting_options(ctx, subject)
        if not upcoming and not waiting:
            return Reply(ctx._("There are no upcoming appointments."), none_left(ctx))
        options: list[Option] = []
        for appointment in upcoming:
            fee = await catalog.get_fee(ctx.uow, appointment.fee_id)
            practitioner = await catalog.get_practitioner(ctx.uow, appointment.practitioner_id)
            values = {
                "when": ctx.when(appointment.starts_at), "treatment": fee.name,
                "practitioner": practitioner.name,
            }
            label = (
                ctx._("{when}: {treatment}, {practitioner} (package)", **values)
                if appointment.package_id is not None
                else ctx._("{when}: {treatment}, {practitioner}", **values)
            )
            options.append(Option(f"ap{appointment.id}", label))
        if not upcoming:
            return Reply(ctx._("There are no upcoming appointments."), (*waiting, *none_left(ctx)))
        return Reply(ctx._("Upcoming appointments:"), (*options, *waiting))

    async def on_list(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == BOOK:
            return Goto(Book.first_step, dialog=Book.name)
        if answer.key == MENU:
            return Finish([])
        key = answer.key or ""
        if key.startswith("wl") and key[2:].isdecimal():
            ctx.data["entry_id"] = int(key[2:])
            return Goto("waiting")
        if key.startswith("ap") and key[2:].isdecimal():
            ctx.data["appointment_id"] = int(key[2:])
            if await self.appointment(ctx) is not None:
                return Goto("detail")
        return Retry(ctx._("Please answer with the number of one of the appointments."))

    # -- one appointment ---------------------------------------------------------------------

    async def ask_detail(self, ctx: DialogContext) -> Reply:
        appointment = await self.appointment(ctx)
        back = Option(BACK, ctx._("Back"))
        if appointment is None:
            return Reply(ctx._("This appointment is no longer booked."), (back,))
        lines = [await appointment_text(ctx, appointment)]
        if appointment.package_id is not None:
            package = await packages.get_package(ctx.uow, appointment.package_id)
            lines.append(ctx._("Covered by your {package}.", package=package.name))
        options: tuple[Option, ...] = (
            Option(CANCEL, ctx._("Call it off")), Option(MOVE, ctx._("Reschedule")), back,
        )
        if appointment.series_id is not None:  # booked as a series (bot/dialogs/series_cancel)
            options = (Option(CANCEL, ctx._("Call off this one")),
                       Option(CANCEL_REST, ctx._("Call off this and the rest of the series")),
                       *options[1:])
        return Reply("\n".join(lines), options)

    async def on_detail(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == BACK:
            return Goto("list")
        appointment = await self.appointment(ctx)
        if appointment is None or answer.key not in (CANCEL, MOVE, CANCEL_REST):
            return Retry(ctx._("Please answer with the number of one of the choices."))
        if self.too_soon(ctx, appointment):
            return Goto("too_late")
        if answer.key in (CANCEL, CANCEL_REST):
            return Goto("cancel" if answer.key == CANCEL else "cancel_rest")
        ctx.data.update(
            fee_id=appointment.fee_id, practitioner_id=appointment.practitioner_id,
            location_id=appointment.location_id, exclude_id=appointment.id,
            current=appointment.starts_at.isoformat(), until=None,
        )
        return Goto("day")

    # -- cancelling --------------------------------------------------------------------------

    async def ask_cancel(self, ctx: DialogContext) -> Reply:
        appointment = await self.appointment(ctx)
        if appointment is None:
            return Reply(ctx._("This appointment is no longer booked."),
                         (Option(BACK, ctx._("Back")),))
        text = ctx._("Call off this appointment?\n{appointment}",
                     appointment=await appointment_text(ctx, appointment))
        options = (Option(YES, ctx._("Yes, call it off")), Option(NO, ctx._("No, keep it")))
        return Reply(text, options)

    async def on_cancel(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key in (NO, BACK):
            return Goto("list")
        if answer.key != YES:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        await self.checked_subject(ctx)
        assert ctx.account is not None
        appointment_id = int(ctx.data["appointment_id"])
        package_id = (await appointments.get_appointment(ctx.uow, appointment_id)).package_id
        try:
            await appointments.cancel(
                ctx.uow, appointment_id, by="patient", acting_patient_id=ctx.account.id
            )
        except TooLateToCancel:
            return Goto("too_late")
        if package_id is None:
            return Finish([ctx._("Cancelled.")])
        package = await packages.get_package(ctx.uow, package_id)
        return Finish([ctx.t.ngettext(
            "Cancelled. The use went back to your {package} ({n} left).",
            "Cancelled. The use went back to your {package} ({n} left).",
            package.available, package=package.name,
        )])

    # -- too late to change in chat ----------------------------------------------------------

    async def ask_too_late(self, ctx: DialogContext) -> Reply:
        hours = ctx.clinic.cancel_notice_hours
        text = ctx.t.ngettext(
            "Appointments can be changed in chat only up to {n} hour before they start, so "
            "this one can no longer be changed here. We can pass a message to the clinic.",
            "Appointments can be changed in chat only up to {n} hours before they start, so "
            "this one can no longer be changed here. We can pass a message to the clinic.",
            hours,
        )
        options = (
            Option(TALK, ctx._("Send a message to the clinic")),
            Option(MENU, ctx._("Back to menu")),
        )
        return Reply(text, options)

    async def on_too_late(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == TALK:
            return to_talk(ctx)
        if answer.key == MENU:
            return Finish([])
        return Retry(ctx._("Please answer with the number of one of the choices."))

    # -- rescheduling ------------------------------------------------------------------------

    async def ask_move(self, ctx: DialogContext) -> Reply:
        appointment = await self.appointment(ctx)
        other = Option(OTHER_TIME, ctx._("Choose another time"))
        new_when = ctx.when(chosen_slot(ctx))
        if appointment is None:
            return Reply(ctx._("This appointment is no longer booked."),
                         (Option(BACK, ctx._("Back")),))
        if not await slot_still_free(ctx):
            text = ctx._("Sorry, that time ({when}) is no longer free.", when=new_when)
            return Reply(text, (other,))
        text = ctx._(
            "Move this appointment to {new}?\n{appointment}", new=new_when,
            appointment=await appointment_text(ctx, appointment),
        )
        return Reply(text, (Option(YES, ctx._("Confirm")), other))

    async def on_move(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == BACK:
            return Goto("list")
        if answer.key == OTHER_TIME:
            return Goto("time")
        if answer.key != YES:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        await self.checked_subject(ctx)
        assert ctx.account is not None
        try:
            moved = await appointments.reschedule(
                ctx.uow, int(ctx.data["appointment_id"]), chosen_slot(ctx),
                by="patient", acting_patient_id=ctx.account.id,
            )
        except SlotTaken:
            return taken(ctx)
        except PastExpiry:
            appointment = await appointments.get_appointment(
                ctx.uow, int(ctx.data["appointment_id"])
            )
            ctx.data["expired_package_id"] = appointment.package_id
            return Goto("past_expiry")
        except TooLateToCancel:
            return Goto("too_late")
        return Finish([ctx._("Done. Your appointment is now: {appointment}",
                             appointment=await appointment_text(ctx, moved))])

    async def ask_past_expiry(self, ctx: DialogContext) -> Reply:
        package = await packages.get_package(ctx.uow, int(ctx.data["expired_package_id"]))
        expiry = ctx.t.date_text(package.expires_on) if package.expires_on else "-"
        text = ctx._(
            "Your {package} expires on {expiry}, so it cannot cover an appointment on {day}. "
            "The clinic can remove the package from this appointment or extend its expiry; "
            "or choose a day on or before {expiry}.",
            package=package.name, expiry=expiry,
            day=ctx.t.date_text(chosen_slot(ctx).astimezone(ctx.zone).date()),
        )
        options = (
            Option(TALK, ctx._("Send a message to the clinic")),
            Option(OTHER_DAY, ctx._("Choose another day")),
        )
        return Reply(text, options)

    async def on_past_expiry(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == TALK:
            return to_talk(ctx)
        if answer.key == OTHER_DAY:
            return Goto("day")
        return Retry(ctx._("Please answer with the number of one of the choices."))
