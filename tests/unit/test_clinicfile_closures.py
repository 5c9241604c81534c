"""``[[closures]]`` and ``[[time_off]]`` in the set-up file, and how their bounds become UTC.

A date is a whole day (as ``to``: through its end), a "YYYY-MM-DD HH:MM" a moment in clinic
time; each mistake is one located line saying what to write.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clinicfile import ClinicFileError, parse_clinic_text
from bot.services import closures
from bot.services.errors import InvalidInput
from bot.storage.models import Closure
from tests.unit.test_clinicfile import EXAMPLE, line_with

TORONTO = ZoneInfo("America/Toronto")
SECTIONS = '''
[[closures]]
from = "2026-12-24"
to = 2026-12-26
locations = ["downtown", "east"]
reason = "Holidays"

[[closures]]
from = 2026-12-31T13:00:00

to = "2026-12-31 17:00"

[[time_off]]
practitioner = "ana"
from = "2026-11-20"
'''


def test_closures_and_time_off_are_read() -> None:
    spec = parse_clinic_text(EXAMPLE + SECTIONS, "clinic.toml")
    holidays, afternoon = spec.closures
    assert (holidays.start, holidays.end) == (date(2026, 12, 24), date(2026, 12, 26))
    assert holidays.locations == ["downtown", "east"] and holidays.reason == "Holidays"
    assert (afternoon.start, afternoon.end) == (
        datetime(2026, 12, 31, 13), datetime(2026, 12, 31, 17))
    assert afternoon.locations == [] and afternoon.reason is None
    [away] = spec.time_off
    assert (away.practitioner, away.start, away.end) == ("ana", date(2026, 11, 20), None)


@pytest.mark.parametrize(("entry", "anchor", "said"), [
    ('[[closures]]\nfrom = "2026-12-31 13:00"', "from =",
     '[[closures]] entry 1: key "from": 2026-12-31 13:00 is a time, so say when it ends: add '
     'to = "2026-12-31 17:00" (or a date: through that day)'),
    ('[[closures]]\nfrom = "2026-12-26"\nto = "2026-12-24"', "to =",
     '[[closures]] entry 1: key "to": 2026-12-24 is before from 2026-12-26 (or the same '
     "moment); give a later to (a date as to includes that whole day)"),
    ('[[closures]]\nfrom = "2026-12-24"\nlocations = ["west"]', "locations",
     '[[closures]] entry 1: key "locations", entry 1: there is no location "west"; use the key '
     'of one of [[locations]] ("downtown", "east")'),
    ('[[time_off]]\npractitioner = "zoe"\nfrom = "2026-12-24"', "practitioner =",
     '[[time_off]] entry 1: key "practitioner": there is no practitioner "zoe"; use the key of '
     'one of [[practitioners]] ("ana", "ben")'),
    ('[[time_off]]\npractitioner = "ana"\nfrom = "next friday"', "from =",
     '[[time_off]] entry 1: key "from": "next friday" is not a date or a time; write '
     '"YYYY-MM-DD" for a whole day or "YYYY-MM-DD HH:MM" for a time, clinic time (e.g. '
     '"2026-12-24" or "2026-12-24 13:00")'),
    ('[[time_off]]\npractitioner = "ana"\nfrom = 2026-12-24T10:00:00Z\nto = "2026-12-25"',
     "from =", '[[time_off]] entry 1: key "from": 2026-12-24T10:00:00+00:00 has a UTC offset;'),
    ('[[closures]]\nform = "2026-12-24"', "form =",
     '[[closures]] entry 1: unknown key "form"; did you mean "from"? the keys here are: from, '
     "to, reason, locations"),
    ('[[time_off]]\npractitioner = "ana"', "[[time_off]]",
     '[[time_off]] entry 1: key "from" is missing; add it, e.g. from = "2026-11-20 13:00"'),
])
def test_each_mistake_is_one_located_line(entry: str, anchor: str, said: str) -> None:
    text = EXAMPLE + "\n" + entry + "\n"
    line = line_with(text[len(EXAMPLE):], anchor) + EXAMPLE.count("\n")
    with pytest.raises(ClinicFileError) as caught:
        parse_clinic_text(text, "clinic.toml")
    lines = str(caught.value).splitlines()
    assert any(problem.startswith(f"clinic.toml:{line}: {said}") for problem in lines), lines


def _closure(start: datetime, end: datetime) -> Closure:
    return Closure(starts_at=start, ends_at=end)


def test_a_date_is_its_whole_day_in_clinic_time() -> None:
    one = closures.span(date(2026, 12, 25), None, TORONTO)
    assert one == (datetime(2026, 12, 25, 5, tzinfo=UTC), datetime(2026, 12, 26, 5, tzinfo=UTC))
    three = closures.span(date(2026, 12, 24), date(2026, 12, 26), TORONTO)
    assert three == (datetime(2026, 12, 24, 5, tzinfo=UTC), datetime(2026, 12, 27, 5, tzinfo=UTC))
    assert closures.whole_days(_closure(*three), TORONTO) == (date(2026, 12, 24),
                                                               date(2026, 12, 26))
    # The day the clocks fall back has 25 hours, and is still one whole day.
    fall = closures.span(date(2026, 11, 1), None, TORONTO)
    assert (fall[1] - fall[0]).total_seconds() == 25 * 3600
    assert closures.whole_days(_closure(*fall), TORONTO) == (date(2026, 11, 1), date(2026, 11, 1))
    afternoon = closures.span(datetime(2026, 12, 31, 18, tzinfo=UTC),
                              datetime(2026, 12, 31, 22, tzinfo=UTC), TORONTO)
    assert closures.whole_days(_closure(*afternoon), TORONTO) is None
    mixed = closures.span(datetime(2026, 12, 24, 17, tzinfo=UTC), date(2026, 12, 26), TORONTO)
    assert mixed[1] == three[1]


def test_a_span_ends_after_it_starts() -> None:
    with pytest.raises(InvalidInput, match="end after it starts"):
        closures.span(date(2026, 12, 26), date(2026, 12, 24), TORONTO)
    with pytest.raises(InvalidInput, match="when it ends"):
        closures.span(datetime(2026, 12, 26, 12, tzinfo=UTC), None, TORONTO)
