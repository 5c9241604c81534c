"""Turning a rule's refusal (a domain error) into a friendly, translated explanation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services.errors import DomainError

if TYPE_CHECKING:
    from bot.dialogs.base import DialogContext


def explain(ctx: DialogContext, error: DomainError) -> str:
    """What to tell the patient when ``error`` refused their request."""
    _ = ctx._
    messages = {
        "slot_taken": _("Sorry, someone just took that time. Please pick another."),
        "slot_unavailable": _("That time is not available. Please pick one of the times shown."),
        "no_uses_left": _("That package has no uses left."),
        "package_not_paid": _("That package can be used once it is paid."),
        "package_expired": _("That package has expired."),
        "package_ended": _("That package was refunded and can no longer be used."),
        "package_not_usable": _("That package does not cover this appointment."),
        "too_late_to_cancel": _(
            "It is too late to change this appointment in chat (less than {hours} hours "
            "before it). We can pass a message to the clinic.",
            hours=ctx.clinic.cancel_notice_hours,
        ),
        "not_allowed": _("Sorry, that is not possible from this account."),
    }
    return messages.get(error.code, _("Sorry, that could not be done. Please try again."))
