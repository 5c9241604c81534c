"""Acting on an inbound message once, however often the channel delivers it.

A channel handler calls :func:`claim` before acting. The first delivery gets the claim, under a
token of its own; a repeat gets the answer recorded for the message (or nothing yet, while the
first delivery is still being handled). The answer is recorded with :func:`settle` *in the
transaction of the action*: the update only succeeds while the token is still the claim's, else
:class:`ClaimLost` rolls the action back.

The SMS handler claims *in the transaction of the action* too (:mod:`bot.handlers.sms`): claim,
dialog turn and answer commit together or not at all, so a claim is never committed without its
answer, and a delivery whose instance died leaves nothing behind (its transaction ends with its
connection) for the retry to take over. While that transaction is open the claim is its
uncommitted row: on SQLite the whole database's write lock; on PostgreSQL the row and a
transaction-scoped advisory lock on the message, which a repeat only *tries* (it never queues
behind a holder: it hears "in hand" at once, and asks again or answers 503), and which the server
gives up if the holder's transaction sits idle for longer than the claim's lease
(``idle_in_transaction_session_timeout``, set for that transaction only): an instance that hangs
or vanishes without closing its connection loses the message within the lease.

A claim committed on its own, before acting (Telegram's, for :data:`CLAIM_TIMEOUT`, recorded
with :func:`remember_reply`; or one left by an older version) holds the message until its
``lease_until``; a later delivery takes it over after that, under a new token, so a message is
never lost to a dead process.

Housekeeping (:func:`forget_old`) goes by the real wall clock, never by the sweep's ``now``
(``clinicbot jobs run --now`` may be far ahead): answers are dropped after :data:`KEEP_REPLY`
(an SMS answer can hold health data, and retries come within hours), while the ids themselves
are kept :data:`KEEP_IDS` per channel -- Twilio's ``MessageSid`` is unique forever, so a signed
request replayed months later is still recognised and not acted on again. Telegram starts
``update_id`` afresh at random after a week without updates, so its ids are kept a week only.
Rows are forgotten by age alone.

Every message runs :func:`claim` and :func:`settle`: statements compiled once per process and
run on the driver's connection (:mod:`bot.storage.hot`), no ORM objects.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    delete,
    null,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from bot.clock import Clock, SystemClock
from bot.services import sweeping
from bot.storage.hot import Hot
from bot.storage.models import Clinic, InboundMessage
from bot.storage.types import UTCDateTime
from bot.storage.uow import UnitOfWork

CLAIM_TIMEOUT = timedelta(minutes=2)
KEEP_REPLY = timedelta(days=2)  # Twilio and our proxy retry within hours; Telegram within a day
KEEP_ANSWERED = timedelta(days=7)  # ids of channels that reuse them (Telegram)
KEEP_IDS = {"sms": timedelta(days=400)}  # Twilio's MessageSid is never reused ([retention])
WALL_CLOCK: Clock = SystemClock()
# pg_try_advisory_xact_lock(int4, int4): this first key is the inbound messages' own space.
ADVISORY_CLASS = 0x1B0D

TABLE = cast(Table, InboundMessage.__table__)
C = TABLE.c
_COLUMNS = ("channel", "external_id", "created_at", "owner", "lease_until")
_TYPES: dict[str, TypeEngine[Any]] = {
    "channel": String(), "external_id": String(), "created_at": UTCDateTime(), "owner": String(),
    "lease_until": UTCDateTime()}
# Written as text: SQLAlchemy never caches a dialect's ``insert()`` (its ON CONFLICT clause has
# no cache key), so the construct was compiled again for every message; a text statement is
# compiled once per process. The typed parameters get the casts the driver needs.
_INTO = f"INSERT INTO inbound_message ({', '.join(_COLUMNS)})"
_NEW = ", ".join(f":{name}" for name in _COLUMNS)
_CLAIM_SQLITE = Hot(text(
    f"{_INTO} VALUES ({_NEW}) "
    "ON CONFLICT (channel, external_id) DO NOTHING RETURNING id"
).bindparams(*(bindparam(name, type_=_TYPES[name]) for name in _COLUMNS)))
# Inserted only under the message's advisory lock, tried (never waited for): a repeat of a
# message in hand elsewhere gets no row at once, instead of queueing behind its transaction.
_CLAIM_POSTGRESQL = Hot(text(
    f"{_INTO} SELECT {_NEW} WHERE pg_try_advisory_xact_lock({ADVISORY_CLASS}, :lock) "
    "AND set_config('idle_in_transaction_session_timeout', :idle, true) IS NOT NULL "
    "ON CONFLICT (channel, external_id) DO NOTHING RETURNING id"
).bindparams(*(bindparam(name, type_=_TYPES[name]) for name in _COLUMNS),
             bindparam("lock", type_=Integer), bindparam("idle", type_=String)))
_WHICH = (C.channel == bindparam("of_channel")) & (C.external_id == bindparam("of_id"))
_FIND = select(C.id, C.owner, C.lease_until, C.answered_at, C.reply).where(_WHICH)
_TAKE_OVER = (
    update(TABLE)
    .where(C.id == bindparam("row"), C.answered_at.is_(None),
           C.owner.is_not_distinct_from(bindparam("previous", type_=String)))
    .values(owner=bindparam("owner"), lease_until=bindparam("lease_until"))
)
_SETTLE = Hot(
    update(TABLE)
    .where(_WHICH, C.owner == bindparam("token", type_=String))
    .values(reply=bindparam("reply"), answered_at=bindparam("now"), lease_until=null())
)


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
    """Claim the message ``external_id`` of ``channel`` for handling (see the module docstring):
    the first statement of the transaction that acts on it, or one of its own, committed."""
    now = uow.clock.now()
    token = uuid.uuid4().hex
    values: dict[str, Any] = {"channel": channel, "external_id": external_id,
                              "created_at": now, "owner": token, "lease_until": now + lease}
    if uow.dialect == "postgresql":
        values["lock"] = advisory_key(channel, external_id)
        values["idle"] = str(max(1, int(lease.total_seconds() * 1000)))
        statement = _CLAIM_POSTGRESQL
    else:
        statement = _CLAIM_SQLITE
    if await statement.rows(uow, values):
        return Claim(owned=True, token=token)
    connection = await uow.connection()
    seen = await _find(connection, channel, external_id)
    if seen is None:  # PostgreSQL: in hand in another transaction (its advisory lock is held)
        return Claim(owned=False)
    if seen.answered_at is not None:
        return Claim(owned=False, reply=seen.reply, answered=True)
    if seen.lease_until is None or seen.lease_until <= now:  # committed, and its owner died
        taken: Any = await connection.execute(
            _TAKE_OVER, {"row": seen.id, "previous": seen.owner, "owner": token,
                         "lease_until": now + lease})
        if taken.rowcount == 1:
            return Claim(owned=True, token=token)
    return Claim(owned=False)


def advisory_key(channel: str, external_id: str) -> int:
    """The message's advisory lock key: a signed 32-bit hash (a collision only makes one of
    two messages handled at the same moment wait for the other)."""
    unsigned = zlib.crc32(f"{channel}:{external_id}".encode())
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


async def settle(
    uow: UnitOfWork, channel: str, external_id: str, token: str, reply: str
) -> None:
    """Record ``reply`` as the answer to a message claimed under ``token``, in the transaction
    of the action; :class:`ClaimLost` if another delivery took the claim over (roll back)."""
    settled = await _SETTLE.count(uow, {"of_channel": channel, "of_id": external_id,
                                        "token": token, "reply": reply, "now": uow.clock.now()})
    if settled != 1:
        raise ClaimLost(f"the claim of a {channel} message was taken over")


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
    seen = await _find(await uow.connection(), channel, external_id)
    return None if seen is None else seen.reply


async def answered(uow: UnitOfWork, channel: str, external_id: str) -> bool:
    """Whether this message was acted on and answered (its answer may be forgotten since)."""
    seen = await _find(await uow.connection(), channel, external_id)
    return seen is not None and seen.answered_at is not None


async def _find(connection: AsyncConnection, channel: str, external_id: str) -> Any:
    """The message's committed row (id, owner, lease_until, answered_at, reply), or None."""
    return (await connection.execute(
        _FIND, {"of_channel": channel, "of_id": external_id})).first()


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


