"""The set-up file's ``insurance_friendly`` key of a package template (issue 18, item 2)."""

from __future__ import annotations

import pytest

from bot.clinicfile import ClinicFileError, parse_clinic_text
from tests.conftest import EXAMPLE_FILE

EXAMPLE = EXAMPLE_FILE.read_text(encoding="utf-8")
INSURER = 'online_purchase = false        # sold at the desk only'


def with_flag(value: str) -> str:
    assert EXAMPLE.count(INSURER) == 1
    return EXAMPLE.replace(INSURER, f"{INSURER}\ninsurance_friendly = {value}", 1)


def test_templates_are_not_insurance_friendly_unless_the_file_says_so() -> None:
    spec = parse_clinic_text(EXAMPLE, "clinic.toml")
    assert [t.insurance_friendly for t in spec.package_templates] == [False, False, False]
    marked = parse_clinic_text(with_flag("true"), "clinic.toml")
    assert [t.insurance_friendly for t in marked.package_templates] == [False, False, True]


@pytest.mark.parametrize("value", ['"yes"', "1", "[true]"])
def test_a_bad_flag_names_the_line_the_template_and_the_key(value: str) -> None:
    text = with_flag(value)
    line = text[: text.index("insurance_friendly =")].count("\n") + 1
    with pytest.raises(ClinicFileError) as caught:
        parse_clinic_text(text, "clinic.toml")
    message = str(caught.value).splitlines()[0]
    assert message.startswith(f'clinic.toml:{line}: [[package_templates]] "insurer-physio-6": ')
    assert 'key "insurance_friendly"' in message and "true or false" in message
