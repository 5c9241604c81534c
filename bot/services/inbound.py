"""Acting on an inbound message once, however often the channel delivers it.

A channel handler calls :func:`claim` in its own short transaction before acting. The first
delivery gets the claim: a lease (``lease_until``) held under a token of its own. A repeat gets
the answer recorded for the message (or nothing yet, while the first delivery is still being
handled). A claim whose lease ran out is taken over by the next delivery, under a new token, so
a message is never lost to a dead process.

The SMS handler keeps its lease alive with :func:`renew` while it acts (a lease of seconds, so a
retry on another instance takes over quickly when the first instance died), and records its
answer with :func:`settle` *in the transaction of the action*: the update only succeeds while
the token is still the claim's, else :class:`ClaimLost` rolls the action back (the claim was
taken over by a delivery that acts instead). So each message is acted on once even when a slow
owner's lease runs out. Telegram claims for :data:`CLAIM_TIMEOUT` and records with
:func:`remember_reply`.

Housekeeping (:func:`forget_old`) goes by the real wall clock, never by the sweep's ``now``
(``clinicbot jobs run --now`` may be far ahead): answers are dropped after :data:`KEEP_REPLY`
(an SMS answer can hold health data, and retries come within hours), while the ids themselves
are kept :data:`KEEP_IDS` per channel -- Twilio's ``MessageSid`` is unique forever, so a signed
request replayed months later is still recognised and not acted on again. Telegram starts
``update_id`` afresh at random after a week without updates, so its ids are kept a week only.
Rows are forgotten by age alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from bot.clock import Clock, SystemClock
from bot.storage.models import InboundMessage
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore

CLAIM_TIMEOUT = timedelta(minutes=2)
KEEP_REPLY = timedelta(days=2)  # Twilio and our proxy retry within hours; Telegram within a day
KEEP_ANSWERED = timedelta(days=7)  # ids of channels that reuse them (Telegram)
KEEP_IDS = {"sms": timedelta(days=400)}  # Twilio's MessageSid is never reused
WALL_CLOCK: Clock = SystemClock()


class ClaimLost(Exception):
    """The claim was taken over by another delivery (this one's lease ran out): do not act."""


@dataclass(frozen=True)
class Claim:
    """``owned``: this delivery must act, under ``token``. Otherwise ``answered`` says whether the
    message was acted on already, and ``reply`` is the answer given, if still kept."""

    owned: bool
    reply: str | None = None
    answered: bool = False
    token: str | None = None


async def claim(
    uow: UnitOfWork, channel: str, external_id: str, *, lease: timedelta = CLAIM_TIMEOUT
) -> Claim:
    """Claim the message ``external_id`` of ``channel`` for handling (see the module docstring)."""
    now = uow.clock.now()
    token = uuid.uuid4().hex
    values = {"channel": channel, "external_id": external_id, "reply": None, "created_at": now,
              "owner": token, "lease_until": now + lease}
    if await insert_ignore(uow, InboundMessage, values, ["channel", "external_id"]) is not None:
        return Claim(owned=True, token=token)
    seen = await _find(uow, channel, external_id)
    if seen is None:  # pragma: no cover - the row that conflicted cannot vanish: rows stay
        return Claim(owned=False)
    if seen.answered_at is not None:
        return Claim(owned=False, reply=seen.reply, answered=True)
    if seen.lease_until is None or seen.lease_until <= now:
        taken: Any = await uow.session.execute(
            update(InboundMessage)
            .where(
                InboundMessage.id == seen.id,
                InboundMessage.answered_at.is_(None),
                InboundMessage.owner.is_not_distinct_from(seen.owner),
            )
            .values(owner=token, lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            return Claim(owned=True, token=token)
    return Claim(owned=False)


async def renew(
    uow: UnitOfWork, channel: str, external_id: str, token: str, lease: timedelta
) -> bool:
    """Extend the lease of a claim this delivery still holds; False if it does not any more."""
    result: Any = await uow.session.execute(
        _mine(channel, external_id, token)
        .where(InboundMessage.answered_at.is_(None))
        .values(lease_until=uow.clock.now() + lease)
    )
    return bool(result.rowcount == 1)


async def settle(
    uow: UnitOfWork, channel: str, external_id: str, token: str, reply: str
) -> None:
    """Record ``reply`` as the answer to a message claimed under ``token``, in the transaction
    of the action; :class:`ClaimLost` if another delivery took the claim over (roll back)."""
    result: Any = await uow.session.execute(
        _mine(channel, external_id, token).values(
            reply=reply, answered_at=uow.clock.now(), lease_until=None)
    )
    if result.rowcount != 1:
        raise ClaimLost(f"the claim of a {channel} message was taken over")


def _mine(channel: str, external_id: str, token: str) -> Any:
    return (
        update(InboundMessage)
        .where(InboundMessage.channel == channel, InboundMessage.external_id == external_id,
               InboundMessage.owner == token)
        .execution_options(synchronize_session=False)
    )


async def remember_reply(uow: UnitOfWork, channel: str, external_id: str, reply: str) -> None:
    """Store the answer given to a claimed message, for repeats of it."""
    await uow.session.execute(
        update(InboundMessage)
        .where(InboundMessage.channel == channel, InboundMessage.external_id == external_id)
        .values(reply=reply, answered_at=uow.clock.now(), lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def earlier_reply(uow: UnitOfWork, channel: str, external_id: str) -> str | None:
    """The answer given to this message, or None while it is still being handled (or once the
    answer is forgotten: see :func:`answered`)."""
    seen = await _find(uow, channel, external_id)
    return None if seen is None else seen.reply


async def answered(uow: UnitOfWork, channel: str, external_id: str) -> bool:
    """Whether this message was acted on and answered (its answer may be forgotten since)."""
    seen = await _find(uow, channel, external_id)
    return seen is not None and seen.answered_at is not None


async def in_hand(uow: UnitOfWork, channel: str, external_id: str) -> bool:
    """Whether a delivery holds this message's claim (unanswered, lease not run out): until
    then, :func:`claim` would only say "not yours"."""
    seen = await _find(uow, channel, external_id)
    return (seen is not None and seen.answered_at is None and seen.lease_until is not None
            and seen.lease_until > uow.clock.now())


async def _find(uow: UnitOfWork, channel: str, external_id: str) -> InboundMessage | None:
    found: InboundMessage | None = await uow.session.scalar(
        select(InboundMessage)
        .where(InboundMessage.channel == channel, InboundMessage.external_id == external_id)
        .execution_options(populate_existing=True)
    )
    return found


async def release(
    uow: UnitOfWork, channel: str, external_id: str, token: str | None = None
) -> None:
    """Forget an unanswered claim (its handling failed and was rolled back): a retry may act.
    With ``token``, only while the claim is still held under it."""
    statement = delete(InboundMessage).where(
        InboundMessage.channel == channel,
        InboundMessage.external_id == external_id,
        InboundMessage.answered_at.is_(None),
    )
    if token is not None:
        statement = statement.where(InboundMessage.owner == token)
    await uow.session.execute(statement.execution_options(synchronize_session=False))


async def forget_as_of(uow: UnitOfWork, now: datetime) -> int:
    """Forget what is too old at the real moment ``now``: answers given more than
    :data:`KEEP_REPLY` before, and ids first seen more than their channel's keep before
    (:data:`KEEP_IDS`, else :data:`KEEP_ANSWERED`), answered or not; how many of both."""
    dropped: Any = await uow.session.execute(
        update(InboundMessage)
        .where(InboundMessage.reply.is_not(None), InboundMessage.answered_at < now - KEEP_REPLY)
        .values(reply=None)
        .execution_options(synchronize_session=False)
    )
    forgotten = int(dropped.rowcount or 0)
    for channel, keep in KEEP_IDS.items():
        forgotten += await _forget(uow, InboundMessage.channel == channel, now - keep)
    others = InboundMessage.channel.not_in(list(KEEP_IDS))
    return forgotten + await _forget(uow, others, now - KEEP_ANSWERED)


async def _forget(uow: UnitOfWork, which: Any, before: datetime) -> int:
    result: Any = await uow.session.execute(
        delete(InboundMessage)
        .where(which, InboundMessage.created_at < before)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def forget_old(uow: UnitOfWork) -> int:
    """The scheduler's housekeeping sweep: :func:`forget_as_of` the real time
    (:data:`WALL_CLOCK`), whatever moment the sweep runs as of."""
    return await forget_as_of(uow, WALL_CLOCK.now())
