"""Domain errors the services raise; dialogs and the CLI turn them into friendly text.

Every error carries ``code`` (stable, for translation and tests) and an English ``message`` that
says what was wrong and what would allow it.
"""

from __future__ import annotations


class DomainError(Exception):
    """Extension point: a rule refused the action. Nothing was changed."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
