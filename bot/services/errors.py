"""Domain errors the services raise; dialogs and the CLI turn them into friendly text.

Every error carries ``code`` (stable, for translation and tests) and an English ``message`` that
says what was wrong and what would allow it.

Dates and times are carried, not written: a service names them in its message as ``{name}``
and passes them as keywords with the clinic's ``zone``, so each adapter writes them for its
reader (:meth:`DomainError.text`; staff chats in the clinic's locale, ``Translator.error_text``).
``message`` writes them as the desk types them: the clinic's wall-clock time
(:func:`bot.services.wall.wall_text`) and ISO dates, never a UTC ISO timestamp.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, tzinfo

from bot.services.wall import wall_text

Moment = datetime | date
_NAMED = re.compile(r"\{(\w+)\}")


class DomainError(Exception):
    """Extension point: a rule refused the action. Nothing was changed."""

    code = "domain_error"

    def __init__(self, message: str, *, zone: tzinfo | None = None, **moments: Moment) -> None:
        self.template = message
        self.zone = zone
        self.moments = moments
        self.message = self.text(self.desk_text)
        super().__init__(self.message)

    def desk_text(self, moment: Moment) -> str:
        """A moment as the desk types it: clinic wall-clock time, or an ISO date."""
        if isinstance(moment, datetime):
            return wall_text(moment, self.zone)
        return moment.isoformat()

    def text(self, write: Callable[[Moment], str]) -> str:
        """The message with each ``{name}`` of :attr:`moments` written by ``write``."""
        if not self.moments:
            return self.template
        return _NAMED.sub(
            lambda m: write(self.moments[m[1]]) if m[1] in self.moments else m[0], self.template
        )


class NotFound(DomainError):
    code = "not_found"


class InvalidInput(DomainError):
    code = "invalid_input"


class NotAllowed(DomainError):
    """The acting account may not do this for that profile (RULES.md 17, 19)."""

    code = "not_allowed"


class PackageNotUsable(DomainError):
    """The package cannot cover this appointment (unpaid, ended, wrong fee/practitioner...)."""

    code = "package_not_usable"


class PackageNotPaid(PackageNotUsable):
    code = "package_not_paid"


class PackageExpired(PackageNotUsable):
    code = "package_expired"


class PackageEnded(PackageNotUsable):
    code = "package_ended"


class NoUsesLeft(PackageNotUsable):
    code = "no_uses_left"


class PastExpiry(PackageNotUsable):
    """Moving a package appointment past the package's expiry (RULES.md 5)."""

    code = "past_expiry"


class SlotTaken(DomainError):
    code = "slot_taken"


class ClosedThen(SlotTaken):
    """The time falls while the clinic is closed or the practitioner is away (RULES.md 20); a
    kind of SlotTaken, so whoever offered the time (it was free when shown) asks for another."""

    code = "closed"


class SlotUnavailable(DomainError):
    """The time is outside the practitioner's hours, notice, horizon or slot grid."""

    code = "slot_unavailable"


class TooLateToCancel(DomainError):
    code = "too_late_to_cancel"


class WrongState(DomainError):
    """The thing is not in a state that allows this (already arrived, cancelled, resolved...)."""

    code = "wrong_state"


class AmountOutOfRange(DomainError):
    code = "amount_out_of_range"
