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


def test_yes_no_and_more_in_every_language_pick_by_role() -> None:
    confirm = (Option("yes", "Confirmar"), Option("other", "Elegir otra hora"))
    for word in ("sí", "Si", "SÍ", "yes", "oui", "OK", "vale", "d'accord", "Oui!"):
        assert match_option(word, confirm) == confirm[0], word
    keep = (Option("yes", "Oui, l'annuler"), Option("no", "Non, le garder"))
    for word in ("non", "No", "NON MERCI"):
        assert match_option(word, keep) == keep[1], word
    paged = (Option("f1", "Masaje 60 min"), Option("more", "Más"))
    for word in ("más", "MAS", "plus", "more", "suivant"):
        assert match_option(word, paged) == paged[1], word
    assert match_option("masaje", paged) == paged[0]


def test_a_role_word_without_its_option_falls_back_to_labels() -> None:
    assert match_option("si", OPTIONS) is None
    assert match_option("no", (Option("none", "No package"), Option("x", "Other"))) is not None
