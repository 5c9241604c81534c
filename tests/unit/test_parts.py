"""When a day's times are grouped by part of the day (bot.dialogs.parts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from bot.dialogs.parts import by_part, part_from_key, worth_grouping

CTX = SimpleNamespace(zone=ZoneInfo("America/Toronto"))
NINE = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)  # 9:00 in Toronto


def every_quarter(count: int, start: datetime = NINE) -> list[datetime]:
    return [start + timedelta(minutes=15 * i) for i in range(count)]


def test_many_times_in_two_parts_are_grouped():
    slots = every_quarter(31)  # 9:00 to 16:30
    assert worth_grouping(CTX, slots)  # type: ignore[arg-type]
    assert {k: len(v) for k, v in by_part(CTX, slots).items()} == {  # type: ignore[arg-type]
        "morning": 12, "afternoon": 19}


def test_few_times_or_one_part_are_not():
    assert not worth_grouping(CTX, every_quarter(8))  # type: ignore[arg-type]
    assert not worth_grouping(CTX, every_quarter(12))  # type: ignore[arg-type]  # all morning
    evening = every_quarter(6, NINE + timedelta(hours=8))  # 17:00 on
    assert list(by_part(CTX, [*every_quarter(4), *evening])) == [  # type: ignore[arg-type]
        "morning", "evening"]


def test_part_keys():
    assert part_from_key("pmorning") == "morning" and part_from_key("pnight") is None
    assert part_from_key(None) is None and part_from_key("t2026") is None
