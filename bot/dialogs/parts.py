"""Parts of the day: a day with many free times is offered as Morning / Afternoon / Evening first.

A day's 30 times in one text are hard to read on a phone and need pages; the ``part`` step of
:class:`bot.dialogs.slots.SlotPicker` asks for the part of the day first (each with its first
and last free time) whenever a day has more than :data:`GROUP_OVER` free times in more than one
part. The patient may type a time there instead ("10:30", "3pm", "15h").
"""

from __future__ import annotations

from datetime import datetime

from bot.dialogs.base import DialogContext
from bot.dialogs.types import Option
from bot.dialogs.when import PARTS, Part, part_of_day

GROUP_OVER = 8
PART_KEY = "p"  # option keys: "pmorning", "pafternoon", "pevening"


def by_part(ctx: DialogContext, slots: list[datetime]) -> dict[Part, list[datetime]]:
    """The slots of each part of the day that has any, in the day's order."""
    found: dict[Part, list[datetime]] = {}
    for slot in slots:
        found.setdefault(part_of_day(slot.astimezone(ctx.zone).time()), []).append(slot)
    return {part: found[part] for part in PARTS if part in found}


def worth_grouping(ctx: DialogContext, slots: list[datetime]) -> bool:
    """Whether to ask the part of the day before the times."""
    return len(slots) > GROUP_OVER and len(by_part(ctx, slots)) > 1


def part_options(ctx: DialogContext, slots: list[datetime]) -> list[Option]:
    """ "Morning: 9:00 a.m. to 11:45 a.m." per part that has free times."""
    options = []
    for part, times in by_part(ctx, slots).items():
        first, last = (ctx.t.time_text(s, ctx.zone) for s in (times[0], times[-1]))
        options.append(Option(PART_KEY + part, part_label(ctx, part, first, last)))
    return options


def part_label(ctx: DialogContext, part: Part, first: str, last: str) -> str:
    if first == last:
        return {"morning": ctx._("Morning: {time}", time=first),
                "afternoon": ctx._("Afternoon: {time}", time=first),
                "evening": ctx._("Evening: {time}", time=first)}[part]
    if part == "morning":
        return ctx._("Morning: {first} to {last}", first=first, last=last)
    if part == "afternoon":
        return ctx._("Afternoon: {first} to {last}", first=first, last=last)
    return ctx._("Evening: {first} to {last}", first=first, last=last)


def part_from_key(key: str | None) -> Part | None:
    if key is None or not key.startswith(PART_KEY):
        return None
    return next((part for part in PARTS if key[len(PART_KEY):] == part), None)


def part_question(ctx: DialogContext, day: str) -> str:
    return ctx._(
        "Which time on {day}? Choose a part of the day, or type a time like 10:30 or 3pm.",
        day=day,
    )
