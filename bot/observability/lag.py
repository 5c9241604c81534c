"""The event-loop lag probe: how late the server's event loop wakes a task that sleeps.

Everything ``clinicbot serve`` does (webhooks, dialog turns, the scheduler's sweeps and
deliveries) shares one event loop, so anything that holds the loop without yielding -- a long
synchronous statement, a CPU-bound pass over many rows -- delays every request meanwhile. The
probe makes that visible: a task started by the app's lifespan sleeps :data:`PERIOD` seconds in
a loop and records how much later than planned it woke (:class:`LagObserver`; the server's
:class:`~bot.observability.metrics.Metrics`). An idle loop wakes it within a millisecond; a
stall of 2 s shows up as one sample of about 2 s.

:class:`RecentMax` keeps the longest lag of the last one to two :data:`WINDOW_SECONDS`
windows, for the ``clinicbot_event_loop_lag_max_seconds`` gauge (a histogram cannot tell the
longest stall, only its bucket).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final, Protocol

log = logging.getLogger(__name__)
PERIOD: Final = 0.025
WINDOW_SECONDS: Final = 60.0


class LagObserver(Protocol):
    """Extension point: told each lag sample (seconds late) and the recent longest lag."""

    def event_loop_lag(self, seconds: float, recent_max: float) -> None: ...


class RecentMax:
    """The largest value added in the current window and the one before it."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._started: float | None = None
        self._current = 0.0
        self._previous = 0.0

    def add(self, value: float, now: float) -> float:
        """Record ``value`` at ``now`` (monotonic seconds); the recent maximum."""
        if self._started is None:
            self._started = now
        elapsed = now - self._started
        if elapsed >= 2 * self.window:  # nothing recent at all: both windows are over
            self._started, self._current, self._previous = now, 0.0, 0.0
        elif elapsed >= self.window:
            self._started += self.window
            self._current, self._previous = 0.0, self._current
        self._current = max(self._current, value)
        return max(self._current, self._previous)


class LagProbe:
    """A task that measures the event loop's lag every ``period`` seconds until stopped."""

    def __init__(self, observer: LagObserver, period: float = PERIOD,
                 window: float = WINDOW_SECONDS,
                 now: Callable[[], float] | None = None) -> None:
        self.observer = observer
        self.period = period
        self.recent = RecentMax(window)
        self._now = now
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the probe on the running loop (returns at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-loop-lag-probe")

    async def stop(self) -> None:
        """Stop the probe and wait for it to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        now = self._now or asyncio.get_running_loop().time
        while True:  # until stop() cancels it
            planned = now() + self.period
            await asyncio.sleep(self.period)
            woke = now()
            late = max(0.0, woke - planned)
            try:
                self.observer.event_loop_lag(late, self.recent.add(late, woke))
            except Exception:  # a broken observer must not end the probe silently
                log.exception("the event-loop lag probe could not record a sample")
