"""Background work gives way to patients: sweeps and the sender pause while requests flow.

``clinicbot serve`` answers webhooks and runs its sweeps and delivery passes on one event loop.
A full sweep pass over 200,000 memberships is seconds of Python work; done flat out beside
100 webhooks a second it takes the whole of that one core, and every webhook queues behind
it (seconds at p99). So background work is paced: after each step (a sweep chunk's commit, a
delivery batch) :meth:`Pacing.pause` sleeps long enough that background work takes at most
:data:`BACKGROUND_SHARE` of the time, but only while requests are flowing (one arrived within
:data:`BUSY_WITHIN` seconds, as :class:`Traffic` saw it); with nobody talking to the clinic it
only yields, so a pass is as fast as ever at night or in ``clinicbot jobs run``.

Pausing keeps background work's share of the loop down; :meth:`Pacing.width` keeps each of its
bursts short. Background work done several at a time (a delivery batch's recipients, a sweep's
lanes) puts several tasks in the event loop's queue at once, and a webhook's every step waits
behind all of them: while requests flow, such work goes one at a time.

Extension point: :class:`Pacing` is what the scheduler hands to sweeps and the sender; a
deployment that wants background work faster or gentler changes ``share``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

BACKGROUND_SHARE = 1 / 4  # of the event loop's time, while requests flow
BUSY_WITHIN = 1.0  # seconds since the last request that count as "requests flowing"
LONGEST_PAUSE = 0.5  # seconds: one pause never holds background work up longer


class Traffic:
    """When the last request arrived (the HTTP middleware marks each one)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self.last = -math.inf

    def seen(self) -> None:
        """A request arrived now."""
        self.last = self.now()

    def flowing(self, within: float = BUSY_WITHIN) -> bool:
        """Whether a request arrived in the last ``within`` seconds."""
        return self.now() - self.last <= within


class Pacing:
    """Extension point: how long background work pauses after a step (module docstring)."""

    def __init__(self, traffic: Traffic, share: float = BACKGROUND_SHARE,
                 longest: float = LONGEST_PAUSE) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"the background share must be above 0 and at most 1, not {share}")
        self.traffic = traffic
        self.share = share
        self.longest = longest

    def pause_for(self, worked: float) -> float:
        """Seconds to pause after a step of ``worked`` seconds (0 when nobody is waiting)."""
        if not self.traffic.flowing():
            return 0.0
        return min(max(worked, 0.0) * (1 - self.share) / self.share, self.longest)

    async def pause(self, worked: float) -> None:
        """Pause after a step of ``worked`` seconds; always lets others run."""
        await asyncio.sleep(self.pause_for(worked))

    def width(self, wanted: int) -> int:
        """How many pieces of background work may run at once: 1 while requests flow (each of a
        webhook's steps waits behind at most one of them), else ``wanted``."""
        return 1 if self.traffic.flowing() else max(1, wanted)

    def steps(self) -> Steps:
        """A timer for one piece of work's steps (each measured from the end of the last)."""
        return Steps(self)


class Steps:
    """Times the steps of one piece of background work and pauses after each."""

    def __init__(self, pacing: Pacing) -> None:
        self.pacing = pacing
        self.since = time.perf_counter()

    async def done(self) -> None:
        """A step ended now: pause as :meth:`Pacing.pause` says, then start timing the next."""
        await self.pacing.pause(time.perf_counter() - self.since)
        self.since = time.perf_counter()
