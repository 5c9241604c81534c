"""The event-loop lag probe: a stall of the loop is measured, recorded and forgotten in time."""

from __future__ import annotations

import asyncio
import time

from bot.observability.lag import LagProbe, RecentMax


class Samples:
    """A :class:`~bot.observability.lag.LagObserver` that keeps what it is told."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.recent: list[float] = []

    def event_loop_lag(self, seconds: float, recent_max: float) -> None:
        self.lags.append(seconds)
        self.recent.append(recent_max)


def test_the_recent_maximum_covers_one_to_two_windows():
    recent = RecentMax(window=60)
    assert recent.add(0.5, now=1000) == 0.5
    assert recent.add(0.1, now=1030) == 0.5
    assert recent.add(0.2, now=1070) == 0.5  # a new window; the previous one still counts
    assert recent.add(0.1, now=1125) == 0.2  # two windows on: 0.5 is forgotten
    assert recent.add(0.0, now=1500) == 0.0  # nothing for minutes: all forgotten


async def test_a_blocked_loop_is_measured_as_late_as_it_was_blocked():
    seen = Samples()
    probe = LagProbe(seen, period=0.01)
    probe.start()
    await asyncio.sleep(0.1)
    assert seen.lags and max(seen.lags) < 0.2, "an idle loop wakes the probe on time"
    time.sleep(0.3)  # noqa: ASYNC251 - the stall under test
    await asyncio.sleep(0.05)
    await probe.stop()
    stall = max(seen.lags)
    assert 0.25 <= stall < 1.0
    assert seen.recent[-1] == stall
    count = len(seen.lags)
    await asyncio.sleep(0.05)
    assert len(seen.lags) == count, "stopped: no more samples"


async def test_a_failing_observer_does_not_end_the_probe():
    calls: list[float] = []

    class Broken:
        def event_loop_lag(self, seconds: float, recent_max: float) -> None:
            calls.append(seconds)
            raise RuntimeError("boom")

    probe = LagProbe(Broken(), period=0.005)
    probe.start()
    await asyncio.sleep(0.1)
    await probe.stop()
    assert len(calls) >= 3
