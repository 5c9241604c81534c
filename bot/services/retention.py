"""How long records are kept, and the sweep that prunes what expired (issue 21).

The set-up file's optional ``[retention]`` table sets, on the clinic row:

* ``message_texts_days`` (default 90): the texts of messages sent (outbox ``body``), of what
  patients sent the desk (inbox ``text``) and of the desk's answers are blanked after it; the
  rows stay (what was sent, to whom, when, delivered or not).
* ``inbound_ids_days`` (default 400): the ids of SMS received, kept so that a replayed delivery
  is recognised and not acted on twice (:mod:`bot.services.inbound`; Telegram's update ids are
  kept a week, answers two days, whatever this says).
* ``audit_years`` (default 7): audit log entries older than this are deleted.

:func:`prune_expired` is a scheduler sweep: by the real wall clock (like the inbound
housekeeping: ``clinicbot jobs run --now`` far ahead never deletes early), a chunk of rows at
a time (:func:`bot.services.sweeping.prune`), safe with two instances at once. :func:`kept`
says what is kept, how much of it, and until when, for ``clinicbot report retention``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.services import inbound, sweeping
from bot.services.clinic import get_clinic
from bot.services.periods import add_months
from bot.storage.models import (
    AuditEntry,
    Clinic,
    InboundMessage,
    InboxItem,
    InboxReply,
    OutboxMessage,
)
from bot.storage.uow import UnitOfWork

UNSENT = ("pending", "claimed")  # a text still to be sent is never blanked


def _texts() -> list[tuple[str, Any, Any, dict[str, Any]]]:
    """(what, model, "the text is there" condition, blanking values) of each message text."""
    return [
        ("texts of messages sent", OutboxMessage,
         OutboxMessage.body.is_not(None) & OutboxMessage.status.not_in(UNSENT), {"body": None}),
        ("texts of messages to the desk", InboxItem, InboxItem.text.is_not(None),
         {"text": None}),
        ("texts of the desk's answers", InboxReply, InboxReply.text != "", {"text": ""}),
    ]


def texts_cutoff(clinic: Clinic, now: datetime) -> datetime:
    """Message texts written before this moment are past ``message_texts_days``."""
    return now - timedelta(days=clinic.message_texts_days)


def audit_cutoff(clinic: Clinic, now: datetime) -> datetime:
    """Audit entries before this moment are past ``audit_years``."""
    return datetime.combine(add_months(now.date(), -12 * clinic.audit_years), now.timetz())


async def prune_as_of(uow: UnitOfWork, now: datetime) -> int:
    """Blank the message texts and delete the audit entries expired at the real moment
    ``now``; how many rows changed."""
    clinic = await get_clinic(uow)
    pruned = 0
    before = texts_cutoff(clinic, now)
    for _, model, present, values in _texts():
        pruned += await sweeping.prune(uow, model, present & (model.created_at < before), values)
    return pruned + await sweeping.prune(
        uow, AuditEntry, AuditEntry.at < audit_cutoff(clinic, now))


async def prune_expired(uow: UnitOfWork) -> int:
    """The scheduler's retention sweep: :func:`prune_as_of` the real time."""
    return await prune_as_of(uow, inbound.WALL_CLOCK.now())


@dataclass(frozen=True)
class Kept:
    """One kind of record: how long it is kept, how many are held, the oldest held, and
    until when that oldest one stays (None: nothing held)."""

    what: str
    kept_for: str
    held: int
    oldest: datetime | None
    until: datetime | None


async def kept(uow: UnitOfWork) -> list[Kept]:
    """What the clinic keeps under ``[retention]`` now (by the real clock)."""
    clinic = await get_clinic(uow)
    now = inbound.WALL_CLOCK.now()
    days = f"{clinic.message_texts_days} days"
    rows: list[Kept] = []
    for what, model, present, _ in _texts():
        rows.append(await _kept(uow, what, days, model.created_at, present,
                                timedelta(days=clinic.message_texts_days)))
    keep_ids = await inbound.kept_ids(uow)
    sms = keep_ids.get("sms", inbound.KEEP_IDS["sms"])
    rows.append(await _kept(uow, "ids of SMS received", f"{sms.days} days",
                            InboundMessage.created_at, InboundMessage.channel == "sms", sms))
    rows.append(await _kept(uow, "ids of Telegram updates received",
                            f"{inbound.KEEP_ANSWERED.days} days", InboundMessage.created_at,
                            InboundMessage.channel != "sms", inbound.KEEP_ANSWERED))
    rows.append(await _kept(uow, "answers to messages received",
                            f"{inbound.KEEP_REPLY.days} days", InboundMessage.answered_at,
                            InboundMessage.reply.is_not(None), inbound.KEEP_REPLY))
    oldest, held = (await uow.session.execute(
        select(func.min(AuditEntry.at), func.count()).select_from(AuditEntry))).one()
    until = None
    if oldest is not None:
        until = oldest + (now - audit_cutoff(clinic, now))
    rows.append(Kept("audit log entries", f"{clinic.audit_years} years", int(held), oldest,
                     until))
    return rows


async def _kept(uow: UnitOfWork, what: str, kept_for: str, at: Any, where: Any,
                keep: timedelta) -> Kept:
    oldest, held = (await uow.session.execute(
        select(func.min(at), func.count()).where(where))).one()
    return Kept(what, kept_for, int(held), oldest, None if oldest is None else oldest + keep)
