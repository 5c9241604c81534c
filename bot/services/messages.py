"""Messages patients pass to the clinic ("Talk to the clinic"), queued for staff chats.

The text goes to staff whose ``alerts`` include ``message``; when nobody asked for those, to
every reception and manager staff member, so a message never goes nowhere. It is kept once, in
the desk's inbox (:mod:`bot.services.inbox`): the staff chats' outbox rows carry its item id,
not the text (health data).
"""

from __future__ import annotations

import hashlib

from bot.services import outbox
from bot.services.errors import InvalidInput
from bot.services.inbox_record import record
from bot.services.staff import all_staff
from bot.storage.uow import UnitOfWork

MAX_MESSAGE_CHARS = 1000
DESK_ROLES = ("reception", "manager")


async def pass_to_clinic(
    uow: UnitOfWork, *, patient_id: int, text: str, channel: str, about: str | None = None
) -> int:
    """Queue ``text`` for the clinic's staff; returns how many staff chats it goes to."""
    text = text.strip()
    if not text:
        raise InvalidInput("the message is empty; type what you would like to tell the clinic")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"the message is too long; keep it under {MAX_MESSAGE_CHARS} characters")
    now = uow.clock.now()
    digest = hashlib.sha256(f"{patient_id}|{now.isoformat()}|{text}".encode()).hexdigest()[:16]
    params: dict[str, object] = {"patient_id": patient_id, "channel": channel, "about": about}
    item_id = await record(uow, key=f"message:{digest}", kind="message", params=params,
                           text=text, channel=channel)
    if item_id is None:  # the same text from the same patient at the same moment: sent already
        return 0
    params = {**params, "inbox_id": item_id}
    staff = await all_staff(uow)
    recipients = [s for s in staff if "message" in (s.alerts or [])] or [
        s for s in staff if s.role in DESK_ROLES
    ]
    for member in recipients:
        await outbox.enqueue(
            uow,
            purpose=f"message:{digest}:staff:{member.id}",
            kind="message",
            params=params,
            staff_id=member.id,
        )
    return len(recipients)
