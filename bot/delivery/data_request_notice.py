"""What staff read when a patient asks in chat for a copy of their data or to be forgotten.

Rendered from the alert's ids (:mod:`bot.services.data_requests`): who the request is about,
who asked (a guardian may ask for a ward) and on which channel, and what to do: check who is
asking before anything is sent or erased.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services.data_requests import ERASE

if TYPE_CHECKING:
    from bot.delivery.notifications import Notice, Rendering


async def data_request(r: Rendering) -> Notice | None:
    """The request, as a task for the desk."""
    from bot.delivery.notifications import Notice

    params = r.message.params or {}
    patient_id, asker_id = r.param("patient_id"), r.param("requested_by")
    if await r.person(patient_id) is None:
        return None
    values = {"patient": await r.staff_label(patient_id),
              "channel": params.get("channel") or "?"}
    if params.get("what") == ERASE:
        text = r.t.gettext(
            "{patient} asked to be forgotten ({channel}): their personal data erased. Call them "
            "to check it is them before erasing anything (clinicbot staff erase).", **values)
    else:
        text = r.t.gettext(
            "{patient} asked for a copy of the data the clinic holds about them ({channel}). "
            "Check it is them before sending anything (clinicbot staff export).", **values)
    if asker_id != patient_id:
        text += " " + r.t.gettext("Asked by their guardian {guardian}.",
                                  guardian=await r.staff_label(asker_id))
    return Notice(text)
