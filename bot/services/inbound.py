"""Acting on an inbound message once, however often the channel delivers it.

A channel handler calls :func:`claim` in its own short transaction before acting. The first
delivery gets the claim; a repeat gets the reply remembered by :func:`remember_reply` (or
nothing yet, when the first delivery is still being handled). A claim whose handler died before
answering (a crash, not a shutdown: shutdown lets requests finish) is taken over after
:data:`CLAIM_TIMEOUT`, so a message is never lost to a dead process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from bot.storage.models import InboundMessage
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore

CLAIM_TIMEOUT = timedelta(minutes=2)
KEEP_ANSWERED = timedelta(days=7)  # Twilio retries within hours, Telegram keeps updates a day


@dataclass(frozen=True)
class Claim:
    """``owned``: this delivery must act. Otherwise ``reply`` is the earlier answer, if given."""

    owned: bool
    reply: str | None = None


async def claim(uow: UnitOfWork, channel: str, external_id: str) -> Claim:
    """Claim the message ``external_id`` of ``channel`` for handling (see the module docstring)."""
    now = uow.clock.now()
    values = {"channel": channel, "external_id": external_id, "reply": None, "created_at": now}
    if await insert_ignore(uow, InboundMessage, values, ["channel", "external_id"]) is not None:
        return Claim(owned=True)
    seen = await _find(uow, channel, external_id)
    if seen is None:  # pragma: no cover - the row that conflicted cannot vanish: rows stay
        return Claim(owned=False)
    if seen.reply is not None:
        return Claim(owned=False, reply=seen.reply)
    if seen.created_at <= now - CLAIM_TIMEOUT:
        taken: Any = await uow.session.execute(
            update(InboundMessage)
            .where(
                InboundMessage.id == seen.id,
                InboundMessage.reply.is_(None),
                InboundMessage.created_at == seen.created_at,
            )
            .values(created_at=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            return Claim(owned=True)
    return Claim(owned=False)


async def remember_reply(uow: UnitOfWork, channel: str, external_id: str, reply: str) -> None:
    """Store the answer given to a claimed message, for repeats of it."""
    await uow.session.execute(
        update(InboundMessage)
        .where(InboundMessage.channel == channel, InboundMessage.external_id == external_id)
        .values(reply=reply)
        .execution_options(synchronize_session=False)
    )


async def earlier_reply(uow: UnitOfWork, channel: str, external_id: str) -> str | None:
    """The answer given to this message, or None while it is still being handled."""
    seen = await _find(uow, channel, external_id)
    return None if seen is None else seen.reply


async def _find(uow: UnitOfWork, channel: str, external_id: str) -> InboundMessage | None:
    found: InboundMessage | None = await uow.session.scalar(
        select(InboundMessage)
        .where(InboundMessage.channel == channel, InboundMessage.external_id == external_id)
        .execution_options(populate_existing=True)
    )
    return found


async def release(uow: UnitOfWork, channel: str, external_id: str) -> None:
    """Forget an unanswered claim (its handling failed and was rolled back): a retry may act."""
    await uow.session.execute(
        delete(InboundMessage)
        .where(
            InboundMessage.channel == channel,
            InboundMessage.external_id == external_id,
            InboundMessage.reply.is_(None),
        )
        .execution_options(synchronize_session=False)
    )


async def forget_before(uow: UnitOfWork, moment: datetime) -> int:
    """Delete answered messages first seen before ``moment`` (providers retry within minutes,
    so a few days of history is plenty); how many were deleted."""
    result: Any = await uow.session.execute(
        delete(InboundMessage)
        .where(InboundMessage.created_at < moment, InboundMessage.reply.is_not(None))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def forget_old(uow: UnitOfWork) -> int:
    """The scheduler's housekeeping sweep: forget answered messages older than
    :data:`KEEP_ANSWERED` (no provider delivers them again by then)."""
    return await forget_before(uow, uow.clock.now() - KEEP_ANSWERED)
