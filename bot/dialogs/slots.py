"""Choosing a day and a time: the picker that booking and rescheduling share (RULES.md 20, 21).

Extension point: a dialog that subclasses :class:`SlotPicker` gets the steps ``day`` and
``time``. Before ``Goto("day")`` it puts in ``ctx.data``: ``fee_id``, ``practitioner_id`` and
``location_id``; optionally ``exclude_id`` and ``current`` (the appointment being moved: its own
time counts as free but is not offered again) and ``until`` (ISO date, no day after it: a
package's expiry). The picker leaves ``day`` (ISO), ``part`` (morning/afternoon/evening or
None) and finally ``slot`` (aware UTC, ISO), then goes to the dialog's ``after_time`` step.

A day with many free times in more than one part of the day goes through the ``part`` step
(Morning / Afternoon / Evening, :mod:`bot.dialogs.parts`) before ``time``.

The day step offers the first days that have free times (``availability.offered_slots`` over
the booking horizon, so notice, horizon and the practitioner's other appointments count); the
patient may type a day or time instead (:mod:`bot.dialogs.when`): a day picks it, a time picks
the first free time at or after it that day (saying so when it differs), a part of the day
narrows the times shown. Times are shown in the clinic's timezone; a wall time that occurs
twice (the autumn DST change) is shown with its zone abbreviation.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from bot.dialogs.base import Answer, Dialog, DialogContext, Goto, Result, Retry
from bot.dialogs.parts import part_from_key, part_options, part_question, worth_grouping
from bot.dialogs.talk import Talk
from bot.dialogs.types import Option, Reply
from bot.dialogs.understand_dates import find_when, merged
from bot.dialogs.when import Part, Wanted, parse_wanted, part_of_day
from bot.services import availability

SHOWN_DAYS = 6
# The day step looks this many days ahead first, and further only when fewer than SHOWN_DAYS
# of them have free times (each day computed costs; most weeks fill the list at once).
FIRST_LOOK_DAYS = 2 * SHOWN_DAYS
OTHER_DAY, TALK = "day", "talk"
KEY_FORMAT = "%Y-%m-%dT%H:%M"


def local_today(ctx: DialogContext) -> date:
    return ctx.now.astimezone(ctx.zone).date()


def local_day(ctx: DialogContext, moment: datetime) -> date:
    return moment.astimezone(ctx.zone).date()


def in_part(ctx: DialogContext, moment: datetime, part: str | None) -> bool:
    return part is None or part_of_day(moment.astimezone(ctx.zone).time()) == part


def chosen_slot(ctx: DialogContext) -> datetime:
    """The time chosen so far (aware UTC)."""
    return datetime.fromisoformat(str(ctx.data["slot"]))


def slot_key(moment: datetime) -> str:
    return "t" + moment.astimezone(UTC).strftime(KEY_FORMAT)


def slot_from_key(key: str) -> datetime | None:
    try:
        return datetime.strptime(key[1:], KEY_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def horizon_days(ctx: DialogContext) -> int:
    """How many days from today (today included) patients may book."""
    return ctx.clinic.booking_horizon_days + 1


async def free_slots(
    ctx: DialogContext, day: date | None = None, days: int | None = None
) -> list[datetime]:
    """Free start times for what ``ctx.data`` describes: over ``days`` days from ``day``.

    Defaults: from today; one day when ``day`` is given, else the whole horizon.
    """
    data = ctx.data
    exclude = data.get("exclude_id")
    if days is None:
        days = 1 if day else horizon_days(ctx)
    slots = await availability.offered_slots(
        ctx.uow,
        int(data["practitioner_id"]),
        int(data["location_id"]),
        int(data["fee_id"]),
        day or local_today(ctx),
        days,
        exclude_appointment_id=int(exclude) if exclude is not None else None,
    )
    until = date.fromisoformat(str(data["until"])) if data.get("until") else None
    current = datetime.fromisoformat(str(data["current"])) if data.get("current") else None
    return [
        s for s in slots
        if (until is None or local_day(ctx, s) <= until) and s != current
    ]


async def slot_still_free(ctx: DialogContext) -> bool:
    """Whether the chosen time is still offered (nobody took it since it was shown)."""
    moment = chosen_slot(ctx)
    return moment in await free_slots(ctx, local_day(ctx, moment))


async def first_free_days(ctx: DialogContext, count: int) -> list[date]:
    """The first ``count`` days with free times, looking :data:`FIRST_LOOK_DAYS` days ahead
    first and the rest of the horizon only when those are not enough."""
    today, total = local_today(ctx), horizon_days(ctx)
    found: list[date] = []
    looked = 0
    while looked < total and len(found) < count:  # bounded: at most two looks
        span = min(FIRST_LOOK_DAYS if looked == 0 else total, total - looked)
        slots = await free_slots(ctx, today + timedelta(days=looked), span)
        found.extend(dict.fromkeys(local_day(ctx, s) for s in slots))
        looked += span
    return found[:count]


def time_labels(ctx: DialogContext, slots: list[datetime]) -> list[str]:
    """"9:00 AM" per slot; a wall time shown twice (DST) gets its zone, "1:30 AM EDT"."""
    plain = [ctx.t.time_text(s, ctx.zone) for s in slots]
    twice = {label for label, count in Counter(plain).items() if count > 1}
    return [
        ctx.t.datetime_text(s, ctx.zone, "HH:mm z") if label in twice else label
        for s, label in zip(slots, plain, strict=True)
    ]


async def typed_example(ctx: DialogContext, day: date) -> str:
    """A day and time to type, as the day step's example: the first free time of ``day`` (the
    first day with one), written as the patient would type it ("November 3 9:00 a.m."); the day
    alone when its last free time was booked since the days were listed (on PostgreSQL each
    statement sees what other turns committed meanwhile)."""
    free = await free_slots(ctx, day)
    if not free:
        return ctx.t.day_month_text(day)
    return f"{ctx.t.day_month_text(day)} {ctx.t.time_text(free[0], ctx.zone)}"


def taken(ctx: DialogContext) -> Goto:
    """Someone booked the chosen time meanwhile: say so and show the day's fresh times."""
    return Goto("time", say=[ctx._("Sorry, someone just took that time. Please pick another.")])


