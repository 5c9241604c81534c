"""Who may use the staff console (``/desk/``): passwords, sessions and login lock-outs.

* **Passwords** -- :func:`set_password` stores an argon2 hash (argon2-cffi's defaults) for a
  ``[[staff]]`` key; :func:`check_password` verifies one (a thread, so the event loop runs on).
* **Sessions** -- :func:`open_session` makes a random token for the browser's cookie and keeps
  only its SHA-256, with a per-session CSRF token. :func:`session_for` finds the staff member
  behind a token (a read), :func:`touch_session` refreshes its idle clock; a session ends
  after :data:`IDLE` without a request or :data:`ABSOLUTE` after login, whichever comes
  first, or at :func:`close_session`.
* **Lock-out** -- :func:`login_attempt` counts failures per username (``user:KEY``) and per
  client address (``client:ADDRESS``): :data:`USER_FAILURES` or :data:`CLIENT_FAILURES` within
  :data:`WINDOW` lock that scope out for :data:`LOCKOUT`; while locked no password is accepted,
  not even the right one. Each lock-out alerts the desk once (outbox kind :data:`LOCKED_ALERT`),
  as the ``/staff CODE`` throttle does (:mod:`bot.services.staff_code`).

All of it is in the database, so every ``clinicbot serve`` instance sees the same state.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select, update

from bot.services import audit, outbox, throttle
from bot.services.errors import InvalidInput
from bot.services.lookup import find_staff
from bot.services.staff import all_staff
from bot.storage.models import DeskLoginGuard, DeskSession, Staff, StaffPassword
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
USER_FAILURES = 5
CLIENT_FAILURES = 20
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
TOUCH_EVERY = timedelta(minutes=1)
LOCKED_ALERT = "desk_login_locked"
DESK_ROLES = ("reception", "manager")
MIN_PASSWORD = 10
MAX_PASSWORD = 200

_HASHER = PasswordHasher()
# Verified when the username is unknown, so a wrong username takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def check_new_password(password: str) -> None:
    """Refuse a password too short or too long to be set (InvalidInput says which)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"the password is too long: use at most {MAX_PASSWORD} characters")


async def set_password(uow: UnitOfWork, staff_key: str, password: str, *,
                       actor: audit.Actor | None = None) -> Staff:
    """Store ``password``'s hash for staff member ``staff_key`` and end their open sessions.

    NotFound for a key the set-up file does not list; the caller commits. Given an ``actor``
    (who set it), an audit entry ``staff.password`` (never the password or its hash).
    """
    check_new_password(password)
    member = await find_staff(uow, staff_key)
    seen = await audit.watch(uow, actor)
    hashed = await asyncio.to_thread(_HASHER.hash, password)
    row = await uow.session.get(StaffPassword, member.id, with_for_update=True)
    if row is None:
        uow.session.add(StaffPassword(staff_id=member.id, password_hash=hashed,
                                      set_at=uow.clock.now()))
    else:
        row.password_hash, row.set_at = hashed, uow.clock.now()
    await uow.session.execute(delete(DeskSession).where(DeskSession.staff_id == member.id))
    await seen.record("staff.password", summary=f"console password of staff {member.key} set")
    return member


