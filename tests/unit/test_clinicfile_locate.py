"""The line locator: tomllib reports no lines for keys, so ours must find them in any TOML."""

from __future__ import annotations

import tomllib

from bot.clinicfile.locate import line_of, locate

TEXT = '''\
# a comment with [brackets] and key = "value"
[clinic]
name = "A # not a comment [x]"
note = """
multi-line
[[not_a_table]]
"""
literal = 'a # [b] = "c"'
quiet_hours = [
  "21:00",  # first
  "08:00",
]

[[practitioners]]
key = "ana"
hours = [
  { location = "downtown", days = ["mon",
    "tue"], start = "09:00", end = "17:00" },

  { location = "east", days = ["fri"], start = "10:00", end = "16:00" },
]

[[practitioners]]
key = "ben"
a.b = 1979-05-27 07:32:00
after = true
'''


def test_the_sample_is_valid_toml() -> None:
    assert tomllib.loads(TEXT)["practitioners"][1]["a"]["b"].year == 1979


def test_tables_keys_and_array_elements_get_their_lines() -> None:
    lines = locate(TEXT)
    assert lines[("clinic",)] == 2
    assert lines[("clinic", "name")] == 3
    assert lines[("clinic", "literal")] == 8
    assert lines[("clinic", "quiet_hours")] == 9
    assert lines[("clinic", "quiet_hours", 0)] == 10
    assert lines[("clinic", "quiet_hours", 1)] == 11
    assert ("not_a_table", 0) not in lines


def test_array_of_tables_entries_are_counted_in_file_order() -> None:
    lines = locate(TEXT)
    assert lines[("practitioners", 0)] == 14
    assert lines[("practitioners", 1)] == 23
    assert lines[("practitioners", 1, "key")] == 24


def test_inline_tables_inside_a_multi_line_array() -> None:
    lines = locate(TEXT)
    assert lines[("practitioners", 0, "hours", 0)] == 17
    assert lines[("practitioners", 0, "hours", 0, "days", 1)] == 18
    assert lines[("practitioners", 0, "hours", 0, "end")] == 18
    assert lines[("practitioners", 0, "hours", 1)] == 20
    assert lines[("practitioners", 0, "hours", 1, "start")] == 20


def test_dotted_keys_and_a_datetime_with_a_space() -> None:
    lines = locate(TEXT)
    assert lines[("practitioners", 1, "a", "b")] == 25
    assert lines[("practitioners", 1, "after")] == 26


def test_line_of_falls_back_to_the_nearest_enclosing_path() -> None:
    lines = locate(TEXT)
    assert line_of(lines, ("practitioners", 1, "name")) == 23  # missing key: its entry
    assert line_of(lines, ("practitioners", 0, "hours", 1, "end")) == 20
    assert line_of(lines, ("nowhere",)) is None
