"""The waitlist in the chat (issue 19): "Tell me if something opens", and leaving the list.

:class:`JoinSteps` (mixed into :class:`bot.dialogs.book.Book`): when no offered time suits, or
a day is full, the day and time steps offer "Tell me if something opens" (``wait``). Then
``wait_day`` (any day, or one weekday after another until Done), ``wait_part`` (any time, or
mornings, afternoons, evenings one after another until Done). Either step also reads several
typed at once ("Tuesdays or Thursdays, mornings or evenings", "2 4":
:mod:`bot.dialogs.wait_wishes`); days and parts typed together skip the part step.
``wait_confirm`` puts the subject on the waitlist for the treatment, practitioner and location
chosen, with the package chosen for the booking, until its expiry (or 14 days).

:class:`LeaveSteps` (mixed into :class:`bot.dialogs.appointments.MyAppointments`): "My
appointments" lists the subject's waiting entries too; ``waiting`` shows one and offers to
leave the list.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.dialogs import wait_wishes
from bot.dialogs.base import Answer, DialogContext, Finish, Goto, Result, Retry
from bot.dialogs.types import Option, Reply
from bot.services import accounts, catalog, waitlist
from bot.services.errors import NotAllowed
from bot.services.waitlist import Wish
from bot.storage.models import WaitlistEntry

WAIT, ANY, YES, BACK, LEAVE, DONE = "wait", "any", "yes", "back", "leave", "done"
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

    def day_options(self, ctx: DialogContext) -> list[Option]:
        options = [Option(ANY, ctx._("Any day"))]
        options += [Option(f"w{d}", weekday_name(ctx, d)) for d in range(7)]
        if ctx.data.get("wait_days"):
            options.append(Option(DONE, ctx._("Done")))
        return options

    def part_options(self, ctx: DialogContext) -> list[Option]:
        options = [Option(ANY, ctx._("Any time"))]
        options += [Option(f"p{p}", part_name(ctx, p)) for p in waitlist.PARTS]
        if ctx.data.get("wait_parts"):
            options.append(Option(DONE, ctx._("Done")))
        return options

    async def ask_wait_day(self, ctx: DialogContext) -> Reply:
        chosen = ctx.data.get("wait_days") or []
        if chosen:
            text = ctx._("Chosen so far: {days}. Choose another day, or Done.",
                         days=", ".join(weekday_name(ctx, d) for d in chosen))
        else:
            text = " ".join([
                ctx._("We can tell you when a time opens. Which day suits you?"),
                ctx._("Choose one or more, or type them, for example: Tuesdays or Thursdays, "
                      "mornings or evenings.")])
        return Reply(text, tuple(self.day_options(ctx)))

    def start_waiting(self, ctx: DialogContext) -> Result:
        """"Tell me if something opens" was chosen: the day step, nothing chosen yet."""
        ctx.data.pop("wait_days", None)
        ctx.data.pop("wait_parts", None)
        return Goto("wait_day")

    async def on_wait_day(self, ctx: DialogContext, answer: Answer) -> Result:
        chosen: list[int] = list(ctx.data.get("wait_days") or [])
        if answer.key is not None:  # one choice: a day is added (or taken off), until Done
            if answer.key == ANY:
                chosen = []
            elif answer.key.startswith("w") and answer.key[1:].isdecimal():
                day = int(answer.key[1:])
                chosen = [d for d in chosen if d != day] if day in chosen else [*chosen, day]
                ctx.data["wait_days"] = sorted(chosen)
                return Goto("wait_day")
            elif answer.key != DONE or not chosen:
                return Retry(ctx._("Please answer with the number of one of the choices."))
            ctx.data["wait_days"] = sorted(chosen)
            ctx.data.pop("wait_parts", None)
            return Goto("wait_part")
        typed = wait_wishes.read(answer.text, {d: weekday_name(ctx, d) for d in range(7)},
                                 [o.key for o in self.day_options(ctx)])
        days = [int(k[1:]) for k in typed.keys if k.startswith("w")] + list(typed.days)
        if ANY in typed.keys:
            chosen = []
        elif days:
            chosen = sorted({*chosen, *days})
        elif not typed.parts:
            return Retry(ctx._("Please choose one or more days, or type them, like: Tuesdays "
                               "or Thursdays."))
        ctx.data["wait_days"] = chosen
        if typed.parts:  # "Tuesdays, mornings": both in one answer
            ctx.data["wait_parts"] = [p for p in waitlist.PARTS if p in typed.parts]
            return Goto("wait_confirm")
        ctx.data.pop("wait_parts", None)
        return Goto("wait_part")

    async def ask_wait_part(self, ctx: DialogContext) -> Reply:
        chosen = ctx.data.get("wait_parts") or []
        if chosen:
            text = ctx._("Chosen so far: {parts}. Choose another part of the day, or Done.",
                         parts=", ".join(part_name(ctx, p) for p in chosen))
        else:
            text = " ".join([ctx._("Which part of the day suits you?"),
                             ctx._("Choose one or more, or type them.")])
        return Reply(text, tuple(self.part_options(ctx)))

    async def on_wait_part(self, ctx: DialogContext, answer: Answer) -> Result:
        chosen: list[str] = list(ctx.data.get("wait_parts") or [])
        if answer.key is not None:  # one choice: a part is added (or taken off), until Done
            part = answer.key[1:] if answer.key.startswith("p") else ""
            if answer.key == ANY:
                chosen = []
            elif part in waitlist.PARTS:
                chosen = [p for p in chosen if p != part] if part in chosen else [*chosen, part]
                ctx.data["wait_parts"] = [p for p in waitlist.PARTS if p in chosen]
                return Goto("wait_part")
            elif answer.key != DONE or not chosen:
                return Retry(ctx._("Please answer with the number of one of the choices."))
        else:
            typed = wait_wishes.read(answer.text, {}, [o.key for o in self.part_options(ctx)])
            parts = [k[1:] for k in typed.keys if k[1:] in waitlist.PARTS] + list(typed.parts)
            if ANY in typed.keys:
                chosen = []
            elif parts:
                chosen = [*chosen, *parts]
            else:
                return Retry(ctx._("Please choose one or more parts of the day, or type them, "
                                   "like: mornings or evenings."))
        ctx.data["wait_parts"] = [p for p in waitlist.PARTS if p in chosen]
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
