"""Time comes from a clock, never from ``datetime.now()`` inside the rules.

Services and dialogs take a :class:`Clock`; production wires :class:`SystemClock`, tests a
:class:`FixedClock` they can move forward.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Extension point: anything that can say what time it is, in UTC."""

    def now(self) -> datetime:
        """Return the current moment as an aware UTC datetime."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move (tests, `jobs run --now`)."""

    def __init__(self, moment: datetime) -> None:
        self._moment = as_utc(moment)

    def now(self) -> datetime:
        return self._moment

    def set(self, moment: datetime) -> None:
        self._moment = as_utc(moment)

    def advance(self, delta: timedelta) -> None:
        self._moment += delta


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime; naive values are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
