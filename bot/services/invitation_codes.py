"""Invitation codes: made, recognised in a message, hashed, and guarded against guessing.

A code is :data:`LENGTH` characters from :data:`ALPHABET` (digits and consonants without the
ones that look alike: no 0/O, 1/I/L, no vowels, so no code spells a word), with at least one
digit and one letter. That makes it easy to type in an SMS, a valid Telegram ``/start``
payload (``[A-Za-z0-9_-]``, at most 64), and recognisable: a message that is exactly a code
(any case, spaces or hyphens anywhere) is an attempt at one; "Thursday", a date or a time
never is. Only :func:`digest` of a code is stored.

Guessing is counted in the database (:class:`~bot.storage.models.InvitationGuard`, the
counting of :mod:`bot.services.throttle`, as ``/staff CODE`` does): per chat,
:data:`CHAT_FAILURES` wrong codes within :data:`WINDOW` lock that chat out for :data:`LOCKOUT`;
overall, :data:`ALL_FAILURES` wrong codes within :data:`WINDOW` lock every chat out. While
locked no code is checked, not even the right one. With 27^8 codes (about 2.8e11) and at most
:data:`ALL_FAILURES` wrong guesses an hour whatever the number of phones, even with a thousand
invitations open the guesses of an hour hit one with odds below one in a million.

When the overall lock trips, the desk is told (outbox kind :data:`LOCKED_ALERT`, to reception
and managers as for ``/staff CODE``), once per lock period: the outbox purpose names the lock's
end, and two attempts at once take the overall row's lock first, so only one of them trips it.
The alert carries the count and the time only, never a code or a phone.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select

from bot.services import outbox, throttle
from bot.services.staff import all_staff
from bot.storage.models import InvitationGuard
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore

ALPHABET = "23456789BCDFGHJKMNPQRSTVWXZ"
LENGTH = 8
CHAT_FAILURES = 5
ALL_FAILURES = 200
WINDOW = timedelta(hours=1)
LOCKOUT = timedelta(hours=1)
ALL = "all"
LOCKED_ALERT = "invitation_codes_locked"
DESK_ROLES = ("reception", "manager")
_SEPARATORS = str.maketrans("", "", " -_.")


def new_code() -> str:
    """A fresh random code (``secrets``), with at least one digit and one letter."""
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if looks_like_code(code):
            return code


def read_code(text: str) -> str | None:
    """The code ``text`` is (normalised: upper case, no separators), or None when it is not
    shaped like one."""
    if len(text) > 3 * LENGTH:
        return None
    cleaned = text.strip().upper().translate(_SEPARATORS)
    return cleaned if looks_like_code(cleaned) else None


def looks_like_code(code: str) -> bool:
    """Whether ``code`` (normalised) has a code's shape."""
    return (len(code) == LENGTH and all(ch in ALPHABET for ch in code)
            and any(ch.isdigit() for ch in code) and any(ch.isalpha() for ch in code))


def digest(code: str) -> str:
    """What is stored of a code: its SHA-256, hex (codes are random, so no salt is needed to
    hide them; the throttle, not the hash, stops guessing)."""
    return hashlib.sha256(f"clinicbot-invitation:{code}".encode()).hexdigest()


def chat_scope(channel: str, address: str) -> str:
    return f"{channel}:{address}"[:80]


@dataclass(frozen=True)
class Gate:
    """Whether a code may be checked now (``open``), and the guard rows to count it on."""

    open: bool
    guards: tuple[InvitationGuard, ...] = ()


async def gate(uow: UnitOfWork, channel: str, address: str) -> Gate:
    """Lock the overall and the chat's guard rows (in that order); closed while either is
    locked out."""
    now = uow.clock.now()
    overall = await _guard(uow, ALL)
    await _forget_stale(uow, now)
    chat = await _guard(uow, chat_scope(channel, address))
    if any(throttle.locked(g, now) for g in (overall, chat)):
        return Gate(open=False)
    return Gate(open=True, guards=(overall, chat))


async def count(uow: UnitOfWork, gate: Gate, *, correct: bool) -> bool:
    """Count the attempt the gate let through; True when a wrong one locked a scope out (the
    desk is alerted when it locked every chat out)."""
    now = uow.clock.now()
    overall, chat = gate.guards
    if correct:
        throttle.clear(chat)
        return False
    locked = False
    for guard, limit in ((chat, CHAT_FAILURES), (overall, ALL_FAILURES)):
        if throttle.count_failure(guard, now, limit=limit, window=WINDOW, lockout=LOCKOUT):
            locked = True
            if guard is overall:
                await _alert(uow, overall)
    return locked


async def _alert(uow: UnitOfWork, overall: InvitationGuard) -> None:
    """Tell the desk (reception and managers; everyone if there is no desk) that invitation
    codes are locked, once per lock period."""
    assert overall.locked_until is not None
    members = list(await all_staff(uow))
    desk = [m for m in members if m.role in DESK_ROLES] or members
    until = overall.locked_until.isoformat()
    params: dict[str, object] = {"failures": ALL_FAILURES, "until": until}
    for member in desk:
        await outbox.enqueue(uow, kind=LOCKED_ALERT, staff_id=member.id, params=params,
                             purpose=f"{LOCKED_ALERT}:{ALL}:{until}:staff:{member.id}")


async def _guard(uow: UnitOfWork, scope: str) -> InvitationGuard:
    """The scope's row, created if new, locked until the end of the transaction."""
    await insert_ignore(uow, InvitationGuard, {"scope": scope, "failures": 0}, ["scope"])
    found = await uow.session.scalar(
        select(InvitationGuard).where(InvitationGuard.scope == scope)
        .with_for_update().execution_options(populate_existing=True))
    assert found is not None  # inserted above; rows of live scopes are never deleted
    return found


async def _forget_stale(uow: UnitOfWork, now: datetime) -> None:
    """Drop chats' rows that count nothing any more (no lock, window over)."""
    await uow.session.execute(
        delete(InvitationGuard)
        .where(
            InvitationGuard.scope != ALL,
            or_(InvitationGuard.locked_until.is_(None), InvitationGuard.locked_until <= now),
            or_(InvitationGuard.window_started_at.is_(None),
                InvitationGuard.window_started_at <= now - WINDOW),
        )
        .execution_options(synchronize_session=False)
    )
