"""Guessing the staff code (``/staff CODE``): wrong codes are throttled and locked out.

Each attempt is counted in the database (:class:`~bot.storage.models.StaffCodeGuard`), so every
instance sees the same counts: per chat, :data:`CHAT_FAILURES` wrong codes within
:data:`WINDOW` lock that chat out for :data:`LOCKOUT`; overall, :data:`ALL_FAILURES` wrong codes
within :data:`WINDOW` (from any chats) lock ``/staff`` out for everyone for :data:`LOCKOUT`.
While locked, no code is checked, not even the right one, and each lock-out alerts the desk
(outbox kind :data:`LOCKED_ALERT`). The right code clears its chat's count. The counting is
:mod:`bot.services.throttle`'s, shared with the console's logins. Registration
through the set-up file is never affected.

Two attempts at once (on any instances) take the rows' locks in the same order (overall, then
the chat), so the counts are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select

from bot.services import outbox, throttle
from bot.services.staff import all_staff
from bot.storage.models import StaffCodeGuard
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore

CHAT_FAILURES = 5
ALL_FAILURES = 20
WINDOW = timedelta(hours=1)
LOCKOUT = timedelta(hours=1)
ALL = "all"
LOCKED_ALERT = "staff_code_locked"
DESK_ROLES = ("reception", "manager")


@dataclass(frozen=True)
class Verdict:
    """``accepted``: the code was right and may be used; ``locked``: refused unchecked (or
    this wrong code locked the chat or everyone out)."""

    accepted: bool
    locked: bool = False


def chat_scope(chat_id: int) -> str:
    return f"chat:{chat_id}"


async def attempt(uow: UnitOfWork, chat_id: int, *, correct: bool) -> Verdict:
    """Count one ``/staff`` attempt from ``chat_id`` whose code was ``correct`` or not.

    The caller commits (also when refused: the count must stay).
    """
    now = uow.clock.now()
    overall = await _guard(uow, ALL)
    await _forget_stale(uow, now)
    chat = await _guard(uow, chat_scope(chat_id))
    if any(throttle.locked(g, now) for g in (overall, chat)):
        return Verdict(accepted=False, locked=True)
    if correct:
        throttle.clear(chat)
        return Verdict(accepted=True)
    locked = False
    for guard, limit in ((chat, CHAT_FAILURES), (overall, ALL_FAILURES)):
        if throttle.count_failure(guard, now, limit=limit, window=WINDOW, lockout=LOCKOUT):
            await _alert(uow, guard, chat_id, limit)
            locked = True
    return Verdict(accepted=False, locked=locked)


async def _guard(uow: UnitOfWork, scope: str) -> StaffCodeGuard:
    """The scope's row, created if new, locked until the end of the transaction."""
    await insert_ignore(uow, StaffCodeGuard, {"scope": scope, "failures": 0}, ["scope"])
    found = await uow.session.scalar(
        select(StaffCodeGuard).where(StaffCodeGuard.scope == scope)
        .with_for_update().execution_options(populate_existing=True))
    assert found is not None  # inserted above, and rows of live scopes are never deleted
    return found


async def _forget_stale(uow: UnitOfWork, now: datetime) -> None:
    """Drop chats' rows that count nothing any more (no lock, window over): the table stays
    as small as the number of chats that tried within the last hour."""
    await uow.session.execute(
        delete(StaffCodeGuard)
        .where(
            StaffCodeGuard.scope != ALL,
            or_(StaffCodeGuard.locked_until.is_(None), StaffCodeGuard.locked_until <= now),
            or_(StaffCodeGuard.window_started_at.is_(None),
                StaffCodeGuard.window_started_at <= now - WINDOW),
        )
        .execution_options(synchronize_session=False)
    )


async def _alert(uow: UnitOfWork, guard: StaffCodeGuard, chat_id: int, limit: int) -> None:
    """Tell the desk (reception and managers; everyone if there is no desk) once per lock-out."""
    assert guard.locked_until is not None
    members = list(await all_staff(uow))
    desk = [m for m in members if m.role in DESK_ROLES] or members
    whole = guard.scope == ALL
    params: dict[str, object] = {
        "scope": ALL if whole else "chat", "failures": limit,
        "until": guard.locked_until.isoformat(), **({} if whole else {"chat_id": chat_id}),
    }
    for member in desk:
        await outbox.enqueue(
            uow, kind=LOCKED_ALERT, staff_id=member.id, params=params,
            purpose=f"{LOCKED_ALERT}:{guard.scope}:{guard.locked_until.isoformat()}"
                    f":staff:{member.id}")