async def check_password(uow: UnitOfWork, username: str, password: str) -> Staff | None:
    """The current staff member ``username`` names if ``password`` is theirs, else None."""
    member = await uow.session.scalar(
        select(Staff).where(Staff.key == username, Staff.active.is_(True)))
    row = None if member is None else await uow.session.get(StaffPassword, member.id)
    stored = _DUMMY_HASH if row is None else row.password_hash
    try:
        await asyncio.to_thread(_HASHER.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return member if row is not None else None


@dataclass(frozen=True)
class Verdict:
    """``accepted``: log in; ``locked``: refused unchecked, or this failure locked a scope."""

    accepted: bool
    locked: bool = False


async def login_attempt(uow: UnitOfWork, username: str, client: str, *, correct: bool
                        ) -> Verdict:
    """Count one login as ``username`` from ``client`` whose password was ``correct`` or not.

    The caller commits, also when refused (the count must stay).
    """
    now = uow.clock.now()
    await _forget_stale(uow, now)
    scopes = sorted({f"user:{username[:100]}": USER_FAILURES,
                     f"client:{client[:100]}": CLIENT_FAILURES}.items())
    guards = [(await _guard(uow, scope), limit) for scope, limit in scopes]
    if any(throttle.locked(g, now) for g, _ in guards):
        return Verdict(accepted=False, locked=True)
    if correct:
        for guard, _ in guards:
            if guard.scope.startswith("user:"):
                throttle.clear(guard)
        return Verdict(accepted=True)
    now_locked = False
    for guard, limit in guards:
        if throttle.count_failure(guard, now, limit=limit, window=WINDOW, lockout=LOCKOUT):
            await _alert(uow, guard, limit)
            now_locked = True
    return Verdict(accepted=False, locked=now_locked)


async def _guard(uow: UnitOfWork, scope: str) -> DeskLoginGuard:
    """The scope's row, created if new, locked until the end of the transaction (scopes are
    taken in sorted order, so two attempts at once never wait for each other in a circle)."""
    await insert_ignore(uow, DeskLoginGuard, {"scope": scope, "failures": 0}, ["scope"])
    found = await uow.session.scalar(
        select(DeskLoginGuard).where(DeskLoginGuard.scope == scope)
        .with_for_update().execution_options(populate_existing=True))
    assert found is not None  # inserted above
    return found


async def _forget_stale(uow: UnitOfWork, now: datetime) -> None:
    """Drop rows that count nothing any more (no lock, window over)."""
    await uow.session.execute(
        delete(DeskLoginGuard)
        .where(or_(DeskLoginGuard.locked_until.is_(None), DeskLoginGuard.locked_until <= now),
               or_(DeskLoginGuard.window_started_at.is_(None),
                   DeskLoginGuard.window_started_at <= now - WINDOW))
        .execution_options(synchronize_session=False))


async def _alert(uow: UnitOfWork, guard: DeskLoginGuard, limit: int) -> None:
    """Tell the desk (reception and managers; everyone if there is no desk) once per lock-out."""
    assert guard.locked_until is not None
    members = await all_staff(uow)
    desk = [m for m in members if m.role in DESK_ROLES] or members
    kind, _, who = guard.scope.partition(":")
    params: dict[str, object] = {"scope": kind, "who": who, "failures": limit,
                                 "until": guard.locked_until.isoformat()}
    for member in desk:
        await outbox.enqueue(
            uow, kind=LOCKED_ALERT, staff_id=member.id, params=params,
            purpose=f"{LOCKED_ALERT}:{guard.scope}:{guard.locked_until.isoformat()}"
                    f":staff:{member.id}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    """A new session: ``token`` goes in the cookie (only its hash is stored)."""

    token: str
    csrf_token: str


async def open_session(uow: UnitOfWork, staff_id: int) -> OpenedSession:
    """Start a session for staff member ``staff_id`` (and drop sessions that expired); the
    caller commits."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = uow.clock.now()
    await uow.session.execute(
        delete(DeskSession)
        .where(or_(DeskSession.last_seen_at <= now - IDLE,
                   DeskSession.created_at <= now - ABSOLUTE))
        .execution_options(synchronize_session=False))
    uow.session.add(DeskSession(token_hash=_digest(token), staff_id=staff_id, csrf_token=csrf,
                                created_at=now, last_seen_at=now))
    await uow.session.flush()
    return OpenedSession(token, csrf)


@dataclass(frozen=True)
class StaffMember:
    """Who is logged in (a copy of their row, usable after the unit of work ends)."""

    id: int
    key: str
    name: str
    role: str
    practitioner_id: int | None


@dataclass(frozen=True)
class LiveSession:
    """A logged-in staff member, their session's CSRF token, and whether its idle clock is
    due a refresh (:func:`touch_session`: at most one write a minute per session)."""

    staff: StaffMember
    csrf_token: str
    due_touch: bool


async def session_for(uow: UnitOfWork, token: str) -> LiveSession | None:
    """The live session ``token`` opens (reads only); None when unknown, expired, or its staff
    member left the set-up file. Expired rows are dropped at the next login."""
    found = await uow.session.scalar(
        select(DeskSession).where(DeskSession.token_hash == _digest(token)))
    if found is None:
        return None
    now = uow.clock.now()
    member = await uow.session.get(Staff, found.staff_id)
    if (member is None or not member.active or found.last_seen_at + IDLE <= now
            or found.created_at + ABSOLUTE <= now):
        return None
    who = StaffMember(member.id, member.key, member.name, member.role, member.practitioner_id)
    return LiveSession(who, found.csrf_token, now - found.last_seen_at > TOUCH_EVERY)


async def touch_session(uow: UnitOfWork, token: str) -> None:
    """Restart the idle clock of the session ``token`` opens; the caller commits."""
    await uow.session.execute(
        update(DeskSession).where(DeskSession.token_hash == _digest(token))
        .values(last_seen_at=uow.clock.now()).execution_options(synchronize_session=False))


async def close_session(uow: UnitOfWork, token: str) -> None:
    """End the session ``token`` opens (nothing if none); the caller commits."""
    await uow.session.execute(
        delete(DeskSession).where(DeskSession.token_hash == _digest(token)))


@dataclass(frozen=True)
class RosterRow:
    """A current staff member as the manager's staff page lists them (never a hash)."""

    key: str
    name: str
    role: str
    chat_linked: bool
    phone: str | None
    password_set_at: datetime | None


async def roster(uow: UnitOfWork) -> list[RosterRow]:
    """Every current staff member in set-up order, with whether a chat and a console password
    are set (``clinicbot staff password``, ``revoke-chat``)."""
    rows = await uow.session.execute(
        select(Staff, StaffPassword.set_at)
        .outerjoin(StaffPassword, StaffPassword.staff_id == Staff.id)
        .where(Staff.active.is_(True)).order_by(Staff.id))
    return [RosterRow(member.key, member.name, member.role, member.telegram_chat_id is not None,
                      member.phone, set_at) for member, set_at in rows.all()]
