"""The waitlist in the chat (issue 19): "Tell me if something opens", and leaving the list.

:class:`JoinSteps` (mixed into :class:`bot.dialogs.book.Book`): when no offered time suits, or
a day is full, the day and time steps offer "Tell me if something opens" (``wait``). Then
``wait_day`` (any day or one weekday), ``wait_part`` (any time, morning, afternoon or evening)
and ``wait_confirm``, which puts the subject on the waitlist for the treatment, practitioner
and location chosen, with the package chosen for the booking, until its expiry (or 14 days).

:class:`LeaveSteps` (mixed into :class:`bot.dialogs.appointments.MyAppointments`): "My
appointments" lists the subject's waiting entries too; ``waiting`` shows one and offers to
leave the list.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.dialogs.base import Answer, DialogContext, Finish, Goto, Result, Retry
from bot.dialogs.types import Option, Reply
from bot.services import accounts, catalog, waitlist
from bot.services.errors import NotAllowed
from bot.services.waitlist import Wish
from bot.storage.models import WaitlistEntry

WAIT, ANY, YES, BACK, LEAVE = "wait", "any", "yes", "back", "leave"
A_MONDAY = date(2026, 11, 2)


def weekday_name(ctx: DialogContext, weekday: int) -> str:
    """The weekday's name in the patient's language ("Tuesday", "martes")."""
    return ctx.t.date_text(A_MONDAY + timedelta(days=weekday), "EEEE")


def part_name(ctx: DialogContext, part: str) -> str:
    if part == "morning":
        return ctx._("Mornings")
    return ctx._("Afternoons") if part == "afternoon" else ctx._("Evenings")


def wait_option(ctx: DialogContext) -> Option:
    """The option the day and time steps add when booking."""
    return Option(WAIT, ctx._("Tell me if something opens"))


async def entry_text(ctx: DialogContext, entry: WaitlistEntry) -> str:
    """ "Physiotherapy follow-up with Ana Silva, Tuesdays, mornings, until 17 Nov." """
    fee = await catalog.get_fee(ctx.uow, entry.fee_id)
    who = (ctx._("anyone") if entry.practitioner_id is None
           else (await catalog.get_practitioner(ctx.uow, entry.practitioner_id)).name)
    days = ", ".join(weekday_name(ctx, d) for d in entry.weekdays) or ctx._("any day")
    parts = ", ".join(part_name(ctx, p) for p in entry.parts) or ctx._("any time")
    return ctx._("{treatment} with {practitioner}: {days}, {parts}, until {until}",
                 treatment=fee.name, practitioner=who, days=days, parts=parts,
                 until=ctx.t.day_month_text(entry.until))


class JoinSteps:
    """``wait_day``, ``wait_part`` and ``wait_confirm`` (see the module docstring)."""

    async def ask_wait_day(self, ctx: DialogContext) -> Reply:
        options = [Option(ANY, ctx._("Any day"))]
        options += [Option(f"w{d}", weekday_name(ctx, d)) for d in range(7)]
        return Reply(ctx._("We can tell you when a time opens. Which day suits you?"),
                     tuple(options))

    async def on_wait_day(self, ctx: DialogContext, answer: Answer) -> Result:
        key = answer.key or ""
        if key == ANY:
            ctx.data["wait_days"] = []
        elif key.startswith("w") and key[1:].isdecimal() and int(key[1:]) < 7:
            ctx.data["wait_days"] = [int(key[1:])]
        else:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        return Goto("wait_part")

    async def ask_wait_part(self, ctx: DialogContext) -> Reply:
        options = [Option(ANY, ctx._("Any time"))]
        options += [Option(f"p{p}", part_name(ctx, p)) for p in waitlist.PARTS]
        return Reply(ctx._("Which part of the day suits you?"), tuple(options))

    async def on_wait_part(self, ctx: DialogContext, answer: Answer) -> Result:
        key = answer.key or ""
        if key == ANY:
            ctx.data["wait_parts"] = []
        elif key[1:] in waitlist.PARTS and key.startswith("p"):
            ctx.data["wait_parts"] = [key[1:]]
        else:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        return Goto("wait_confirm")

    def wish(self, ctx: DialogContext) -> Wish:
        package = ctx.data.get("use_package")
        return Wish(
            fee_id=int(ctx.data["fee_id"]), practitioner_id=int(ctx.data["practitioner_id"]),
            location_id=int(ctx.data["location_id"]),
            weekdays=tuple(ctx.data.get("wait_days") or ()),
            parts=tuple(ctx.data.get("wait_parts") or ()),
            package_id=int(package) if package is not None else None,
        )

    async def ask_wait_confirm(self, ctx: DialogContext) -> Reply:
        wish = self.wish(ctx)
        fee = await catalog.get_fee(ctx.uow, wish.fee_id)
        who = await catalog.get_practitioner(ctx.uow, int(ctx.data["practitioner_id"]))
        days = ", ".join(weekday_name(ctx, d) for d in wish.weekdays) or ctx._("any day")
        parts = ", ".join(part_name(ctx, p) for p in wish.parts) or ctx._("any time")
        text = ctx._(
            "We will message you if a time opens for {treatment} with {practitioner}: {days}, "
            "{parts}. The first to answer gets it.", treatment=fee.name,
            practitioner=who.name, days=days, parts=parts)
        return Reply(text, (Option(YES, ctx._("Confirm")), Option(BACK, ctx._("Back to menu"))))

    async def on_wait_confirm(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == BACK:
            return Finish([])
        if answer.key != YES:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        if ctx.account is None:
            raise NotAllowed("the waitlist needs a known patient")
        subject = await accounts.require_may_act(ctx.uow, ctx.account.id, ctx.subject_id)
        entry = await waitlist.join(ctx.uow, subject.id, self.wish(ctx),
                                    acting_patient_id=ctx.account.id)
        return Finish([ctx._("You are on the waitlist until {until}. You can leave it in "
                             "My appointments.", until=ctx.t.day_month_text(entry.until))])


class LeaveSteps:
    """The ``waiting`` step of "My appointments" (see the module docstring)."""

    async def waiting_options(self, ctx: DialogContext, subject_id: int) -> list[Option]:
        """One option per waiting entry of the subject, for the list."""
        return [Option(f"wl{entry.id}",
                       ctx._("Waiting: {entry}", entry=await entry_text(ctx, entry)))
                for entry in await waitlist.entries_for(ctx.uow, [subject_id])]

    async def chosen_entry(self, ctx: DialogContext) -> WaitlistEntry | None:
        if ctx.account is None:
            return None
        subject = await accounts.require_may_act(ctx.uow, ctx.account.id, ctx.subject_id)
        chosen = ctx.data.get("entry_id")
        entries = await waitlist.entries_for(ctx.uow, [subject.id])
        return next((e for e in entries if e.id == chosen), None)

    async def ask_waiting(self, ctx: DialogContext) -> Reply:
        entry = await self.chosen_entry(ctx)
        back = Option(BACK, ctx._("Back"))
        if entry is None:
            return Reply(ctx._("You are no longer on this waitlist."), (back,))
        return Reply(ctx._("On the waitlist: {entry}.", entry=await entry_text(ctx, entry)),
                     (Option(LEAVE, ctx._("Leave the waitlist")), back))

    async def on_waiting(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == BACK:
            return Goto("list")
        entry = await self.chosen_entry(ctx)
        if answer.key != LEAVE or entry is None or ctx.account is None:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        await waitlist.leave(ctx.uow, entry.id, acting_patient_id=ctx.account.id)
        return Finish([ctx._("Done: you have left the waitlist.")])
