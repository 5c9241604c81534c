"""The desk's inbox (issue 17): patients' "Talk to the clinic" messages and staff alerts.

Items are recorded where messages and alerts are queued (:mod:`bot.services.inbox_record`);
here is what the desk does with them, for every adapter (CLI, Telegram, the console):

* :func:`listing` -- unhandled first, newest first, a page at a time (keyset: a page's ``next``
  token is where the following page starts, so paging stays fast and nothing is skipped while
  new items arrive); filtered by state and kind.
* :func:`mark_handled` / :func:`mark_unhandled` -- one state shared by all staff, idempotent:
  of two staff marking at once, one is recorded as ``handled_by`` (a conditional update).
* :func:`reply` -- checks the text, queues it to the patient through the outbox (kind
  ``staff_reply``; delivered on the patient's own channel, Telegram or SMS, like every patient
  message: to the guardian who manages them when they have neither), records it and marks the
  item handled, in the caller's unit of work. A patient who opted out gets nothing and the
  desk is told why; so is a reply to an alert about no patient.

Given an ``actor`` (:class:`bot.services.audit.Actor`), each action that changed something
records an audit entry (``inbox.reply``, ``inbox.handled``, ``inbox.unhandled``): ids only,
never the message or the reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from bot.services import audit, outbox
from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.services.recipients import reachable, recipient_for
from bot.storage.models import InboxItem, InboxReply, OutboxMessage, Patient
from bot.storage.uow import UnitOfWork

STAFF_REPLY = "staff_reply"
MAX_REPLY_CHARS = 1000
UNHANDLED, HANDLED, ALL = "unhandled", "handled", "all"
STATES = (UNHANDLED, HANDLED, ALL)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last item's (handled?, created_at, id), as an opaque token."""

    handled: bool
    created_at: datetime
    id: int

    def token(self) -> str:
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        return f"{int(self.handled)}-{micros}-{self.id}"

    @classmethod
    def parse(cls, token: str) -> Cursor:
        parts = token.strip().split("-")
        if len(parts) != 3 or parts[0] not in ("0", "1") or not all(
                p.isdecimal() and len(p) <= 20 for p in parts[1:]):
            raise InvalidInput(f"{token[:40]!r} is not a page token; use the one a listing gave")
        return cls(parts[0] == "1", _EPOCH + timedelta(microseconds=int(parts[1])), int(parts[2]))

    @classmethod
    def of(cls, item: InboxItem) -> Cursor:
        return cls(item.handled_at is not None, item.created_at, item.id)


@dataclass(frozen=True)
class Page:
    """A page of the inbox and the token of the next one (None: this was the last)."""

    items: list[InboxItem]
    next: str | None


def _older(cursor: Cursor) -> ColumnElement[bool]:
    return or_(InboxItem.created_at < cursor.created_at,
               and_(InboxItem.created_at == cursor.created_at, InboxItem.id < cursor.id))


async def listing(
    uow: UnitOfWork, *, state: str = ALL, kind: str | None = None, after: str | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """A page of items: unhandled ones first, each part newest first; ``after``: a page's
    ``next`` token; ``state``: one of :data:`STATES`; ``kind``: only that kind of item."""
    if state not in STATES:
        raise InvalidInput(f"{state!r} is not an inbox state; use one of {', '.join(STATES)}")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE_SIZE} items, not {limit}")
    cursor = Cursor.parse(after) if after else None
    parts = {UNHANDLED: [False], HANDLED: [True], ALL: [False, True]}[state]
    found: list[InboxItem] = []
    for handled in parts:
        if cursor is not None and cursor.handled and not handled:
            continue  # the unhandled part was paged through already
        stmt = select(InboxItem).where(
            InboxItem.handled_at.is_not(None) if handled else InboxItem.handled_at.is_(None))
        if kind is not None:
            stmt = stmt.where(InboxItem.kind == kind)
        if cursor is not None and cursor.handled == handled:
            stmt = stmt.where(_older(cursor))
        stmt = stmt.order_by(InboxItem.created_at.desc(), InboxItem.id.desc())
        found += (await uow.session.scalars(stmt.limit(limit + 1 - len(found)))).all()
        if len(found) > limit:
            break
    if len(found) > limit:
        return Page(found[:limit], Cursor.of(found[limit - 1]).token())
    return Page(found, None)


async def get_item(uow: UnitOfWork, item_id: int) -> InboxItem:
    """The item as the database has it now."""
    item = await uow.session.scalar(select(InboxItem).where(InboxItem.id == item_id)
                                    .execution_options(populate_existing=True))
    if item is None:
        raise NotFound(f"there is no inbox item {item_id}; list them with "
                       "'clinicbot staff messages --all'")
    return item


