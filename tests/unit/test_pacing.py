"""Background work gives way to patients (bot/pacing.py): while requests flow, a sweep chunk or
a delivery batch of ``worked`` seconds is followed by a pause that keeps background work to its
share of the event loop; with nobody talking to the clinic it only yields."""

from __future__ import annotations

import pytest

from bot.pacing import BUSY_WITHIN, LONGEST_PAUSE, Pacing, Steps, Traffic


class Now:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


def test_requests_flow_for_a_second_after_the_last_one() -> None:
    now = Now()
    traffic = Traffic(now)
    assert not traffic.flowing()  # none yet
    traffic.seen()
    now.at += BUSY_WITHIN
    assert traffic.flowing()
    now.at += 0.01
    assert not traffic.flowing()


def test_a_step_pauses_only_while_requests_flow_and_never_longer_than_the_cap() -> None:
    now = Now()
    traffic = Traffic(now)
    pacing = Pacing(traffic, share=1 / 3)
    assert pacing.pause_for(0.03) == 0.0  # nobody waiting: as fast as ever
    traffic.seen()
    assert pacing.pause_for(0.03) == pytest.approx(0.06)  # a third of the time at most
    assert pacing.pause_for(10.0) == LONGEST_PAUSE
    assert pacing.pause_for(-1.0) == 0.0
    assert Pacing(traffic, share=1.0).pause_for(0.03) == 0.0  # background may take it all


def test_background_work_goes_one_at_a_time_while_requests_flow() -> None:
    now = Now()
    traffic = Traffic(now)
    pacing = Pacing(traffic)
    assert pacing.width(4) == 4  # idle: as many at once as wanted
    assert pacing.width(0) == 1
    traffic.seen()
    assert pacing.width(4) == 1
    now.at += BUSY_WITHIN + 0.01
    assert pacing.width(4) == 4


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5])
def test_a_share_outside_0_to_1_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="background share"):
        Pacing(Traffic(), share=share)


class Recorded(Pacing):
    """A pacing that records each pause a sweep or the sender asks for (instead of sleeping)."""

    def __init__(self) -> None:
        super().__init__(Traffic())
        self.worked: list[float] = []

    async def pause(self, worked: float) -> None:
        self.worked.append(worked)


async def test_steps_time_each_step_from_the_end_of_the_last() -> None:
    pacing = Recorded()
    steps = pacing.steps()
    assert isinstance(steps, Steps)
    await steps.done()
    started = steps.since
    await steps.done()
    assert len(pacing.worked) == 2 and all(w >= 0 for w in pacing.worked)
    assert steps.since >= started
