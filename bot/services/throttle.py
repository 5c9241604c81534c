"""Counting failed attempts and locking out, the same way for every guard.

A guard row (:class:`Guard`: the ``/staff CODE`` guesses of :mod:`bot.services.staff_code`, the
console logins of :mod:`bot.services.desk_auth`) counts failures since ``window_started_at``; the
failure that reaches the limit within the window locks it until ``locked_until`` and starts the
count again. The callers hold the rows' locks and decide whom to alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class Guard(Protocol):
    """A row that counts failures and may be locked."""

    failures: int
    window_started_at: datetime | None
    locked_until: datetime | None


def locked(guard: Guard, now: datetime) -> bool:
    """Whether ``guard`` is locked out at ``now``."""
    return guard.locked_until is not None and guard.locked_until > now


def count_failure(guard: Guard, now: datetime, *, limit: int, window: timedelta,
                  lockout: timedelta) -> bool:
    """Count one failure at ``now``; True when it reached ``limit`` within ``window`` and so
    locked ``guard`` for ``lockout``."""
    if guard.window_started_at is None or guard.window_started_at <= now - window:
        guard.failures, guard.window_started_at = 0, now
    guard.failures += 1
    if guard.failures < limit:
        return False
    guard.failures, guard.window_started_at = 0, None
    guard.locked_until = now + lockout
    return True


def clear(guard: Guard) -> None:
    """Forget ``guard``'s failures (a success)."""
    guard.failures, guard.window_started_at, guard.locked_until = 0, None, None
