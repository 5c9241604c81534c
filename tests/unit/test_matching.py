"""Reading an answer as one of the options shown (bot.dialogs.matching)."""

from __future__ import annotations

from bot.dialogs.matching import match_option
from bot.dialogs.types import Option

OPTIONS = (Option("book", "Book an appointment"), Option("packages", "My packages"))


def test_a_number_chooses_by_position_in_any_script() -> None:
    assert match_option("2", OPTIONS) == OPTIONS[1]
    assert match_option("1).", OPTIONS) == OPTIONS[0]
    assert match_option("٢", OPTIONS) == OPTIONS[1]  # Arabic-Indic two


def test_digit_like_characters_that_are_not_numbers_choose_nothing() -> None:
    """'²' counts as a digit for str.isdigit() but int() refuses it: found by the fuzz test."""
    assert match_option("²", OPTIONS) is None
    assert match_option("3", OPTIONS) is None
