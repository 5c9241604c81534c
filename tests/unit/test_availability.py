"""Offered start times, computed without a database (RULES.md 20, 21)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bot.services.availability import (
    WeeklyHours,
    first_moment_at,
    grid_starts,
    is_free,
    merge,
    offered_starts,
    steady_offset,
    wall_moments,
)

TORONTO = ZoneInfo("America/Toronto")  # the example clinic's timezone
MONDAY = date(2026, 11, 2)
SPRING_FORWARD = date(2027, 3, 14)  # a Sunday: 02:00 EST -> 03:00 EDT
FALL_BACK = date(2026, 11, 1)  # a Sunday: 02:00 EDT -> 01:00 EST
# A Sunday block that straddles both changes of clock.
NIGHT = [WeeklyHours(6, time(0, 0), time(4, 0))]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(moment: datetime) -> tuple[int, int]:
    wall = moment.astimezone(TORONTO)
    return wall.hour, wall.minute


def offer(
    hours: list[WeeklyHours],
    busy: list[tuple[datetime, datetime]] | None = None,
    *,
    minutes: int = 30,
    slot: int = 15,
    notice: int = 0,
    horizon: int | None = None,
    now: datetime = utc(2026, 10, 1),
    first: date = MONDAY,
    days: int = 1,
) -> list[datetime]:
    return offered_starts(
        hours, busy or [], minutes=minutes, slot_minutes=slot, min_notice_minutes=notice,
        booking_horizon_days=horizon, now=now, tz=TORONTO, first_day=first, days=days,
    )


def test_starts_lie_on_the_grid_from_the_block_start_and_the_fee_fits():
    hours = [WeeklyHours(0, time(9, 10), time(10, 40))]
    starts = offer(hours, minutes=30, slot=15)
    assert [local(s) for s in starts] == [
        (9, 10), (9, 25), (9, 40), (9, 55), (10, 10),
    ]  # 10:25 would end at 10:55, after the block
    assert all(s.tzinfo is UTC for s in starts)
    assert starts[0] == utc(2026, 11, 2, 14, 10)  # EST = UTC-5


def test_only_the_practitioners_weekdays_are_offered():
    hours = [WeeklyHours(1, time(9), time(10))]  # Tuesdays
    starts = offer(hours, minutes=60, days=7)
    assert [s.astimezone(TORONTO).date() for s in starts] == [date(2026, 11, 3)]


def test_several_blocks_a_day_are_all_offered_once_each():
    hours = [
        WeeklyHours(0, time(9), time(10)),
        WeeklyHours(0, time(9, 30), time(11)),  # overlapping block: no duplicates
    ]
    starts = offer(hours, minutes=60, slot=30)
    assert [local(s) for s in starts] == [(9, 0), (9, 30), (10, 0)]


def test_busy_intervals_remove_every_overlapping_start_but_touching_is_fine():
    hours = [WeeklyHours(0, time(9), time(12))]
    busy = [(utc(2026, 11, 2, 15, 0), utc(2026, 11, 2, 15, 45))]  # 10:00-10:45 local
    starts = offer(hours, busy, minutes=30, slot=15)
    assert [local(s) for s in starts] == [
        (9, 0), (9, 15), (9, 30),  # 9:30-10:00 touches the busy start
        (10, 45), (11, 0), (11, 15), (11, 30),
    ]


def test_busy_intervals_that_overlap_each_other_are_merged():
    merged = merge([
        (utc(2026, 1, 1, 10), utc(2026, 1, 1, 12)),
        (utc(2026, 1, 1, 9), utc(2026, 1, 1, 10, 30)),
        (utc(2026, 1, 1, 10, 45), utc(2026, 1, 1, 11)),
        (utc(2026, 1, 1, 13), utc(2026, 1, 1, 14)),
    ])
    assert merged == [(utc(2026, 1, 1, 9), utc(2026, 1, 1, 12)),
                      (utc(2026, 1, 1, 13), utc(2026, 1, 1, 14))]
    assert not is_free(utc(2026, 1, 1, 11, 50), utc(2026, 1, 1, 12, 10), merged)
    assert is_free(utc(2026, 1, 1, 12), utc(2026, 1, 1, 13), merged)
    assert not is_free(utc(2026, 1, 1, 8), utc(2026, 1, 1, 15), merged)


def test_min_notice_hides_starts_too_close_to_now():
    hours = [WeeklyHours(0, time(9), time(12))]
    now = utc(2026, 11, 2, 13, 5)  # 08:05 local
    starts = offer(hours, minutes=30, notice=120, now=now)
    assert local(starts[0]) == (10, 15)  # 10:05 is the earliest; the grid says 10:15
    assert offer(hours, minutes=30, notice=0, now=now)[0] == utc(2026, 11, 2, 14, 0)


def test_the_past_is_never_offered_even_without_notice():
    hours = [WeeklyHours(0, time(9), time(12))]
    starts = offer(hours, minutes=60, slot=60, now=utc(2026, 11, 2, 15, 30))
    assert [local(s) for s in starts] == [(11, 0)]


def test_horizon_counts_local_days_from_today():
    hours = [WeeklyHours(day, time(9), time(10)) for day in range(7)]
    now = utc(2026, 11, 3, 4, 30)  # still Monday 23:30 in Toronto
    starts = offer(hours, minutes=60, horizon=3, now=now, first=MONDAY, days=10)
    days = [s.astimezone(TORONTO).date() for s in starts]
    assert days == [date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5)]
    assert len(offer(hours, minutes=60, horizon=None, now=now, first=MONDAY, days=10)) == 9


def test_spring_forward_offers_only_wall_times_that_exist():
    starts = offer(NIGHT, minutes=15, slot=15, first=SPRING_FORWARD, now=utc(2027, 3, 1))
    walls = [local(s) for s in starts]
    expected = [(h, m) for h in (0, 1, 3) for m in (0, 15, 30, 45)]
    assert walls == expected  # 02:00-02:45 never exist that night: 12 slots, not 16
    assert all(wall_moments(s.astimezone(TORONTO).replace(tzinfo=None), TORONTO) == [s]
               for s in starts)
    # Real time: the block is 3 hours long (05:00 to 08:00 UTC).
    assert starts[0] == utc(2027, 3, 14, 5, 0) and starts[-1] == utc(2027, 3, 14, 7, 45)


def test_spring_forward_a_long_fee_fits_in_real_minutes():
    starts = offer(NIGHT, minutes=60, slot=15, first=SPRING_FORWARD, now=utc(2027, 3, 1))
    assert [local(s) for s in starts] == [
        (0, 0), (0, 15), (0, 30), (0, 45), (1, 0), (1, 15), (1, 30), (1, 45), (3, 0),
    ]
    assert starts[7] + timedelta(minutes=60) == utc(2027, 3, 14, 7, 45)  # 01:45 EST -> 03:45 EDT


def test_fall_back_offers_the_repeated_hour_once_for_each_real_moment():
    starts = offer(NIGHT, minutes=15, slot=15, first=FALL_BACK, now=utc(2026, 10, 1))
    assert len(starts) == 20  # 4 real hours: 00:00-02:00 EDT, then 01:00-04:00 EST
    assert len(set(starts)) == 20 and starts == sorted(starts)
    assert all(b - a == timedelta(minutes=15) for a, b in pairwise(starts))
    walls = [local(s) for s in starts]
    for wall in [(1, 0), (1, 15), (1, 30), (1, 45)]:
        assert walls.count(wall) == 2  # these wall times truly exist twice
        first, second = (s for s in starts if local(s) == wall)
        assert second - first == timedelta(hours=1)
        assert first.astimezone(TORONTO).utcoffset() == timedelta(hours=-4)
        assert second.astimezone(TORONTO).utcoffset() == timedelta(hours=-5)
    assert all(walls.count(w) == 1 for w in walls if w[0] != 1)


def test_a_normal_day_next_to_the_changes_is_unaffected():
    for sunday in (date(2027, 3, 7), date(2026, 11, 8)):
        assert len(offer(NIGHT, minutes=15, slot=15, first=sunday, now=utc(2026, 10, 1))) == 16


def test_wall_moments_tell_gap_repeat_and_normal_apart():
    assert wall_moments(datetime(2027, 3, 14, 2, 30), TORONTO) == []
    assert wall_moments(datetime(2026, 11, 1, 1, 30), TORONTO) == [
        utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30),
    ]
    assert wall_moments(datetime(2026, 11, 2, 9, 0), TORONTO) == [utc(2026, 11, 2, 14, 0)]


def test_a_block_bound_inside_the_gap_is_the_moment_the_clock_jumps():
    assert first_moment_at(datetime(2027, 3, 14, 2, 30), TORONTO) == utc(2027, 3, 14, 7, 0)
    hours = [WeeklyHours(6, time(2, 30), time(4, 0))]
    starts = offer(hours, minutes=30, slot=30, first=SPRING_FORWARD, now=utc(2027, 3, 1))
    # The grid walls 02:30 and 03:00... 02:30 does not exist; 03:00 EDT onwards does.
    assert [local(s) for s in starts] == [(3, 0), (3, 30)]
    hours = [WeeklyHours(6, time(1, 0), time(2, 30))]
    starts = offer(hours, minutes=60, slot=30, first=SPRING_FORWARD, now=utc(2027, 3, 1))
    assert [local(s) for s in starts] == [(1, 0)]  # the block ends at 03:00 EDT (07:00 UTC)


def test_bad_lengths_are_refused():
    with pytest.raises(ValueError, match="positive"):
        grid_starts(MONDAY, NIGHT, minutes=0, slot_minutes=15, tz=TORONTO)
    with pytest.raises(ValueError, match="positive"):
        grid_starts(MONDAY, NIGHT, minutes=15, slot_minutes=0, tz=TORONTO)


def test_two_weeks_for_one_practitioner_offer_every_start_not_busy():
    """What is offered; how fast is for the availability benchmark to say (benchmarks/)."""
    hours = [WeeklyHours(day, time(9), time(17)) for day in range(5)]
    busy = [
        (utc(2026, 11, 2 + d, 15, 0), utc(2026, 11, 2 + d, 15, 45)) for d in range(14)
    ]
    starts = offer(hours, busy, minutes=30, slot=15, days=14, horizon=28, notice=120,
                   now=utc(2026, 11, 1))
    assert len(starts) == 10 * (31 - 4)  # 10 weekdays, 31 starts each, 4 hit by the busy 45 min
    assert not any(start < end and start + timedelta(minutes=30) > begin
                   for start in starts for begin, end in busy)


def test_a_steady_day_is_every_day_but_the_two_changes_of_clock():
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    changing = [day for day in days if steady_offset(day, TORONTO) is None]
    assert changing == [date(2026, 3, 8), date(2026, 11, 1)]
    assert steady_offset(MONDAY, TORONTO) == timedelta(hours=-5)
    assert steady_offset(date(2026, 7, 1), ZoneInfo("Australia/Lord_Howe")) == timedelta(hours=10.5)


@pytest.mark.parametrize("zone", ["America/Toronto", "Australia/Lord_Howe", "Europe/Dublin",
                                  "America/Santiago", "UTC"])
def test_grid_starts_match_a_wall_by_wall_reading_on_every_day_of_a_year(zone):
    """The steady-day shortcut gives exactly what reading each wall time through the zone does."""
    tz = ZoneInfo(zone)
    hours = [WeeklyHours(day, time(0, 0), time(23, 30)) for day in range(7)]
    for n in range(365):
        day = date(2026, 1, 1) + timedelta(days=n)
        expected: set[datetime] = set()
        begin = first_moment_at(datetime.combine(day, time(0)), tz)
        end = first_moment_at(datetime.combine(day, time(23, 30)), tz)
        wall = datetime.combine(day, time(0))
        while wall < datetime.combine(day, time(23, 30)):
            expected.update(m for m in wall_moments(wall, tz)
                            if m >= begin and m + timedelta(minutes=45) <= end)
            wall += timedelta(minutes=15)
        found = grid_starts(day, hours, minutes=45, slot_minutes=15, tz=tz)
        assert found == sorted(expected), day


def test_kept_grids_are_each_callers_own_and_told_apart_by_every_argument():
    """grid_starts keeps its answers (a pure function asked the same by every patient): a
    caller may change the list it got, and other hours, zones or lengths get their own."""
    hours = [WeeklyHours(0, time(9), time(12)), WeeklyHours(1, time(13), time(17))]
    first = grid_starts(MONDAY, hours, minutes=30, slot_minutes=15, tz=TORONTO)
    first.clear()
    again = grid_starts(MONDAY, hours, minutes=30, slot_minutes=15, tz=TORONTO)
    assert len(again) == 11 and local(again[0]) == (9, 0) and local(again[-1]) == (11, 30)
    only_monday = grid_starts(MONDAY, hours[:1], minutes=30, slot_minutes=15, tz=TORONTO)
    assert only_monday == again  # another weekday's block changes nothing on a Monday
    later = grid_starts(MONDAY, [WeeklyHours(0, time(10), time(12))], minutes=30,
                        slot_minutes=15, tz=TORONTO)
    assert local(later[0]) == (10, 0)
    assert len(grid_starts(MONDAY, hours, minutes=60, slot_minutes=15, tz=TORONTO)) == 9
    assert len(grid_starts(MONDAY, hours, minutes=30, slot_minutes=30, tz=TORONTO)) == 6
    dublin = grid_starts(MONDAY, hours, minutes=30, slot_minutes=15, tz=ZoneInfo("Europe/Dublin"))
    assert dublin[0] == utc(2026, 11, 2, 9, 0) and again[0] == utc(2026, 11, 2, 14, 0)