async def replies(uow: UnitOfWork, item_id: int) -> list[InboxReply]:
    """The desk's replies to an item, oldest first."""
    return list((await uow.session.scalars(
        select(InboxReply).where(InboxReply.item_id == item_id).order_by(InboxReply.id))).all())


async def mark_handled(uow: UnitOfWork, item_id: int, *, by: str,
                       actor: audit.Actor | None = None) -> tuple[InboxItem, bool]:
    """Mark the item handled by staff ``by``; whether this call did (False: it was already,
    and whoever handled it first stays recorded)."""
    seen = await audit.watch(uow, actor)
    result = await uow.session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id, InboxItem.handled_at.is_(None))
        .values(handled_at=uow.clock.now(), handled_by=by)
        .execution_options(synchronize_session=False))
    changed = bool(getattr(result, "rowcount", 0) == 1)
    item = await get_item(uow, item_id)
    if changed:
        await seen.record("inbox.handled", summary=f"inbox item {item_id} handled",
                          patient_id=item.patient_id)
    return item, changed


async def mark_unhandled(uow: UnitOfWork, item_id: int, *, actor: audit.Actor | None = None
                         ) -> tuple[InboxItem, bool]:
    """Put the item back among the unhandled; whether this call did (False: it was there)."""
    seen = await audit.watch(uow, actor)
    result = await uow.session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id, InboxItem.handled_at.is_not(None))
        .values(handled_at=None, handled_by=None)
        .execution_options(synchronize_session=False))
    changed = bool(getattr(result, "rowcount", 0) == 1)
    item = await get_item(uow, item_id)
    if changed:
        await seen.record("inbox.unhandled", summary=f"inbox item {item_id} waits again",
                          patient_id=item.patient_id)
    return item, changed


def check_reply(text: str) -> str:
    """The reply as it will be sent (trimmed), or InvalidInput saying what is wrong."""
    text = text.strip()
    if not text:
        raise InvalidInput("the reply is empty; type what the patient should read")
    if len(text) > MAX_REPLY_CHARS:
        raise InvalidInput(f"the reply is {len(text)} characters long; keep it to "
                           f"{MAX_REPLY_CHARS} (a long answer is better given by phone)")
    return text


async def _why_unreachable(uow: UnitOfWork, patient_id: int) -> str:
    patient = await uow.session.get(Patient, patient_id)
    if patient is not None and patient.opted_out:
        return (f"patient {patient_id} opted out of messages (they texted STOP), so nothing "
                "was sent; call them, or reply once they text START")
    if patient is not None and reachable(patient):
        return (f"the guardian who receives patient {patient_id}'s messages opted out, so "
                "nothing was sent; call them instead")
    return (f"patient {patient_id} has no phone or Telegram account to reply to, so nothing "
            "was sent; add a phone to their profile or call them")


async def reply(uow: UnitOfWork, item_id: int, *, by: str, text: str,
                actor: audit.Actor | None = None) -> InboxReply:
    """Queue ``text`` to the item's patient, record it and mark the item handled (see the
    module docstring); nothing changes when it is refused."""
    text = check_reply(text)
    item = await get_item(uow, item_id)
    if item.patient_id is None:
        raise InvalidInput(f"inbox item {item_id} ({item.kind.replace('_', ' ')}) is not about "
                           "a patient: there is nobody to reply to")
    if await recipient_for(uow, item.patient_id) is None:
        raise WrongState(await _why_unreachable(uow, item.patient_id))
    answer = InboxReply(item_id=item.id, staff_key=by, text=text, created_at=uow.clock.now())
    uow.session.add(answer)
    await uow.session.flush()
    purpose = f"{STAFF_REPLY}:inbox:{answer.id}"
    await outbox.enqueue(uow, purpose=purpose, kind=STAFF_REPLY, patient_id=item.patient_id,
                         params={"reply_id": answer.id, "inbox_id": item.id, "staff": by})
    answer.outbox_id = await uow.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.purpose == purpose))
    await mark_handled(uow, item.id, by=by)
    await uow.session.flush()
    seen = await audit.watch(uow, actor)
    await seen.record("inbox.reply", summary=f"reply {answer.id} to inbox item {item.id}",
                      patient_id=item.patient_id)
    return answer


async def patient_names(uow: UnitOfWork, items: list[InboxItem]) -> dict[int, str]:
    """The full names of the items' patients, by id, in one query (for a page of the inbox)."""
    ids = {item.patient_id for item in items if item.patient_id is not None}
    if not ids:
        return {}
    rows = await uow.session.execute(select(Patient.id, Patient.first_name, Patient.last_name)
                                     .where(Patient.id.in_(ids)))
    return {patient_id: f"{first} {last}" for patient_id, first, last in rows.all()}
