"""What the simulated patients do: book (racing for the first free times), cancel, buy, talk.

A script reads each answer like a patient: it recognises the step by its question and picks
an option by its label (or at random among the first few times, seeded, so many patients want
the same slot). A lost race ("someone just took that time", "no longer free") is answered by
picking again, a bounded number of times. :class:`Plan` says what one patient does (drawn from
the patient's seed); :class:`Done` records what the bot said was done, which the test compares
with the database afterwards.
"""

from __future__ import annotations

import random
import re
from dataclasses import astuple, dataclass, field
from typing import Protocol

from tests.load.clinic import PatientOnFile

MENU_QUESTION = "What would you like to do?"
USES_LEFT = re.compile(r"^.+: \d+ uses? left\.$", re.MULTILINE)  # a package covers it
MAX_STEPS = 30
MAX_LOST_RACES = 4
TEMPLATES = ("Physio 5-pack", "Massage 10-pack")


class Session(Protocol):
    """The channel-independent side of :mod:`tests.load.sessions`."""

    channel: str

    @property
    def text(self) -> str: ...

    @property
    def labels(self) -> list[str]: ...

    async def start(self) -> None: ...

    async def say(self, text: str, *, duplicate: bool = False) -> None: ...

    async def choose(self, index: int, *, duplicate: bool = False) -> None: ...


@dataclass(frozen=True)
class Plan:
    """One patient's intentions (see the module docstring)."""

    bookings: int
    use_package: bool
    cancel: bool
    buy: bool
    talk: bool
    duplicates: bool
    both_channels: bool = False

    @classmethod
    def draw(cls, patient: PatientOnFile, rng: random.Random) -> Plan:
        if patient.channel == "telegram" and patient.pack_uses_left == 1:
            # The same patient books on SMS and Telegram at once: one use left for two.
            return cls(1, True, False, False, False, rng.random() < 0.5, both_channels=True)
        bookings = 2 if patient.pack_uses_left == 1 else int(rng.random() < 0.8)
        return cls(
            bookings=bookings, use_package=patient.pack_uses_left > 0,
            cancel=bookings > 0 and rng.random() < 0.3, buy=rng.random() < 0.3,
            talk=rng.random() < 0.2, duplicates=rng.random() < 0.25,
        )


@dataclass
class Done:
    """What the bot confirmed to one patient (over all their sessions)."""

    booked: int = 0
    booked_with_package: int = 0
    cancelled: int = 0
    cancelled_with_package: int = 0
    bought: list[str] = field(default_factory=list)
    talked: int = 0
    lost_races: int = 0
    no_slot: int = 0
    unexpected: list[str] = field(default_factory=list)

    def __add__(self, other: Done) -> Done:
        return Done(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def option(session: Session, label: str) -> int:
    """The index of the option whose label contains ``label``."""
    for index, shown in enumerate(session.labels):
        if label.casefold() in shown.casefold():
            return index
    raise AssertionError(f"no option {label!r} in {session.labels} ({session.channel})")


async def to_menu(session: Session) -> None:
    if MENU_QUESTION not in session.text:
        await session.say("MENU")


async def run_plan(session: Session, plan: Plan, rng: random.Random, done: Done) -> None:
    """Everything the plan says, in order (the first answer already shows the menu)."""
    await session.start()
    for _ in range(plan.bookings):
        await book(session, plan, rng, done)
    if plan.cancel and done.booked:
        await cancel(session, plan, done)
    if plan.buy:
        await buy(session, plan, rng, done)
    if plan.talk:
        await to_menu(session)
        await session.choose(option(session, "Talk to the clinic"))
        await talk(session, done)


async def book(session: Session, plan: Plan, rng: random.Random, done: Done) -> None:
    await to_menu(session)
    await session.choose(option(session, "Book an appointment"))
    lost = [0]
    try:
        await _book_steps(session, plan, rng, done, lost)
    finally:
        done.lost_races += lost[0]


async def _book_steps(session: Session, plan: Plan, rng: random.Random, done: Done,
                      lost: list[int]) -> None:
    for _ in range(MAX_STEPS):
        text = session.text
        if "Booked for" in text:
            done.booked += 1
            done.booked_with_package += bool(USES_LEFT.search(text))
            return
        if lost[0] >= MAX_LOST_RACES:
            await session.say("MENU")
            return
        if "Would you like to use your package" in text:
            await session.choose(0 if plan.use_package else option(session, "Without a package"))
        elif "Please check your booking" in text:
            await session.choose(option(session, "Confirm"), duplicate=plan.duplicates)
        elif "is no longer free" in text:
            lost[0] += 1
            await session.choose(option(session, "Choose another time"))
        elif "Which time on" in text:
            lost[0] += "someone just took that time" in text
            times = len(session.labels) - 1  # the last is "Another day"
            await session.choose(rng.randrange(min(3, times)))
        elif "Which day?" in text:
            await session.choose(0 if rng.random() < 0.7 else min(1, len(session.labels) - 1))
        elif "There are no free times left on" in text:
            lost[0] += 1
            await session.choose(option(session, "Choose another day"))
        elif "no free times to book online" in text:
            done.no_slot += 1
            if plan.talk:
                await session.choose(option(session, "Send a message to the clinic"))
                await talk(session, done)
            else:
                await session.say("MENU")
            return
        elif "What would you like to book?" in text or "With whom, and where?" in text:
            await session.choose(rng.randrange(len(session.labels)))
        else:
            done.unexpected.append(f"{session.channel} booking: {text[:160]!r}")
            await session.say("MENU")
            return
    done.unexpected.append(f"{session.channel} booking did not end in {MAX_STEPS} steps")


async def cancel(session: Session, plan: Plan, done: Done) -> None:
    await to_menu(session)
    await session.choose(option(session, "My appointments"))
    if "Upcoming appointments:" not in session.text:
        done.unexpected.append(f"{session.channel} cancel: {session.text[:160]!r}")
        return
    with_package = session.labels[0].endswith("(package)")
    await session.choose(0)
    await session.choose(option(session, "Call it off"))
    await session.choose(option(session, "Yes, call it off"), duplicate=plan.duplicates)
    if session.text.startswith("Cancelled."):
        done.cancelled += 1
        done.cancelled_with_package += with_package
    else:
        done.unexpected.append(f"{session.channel} cancel: {session.text[:160]!r}")


async def buy(session: Session, plan: Plan, rng: random.Random, done: Done) -> None:
    await to_menu(session)
    await session.choose(option(session, "Buy a package"))
    name = rng.choice(TEMPLATES)
    await session.choose(option(session, name))
    await session.choose(option(session, "Buy it"), duplicate=plan.duplicates)
    if not session.text.startswith("Done!"):
        done.unexpected.append(f"{session.channel} buy: {session.text[:160]!r}")
        return
    done.bought.append(name)
    await session.choose(option(session, "Pay at the clinic"))
    if "front desk" not in session.text:
        done.unexpected.append(f"{session.channel} pay: {session.text[:160]!r}")


async def talk(session: Session, done: Done) -> None:
    if "Type your message for the clinic" not in session.text:
        done.unexpected.append(f"{session.channel} talk: {session.text[:160]!r}")
        return
    await session.say("Could someone call me about my shoulder exercises?")
    if "Your message was passed to the clinic" in session.text:
        done.talked += 1
    else:
        done.unexpected.append(f"{session.channel} talk: {session.text[:160]!r}")
