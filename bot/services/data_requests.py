"""A patient's request, in chat, for a copy of their data or to be forgotten (issue 21).

Never acted on automatically: a chat channel proves only that someone holds the phone or the
Telegram account, so :func:`ask` makes the request a staff task: an item in the desk's inbox
and an alert (kind ``data_request``) to the staff whose ``alerts`` include it, else to every
reception and manager member. Staff check who is asking, then export
(``clinicbot staff export``) or erase. A guardian may ask for a ward; the alert says who asked.

One task per patient, kind of request and clinic day: the purpose key
``data_request:{what}:{patient}:{day}`` makes a request repeated the same day (or sent twice)
one task. Params hold ids only, never a name or a message text.
"""

from __future__ import annotations

from bot.services import outbox
from bot.services.clinic import get_clinic, local_today
from bot.services.errors import InvalidInput
from bot.services.inbox_record import record_alerts
from bot.services.messages import DESK_ROLES
from bot.services.staff import all_staff
from bot.storage.uow import UnitOfWork

KIND = "data_request"
COPY, ERASE = "copy", "erase"
WHAT = (COPY, ERASE)


def purpose(what: str, patient_id: int, day: str) -> str:
    """The request's key: one per patient, kind and clinic day."""
    return f"{KIND}:{what}:{patient_id}:{day}"


async def ask(uow: UnitOfWork, *, patient_id: int, requested_by: int, what: str,
              channel: str) -> bool:
    """Make ``requested_by``'s request about ``patient_id`` (themselves or a ward) a staff
    task; True when it is new (False: the same request was made today already)."""
    if what not in WHAT:
        raise InvalidInput(f"{what!r} is not a data request; use one of {', '.join(WHAT)}")
    day = local_today(await get_clinic(uow), uow.clock.now()).isoformat()
    key = purpose(what, patient_id, day)
    params: dict[str, object] = {"patient_id": patient_id, "requested_by": requested_by,
                                 "what": what, "channel": channel}
    staff = await all_staff(uow)
    told = [s.id for s in staff if KIND in (s.alerts or [])] or [
        s.id for s in staff if s.role in DESK_ROLES]
    if not told:  # nobody to alert: the desk's inbox has it all the same
        return await record_alerts(uow, [(key, KIND, params)]) > 0
    rows = outbox.staff_alert_rows(KIND, told, [(key, params)])
    return await outbox.enqueue_many(uow, rows) > 0