async def forget_as_of(
    uow: UnitOfWork, now: datetime, keep_ids: dict[str, timedelta] | None = None
) -> int:
    """Forget what is too old at the real moment ``now``: answers given more than
    :data:`KEEP_REPLY` before, and ids first seen more than their channel's keep before
    (``keep_ids``, by default :data:`KEEP_IDS`; else :data:`KEEP_ANSWERED`), answered or not;
    how many of both. A chunk at a time (:func:`bot.services.sweeping.prune`)."""
    keep_ids = KEEP_IDS if keep_ids is None else keep_ids
    forgotten = await sweeping.prune(
        uow, InboundMessage,
        InboundMessage.reply.is_not(None) & (InboundMessage.answered_at < now - KEEP_REPLY),
        {"reply": None})
    for channel, keep in keep_ids.items():
        forgotten += await sweeping.prune(
            uow, InboundMessage,
            (InboundMessage.channel == channel) & (InboundMessage.created_at < now - keep))
    others = InboundMessage.channel.not_in(list(keep_ids))
    return forgotten + await sweeping.prune(
        uow, InboundMessage, others & (InboundMessage.created_at < now - KEEP_ANSWERED))


async def kept_ids(uow: UnitOfWork) -> dict[str, timedelta]:
    """How long each channel's ids are kept: SMS as the set-up file's ``[retention]``
    ``inbound_ids_days`` says (:data:`KEEP_IDS` before a clinic is loaded)."""
    days = await uow.session.scalar(select(Clinic.inbound_ids_days).where(Clinic.id == 1))
    return KEEP_IDS if days is None else {"sms": timedelta(days=days)}


async def forget_old(uow: UnitOfWork) -> int:
    """The scheduler's housekeeping sweep: :func:`forget_as_of` the real time
    (:data:`WALL_CLOCK`), whatever moment the sweep runs as of."""
    return await forget_as_of(uow, WALL_CLOCK.now(), await kept_ids(uow))