def to_talk(ctx: DialogContext) -> Goto:
    """Go to "Talk to the clinic", telling staff which appointment it is about (if any)."""
    if ctx.data.get("appointment_id") is not None:
        ctx.data["about"] = f"appointment:{ctx.data['appointment_id']}"
    return Goto(Talk.first_step, dialog=Talk.name)


class SlotPicker(Dialog):
    """The ``day`` and ``time`` steps (see the module docstring); then ``after_time``."""

    after_time = "confirm"

    async def ask_day(self, ctx: DialogContext) -> Reply:
        days = await first_free_days(ctx, SHOWN_DAYS)
        if not days:
            text = ctx._(
                "Sorry, there are no free times to book online in the coming days. "
                "You can send a message to the clinic instead."
            )
            return Reply(text, (Option(TALK, ctx._("Send a message to the clinic")),))
        options = tuple(
            Option(f"d{day.isoformat()}", ctx.t.weekday_text(day)) for day in days
        )
        text = ctx._(
            "Which day? Choose one, or type a day or time, for example: tomorrow, "
            "Friday afternoon, {example}.", example=await typed_example(ctx, days[0]),
        )
        return Reply(text, options)

    async def on_day(self, ctx: DialogContext, answer: Answer) -> Result:
        key = answer.key
        if key == TALK:
            return to_talk(ctx)
        if key is not None and key.startswith("d"):
            try:
                day = date.fromisoformat(key[1:])
            except ValueError:
                return Retry(ctx._("Please answer with the number of one of the days."))
            return await self.choose(ctx, Wanted(day, None, None), None)
        wanted = self.read(ctx, answer.text)
        if wanted is None:
            return Retry(
                ctx._(
                    "Sorry, I could not read that as a day. Choose one of the days, or type one "
                    "like: Friday, tomorrow afternoon."
                )
            )
        return await self.choose(ctx, wanted, None)

    async def ask_time(self, ctx: DialogContext) -> Reply:
        day = date.fromisoformat(str(ctx.data["day"]))
        part = ctx.data.get("part")
        slots = [s for s in await free_slots(ctx, day) if in_part(ctx, s, part)]
        day_text = ctx.t.weekday_text(day)
        if not slots:
            text = ctx._(
                "There are no free times left on {day}. Please choose another day.", day=day_text
            )
            return Reply(text, (Option(OTHER_DAY, ctx._("Choose another day")),))
        labels = time_labels(ctx, slots)
        options = [Option(slot_key(s), label) for s, label in zip(slots, labels, strict=True)]
        options.append(Option(OTHER_DAY, ctx._("Another day")))
        return Reply(self.time_question(ctx, day_text, part), tuple(options))

    async def ask_part(self, ctx: DialogContext) -> Reply:
        day = date.fromisoformat(str(ctx.data["day"]))
        slots = await free_slots(ctx, day)
        if not slots:
            return await self.ask_time(ctx)  # taken meanwhile: says so, offers another day
        options = [*part_options(ctx, slots), Option(OTHER_DAY, ctx._("Another day"))]
        return Reply(part_question(ctx, ctx.t.weekday_text(day)), tuple(options))

    async def on_part(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key == OTHER_DAY:
            return Goto("day")
        day = date.fromisoformat(str(ctx.data["day"]))
        typed = answer.text.strip()
        if any(ch.isdigit() for ch in typed) and not typed.isdecimal():
            wanted = self.read(ctx, typed)  # "10:30" is a time, not the digits of "9:00 to 11:45"
            if wanted is not None:
                return await self.choose(ctx, wanted, day)
        part = part_from_key(answer.key)
        if part is not None:
            ctx.data["part"] = part
            return Goto("time")
        wanted = self.read(ctx, typed)
        if wanted is None:
            return Retry(ctx._("Please choose a part of the day, or type a time like 3pm."))
        return await self.choose(ctx, wanted, day)

    @staticmethod
    def time_question(ctx: DialogContext, day: str, part: str | None) -> str:
        if part == "morning":
            return ctx._("Which time on {day}? These are the morning times.", day=day)
        if part == "afternoon":
            return ctx._("Which time on {day}? These are the afternoon times.", day=day)
        if part == "evening":
            return ctx._("Which time on {day}? These are the evening times.", day=day)
        return ctx._("Which time on {day}?", day=day)

    async def on_time(self, ctx: DialogContext, answer: Answer) -> Result:
        key = answer.key
        if key == OTHER_DAY:
            return Goto("day")
        if key is not None and key.startswith("t"):
            moment = slot_from_key(key)
            if moment is None:
                return Retry(ctx._("Please answer with the number of one of the times."))
            if moment not in await free_slots(ctx, local_day(ctx, moment)):
                return Retry(ctx._("Sorry, someone just took that time. Please pick another."))
            ctx.data["slot"] = moment.isoformat()
            return Goto(self.after_time)
        wanted = self.read(ctx, answer.text)
        if wanted is None:
            return Retry(ctx._("Please choose one of the times, or type one like 3pm."))
        return await self.choose(ctx, wanted, date.fromisoformat(str(ctx.data["day"])))

    @staticmethod
    def read(ctx: DialogContext, text: str) -> Wanted | None:
        now = ctx.now.astimezone(ctx.zone).replace(tzinfo=None)
        wanted = parse_wanted(text, ctx.t.language, now)  # else a day inside a sentence:
        return wanted or merged(find_when(text, ctx.t.language, now))

    async def choose(self, ctx: DialogContext, wanted: Wanted, default_day: date | None) -> Result:
        """Act on a day/time/part of day: ask the time, go on with a slot, or explain why not.

        ``default_day`` is the day already chosen (at the time step): a time or a part of the
        day alone applies to it. At the day step a time alone means today, and a part of the
        day alone the first day with free times in it.
        """
        if wanted.day is None and wanted.time is None and default_day is None:
            slots = await free_slots(ctx)
            first = next((s for s in slots if in_part(ctx, s, wanted.part)), None)
            if first is None:
                return Retry(self.no_part_soon(ctx, wanted.part))
            day = local_day(ctx, first)
            on_day = [s for s in slots if local_day(ctx, s) == day]
        else:
            day = wanted.day or default_day or local_today(ctx)
            problem = self.out_of_reach(ctx, day)
            if problem is not None:
                return Retry(problem)
            on_day = await free_slots(ctx, day)
            if not on_day:  # only now is the rest of the horizon needed: for the next free day
                return Retry(self.day_full(ctx, day, await free_slots(ctx)))
        part = wanted.part if wanted.time is None else None
        if part is not None and not any(in_part(ctx, s, part) for s in on_day):
            return Retry(self.no_part_on(ctx, part, ctx.t.weekday_text(day)))
        ctx.data.update(day=day.isoformat(), part=part)
        ctx.data.pop("slot", None)
        if wanted.time is None:
            return Goto("part" if part is None and worth_grouping(ctx, on_day) else "time")
        asked = availability.first_moment_at(datetime.combine(day, wanted.time), ctx.zone)
        later = [s for s in on_day if s >= asked]
        asked_text, day_text = ctx.t.time_text(asked, ctx.zone), ctx.t.weekday_text(day)
        if not later:
            return Goto("time", say=[ctx._(
                "There is no free time at or after {time} on {day}. "
                "These are the free times that day:", time=asked_text, day=day_text,
            )])
        ctx.data["slot"] = later[0].isoformat()
        if later[0] == asked:
            return Goto(self.after_time)
        return Goto(self.after_time, say=[ctx._(
            "{asked} on {day} is not free; the nearest free time after it is {time}.",
            asked=asked_text, day=day_text, time=ctx.t.time_text(later[0], ctx.zone),
        )])

    @staticmethod
    def out_of_reach(ctx: DialogContext, day: date) -> str | None:
        """Why ``day`` cannot be booked (passed, beyond the horizon or expiry), or None."""
        today = local_today(ctx)
        if day < today:
            return ctx._("That day has already passed. Please choose a day from today on.")
        last = availability.last_bookable_day(ctx.now, ctx.zone, ctx.clinic.booking_horizon_days)
        if day > last:
            return ctx._(
                "Appointments can be booked online up to {day}. Please choose an earlier day, "
                "or send a message to the clinic.", day=ctx.t.date_text(last),
            )
        until = ctx.data.get("until")
        if until and day > date.fromisoformat(str(until)):
            return ctx._(
                "Your package can be used until {day}. Please choose a day on or before it.",
                day=ctx.t.date_text(date.fromisoformat(str(until))),
            )
        return None

    @staticmethod
    def day_full(ctx: DialogContext, day: date, slots: list[datetime]) -> str:
        """``day`` has no free times: say so, and which later day of ``slots`` has."""
        later = next((local_day(ctx, s) for s in slots if local_day(ctx, s) > day), None)
        if later is None:
            return ctx._(
                "There are no free times on {day}. Please choose another day.",
                day=ctx.t.weekday_text(day),
            )
        return ctx._(
            "There are no free times on {day}. The next day with free times is {next}.",
            day=ctx.t.weekday_text(day), next=ctx.t.weekday_text(later),
        )

    @staticmethod
    def no_part_soon(ctx: DialogContext, part: Part | None) -> str:
        if part == "morning":
            return ctx._("There are no free morning times in the coming days.")
        if part == "afternoon":
            return ctx._("There are no free afternoon times in the coming days.")
        return ctx._("There are no free evening times in the coming days.")

    @staticmethod
    def no_part_on(ctx: DialogContext, part: str, day: str) -> str:
        if part == "morning":
            return ctx._("There are no free morning times on {day}.", day=day)
        if part == "afternoon":
            return ctx._("There are no free afternoon times on {day}.", day=day)
        return ctx._("There are no free evening times on {day}.", day=day)
