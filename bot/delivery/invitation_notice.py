"""What the invitee reads in an invitation SMS (issue 18): who it is for, the code, until when;
and what the desk reads when wrong codes lock every chat out of invitation codes.

Rendered at send time from the outbox row (:data:`bot.services.invitations.INVITATION_SMS`),
whose code is wiped once the invitation ends or gets a new code; such a row renders nothing
and is skipped. The lock-out alert
(:data:`bot.services.invitation_codes.LOCKED_ALERT`) carries the count and the time only.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.storage.models import Invitation, Patient

if TYPE_CHECKING:
    from bot.delivery.notifications import Notice, Rendering


async def invitation_sms(r: Rendering) -> Notice | None:
    """The invitation: the clinic, the patient's first name, the code to text back, the day it
    expires."""
    from bot.delivery.notifications import Notice

    code = (r.message.params or {}).get("code")
    invitation = await r.uow.session.get(Invitation, r.param("invitation_id"))
    if not isinstance(code, str) or invitation is None:
        return None
    ward = await r.uow.session.get(Patient, invitation.patient_id)
    if ward is None:
        return None
    expires = invitation.expires_at.astimezone(ZoneInfo(r.clinic.timezone))
    return Notice(r.t.gettext(
        "{clinic}: you are invited to book and view appointments for {name}. To accept, "
        "reply with this code: {code} (valid until {day}).",
        clinic=r.clinic.name, name=ward.first_name, code=code,
        day=r.t.date_text(expires.date())))


async def invitation_codes_locked(r: Rendering) -> Notice | None:
    """Wrong invitation codes locked every chat out (:mod:`bot.services.invitation_codes`)."""
    from bot.delivery.notifications import Notice

    params = r.message.params or {}
    try:
        until = r.when(datetime.fromisoformat(str(params.get("until"))))
    except ValueError:
        return None
    return Notice(r.t.gettext(
        "{n} wrong invitation codes were sent within an hour: invitation codes are locked for "
        "everyone until {time}. Patients who have a code should try again after that.",
        n=params.get("failures"), time=until))
