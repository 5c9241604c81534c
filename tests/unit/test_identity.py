"""Cleaning what identifies a person (RULES.md 18, 19): phones, names, birth dates, locales."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.errors import InvalidInput
from bot.services.identity import (
    check_birth_date,
    clean_locale,
    clean_name,
    clinic_region,
    name_key,
    normalise_phone,
)


@pytest.mark.parametrize(
    "text", ["+14165550101", "416-555-0101", "(416) 555 0101", " 1 416 555 0101 "]
)
def test_local_and_international_spellings_give_one_e164_number(text):
    assert normalise_phone(text, "CA") == "+14165550101"


def test_a_foreign_number_keeps_its_country():
    assert normalise_phone("+44 20 7946 0018", "CA") == "+442079460018"


@pytest.mark.parametrize(
    "text", ["", "abc", "12", "5550101", "+1 555 555 5555", "x" * 5000, "<script>", "😀"]
)
def test_what_is_not_a_phone_number_is_refused_with_an_example(text):
    with pytest.raises(InvalidInput, match=r"\+14165550101|valid phone"):
        normalise_phone(text, "CA")


def test_without_a_region_only_plus_numbers_are_accepted():
    assert normalise_phone("+14165550101", None) == "+14165550101"
    with pytest.raises(InvalidInput):
        normalise_phone("416 555 0101", None)


def test_an_extension_is_refused():
    with pytest.raises(InvalidInput, match="extension"):
        normalise_phone("+1 416 555 0101 ext 3", "CA")


def test_clinic_region_comes_from_its_phone_else_its_locale():
    assert clinic_region("+14165550100", "en_US") == "CA"
    assert clinic_region(None, "en_GB") == "GB"
    assert clinic_region(None, "es") is None


def test_names_are_trimmed_and_inner_spaces_collapsed():
    assert clean_name("  Anne   Marie ", "first name") == "Anne Marie"
    assert clean_name("O'Neil-Ramírez", "last name") == "O'Neil-Ramírez"
    # NFC: a decomposed accent is stored composed
    assert clean_name("Sofi\u0301a", "first name") == "Sofía"


@pytest.mark.parametrize(
    "text", ["", "   ", "123", "Ann3", "<b>Ann</b>", "😀", "a\x00b", "-", "x" * 101]
)
def test_what_is_not_a_name_is_refused(text):
    with pytest.raises(InvalidInput, match="first name"):
        clean_name(text, "first name")


def test_name_key_ignores_accents_case_and_punctuation():
    assert name_key("Sofía", "Ramírez") == name_key("SOFIA", "ramirez")
    assert name_key("Anne-Marie", "D'Arc") == name_key("anne marie", "d arc")
    assert name_key("Sofia", "Ramirez") != name_key("Sofia", "Ramos")


def test_birth_dates_in_the_future_or_absurdly_old_are_refused():
    today = date(2026, 11, 2)
    assert check_birth_date(date(2026, 11, 2), today) == date(2026, 11, 2)
    assert check_birth_date(date(1896, 11, 2), today) == date(1896, 11, 2)
    with pytest.raises(InvalidInput, match="future"):
        check_birth_date(date(2026, 11, 3), today)
    with pytest.raises(InvalidInput, match="130 years"):
        check_birth_date(date(1896, 11, 1), today)


def test_locales_are_normalised_or_refused():
    assert clean_locale("es") == "es"
    assert clean_locale("en-CA") == "en_CA"
    with pytest.raises(InvalidInput, match="not a language"):
        clean_locale("klingon")
