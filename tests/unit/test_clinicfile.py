"""The set-up file reader: the example parses, and every kind of mistake is reported once,
at the right line, naming the section and key, what is wrong and what to write."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from bot.clinicfile import ClinicFileError, parse_clinic_text, read_clinic_file
from tests.conftest import EXAMPLE_FILE

EXAMPLE = EXAMPLE_FILE.read_text(encoding="utf-8")


def line_with(text: str, anchor: str) -> int:
    """1-based number of the line where ``anchor`` starts (found by plain search)."""
    assert text.count(anchor) >= 1, anchor
    return text[: text.index(anchor)].count("\n") + 1


def bad(old: str, new: str) -> str:
    assert old in EXAMPLE, old
    return EXAMPLE.replace(old, new, 1)


def first_problem(text: str) -> str:
    with pytest.raises(ClinicFileError) as caught:
        parse_clinic_text(text, "clinic.toml")
    return str(caught.value).splitlines()[0]


def test_the_example_file_parses_with_its_documented_defaults() -> None:
    spec = read_clinic_file(EXAMPLE_FILE)
    assert spec.clinic.timezone == "America/Toronto"
    assert spec.clinic.quiet_hours == [time(21, 0), time(8, 0)]
    assert [p.key for p in spec.practitioners] == ["ana", "ben"]
    ana = spec.practitioners[0]
    assert ana.hours[1].days == ["fri"] and ana.hours[1].start == time(10, 0)
    assert spec.fees[2].price == Decimal("110.00")
    insurer = spec.package_templates[2]
    assert insurer.valid_days is None  # omitted: no expiry
    assert insurer.patient_pays == Decimal("0.00")
    assert insurer.installments == 1
    assert insurer.practitioners == [] and insurer.locations == []
    assert spec.reminders.unpaid_invoice_days == [3, 10, 24]
    assert spec.staff[1].telegram_chat_id is None and spec.staff[0].telegram_chat_id < 0
    assert spec.patients[1].guardians == ["maya"]
    assert spec.patients[0].birth_date == date(1988, 4, 2)
    assert spec.purchases[0].used == 2 and spec.purchases[1].used == 0
    assert spec.purchases[1].paid == Decimal("330.00")
    assert spec.memberships[0].paid_through == date(2026, 10, 31)


def test_the_brief_example_message_is_exact() -> None:
    text = bad('price = "110.00"', 'price = "110.001"')
    line = line_with(text, '"110.001"')
    assert first_problem(text) == (
        f'clinic.toml:{line}: [[fees]] "massage-60": '
        'key "price": "110.001" has 3 decimals; money takes at most 2 (e.g. "110.00")'
    )


# (old text of the example, new text, anchor of the line to report or None = the new text,
#  fragment the message must hold)
CASES = [
    # unknown keys and sections
    ("slot_minutes = 15", "slot_mintues = 15", None,
     '[clinic]: unknown key "slot_mintues"; did you mean "slot_minutes"?'),
    ('address = "900 Danforth Ave, Toronto"', 'adress = "900 Danforth Ave"', None,
     '[[locations]] "east": unknown key "adress"'),
    ("[reminders]", "[reminder]", None, "unknown section [reminder]"),
    ('{ location = "east", days = ["fri"], start = "10:00"',
     '{ location = "east", day = ["fri"], days = ["fri"], start = "10:00"',
     None,
     '[[practitioners]] "ana": key "hours", entry 2: unknown key "day"'),
    # wrong types
    ("slot_minutes = 15", 'slot_minutes = "15"', None,
     'key "slot_minutes": "15" is text; write a whole number without quotes (e.g. 15)'),
    ("slot_minutes = 15", "slot_minutes = 15.0", None, "15.0 is a number; write a whole number"),
    ("online_purchase = false ", 'online_purchase = "no" ', None,
     'key "online_purchase": "no" is text; write true or false'),
    ('name = "Downtown"', "name = 7", None, 'key "name": 7 is a number; write text in double'),
    ('practitioners = ["ben"]', 'practitioners = "ben"', None,
     'key "practitioners": "ben" is text; write a list in brackets'),
    ("telegram_chat_id = -1001234567890", 'telegram_chat_id = "-1001234567890"', None,
     "write a whole number without quotes (e.g. -1001234567890)"),
    ("[reminders]", "[[reminders]]", None, "[reminders] is one table"),
    # missing keys
    ('name = "East End"\n', "", '[[locations]]\nkey = "east"',
     '[[locations]] "east": key "name" is missing'),
    ('minutes = 30\n', "", '[[fees]]\nkey = "physio-follow"',
     '[[fees]] "physio-follow": key "minutes" is missing; add it, e.g. minutes = 60'),
    ('timezone = "America/Toronto"\n', "", "[clinic]",
     '[clinic]: key "timezone" is missing; add it, e.g. timezone = "America/Toronto"'),
    ('template = "massage-10"\n', "", '[[purchases]]\npatient = "leo"',
     '[[purchases]] entry 2: key "template" is missing'),
    # timezone, currency, locale, phone
    ('timezone = "America/Toronto"', 'timezone = "America/Torontoo"', None,
     '"America/Torontoo" is not a timezone; use an IANA name'),
    ('currency = "CAD"', 'currency = "CAN"', None, '"CAN" is not a currency'),
    ('locale = "es"', 'locale = "zz_QQ"', None, '[[patients]] "sofia": key "locale": "zz_QQ" is'
     " not a locale"),
    ('phone = "+14165550102"', 'phone = "+1416555"', None,
     '[[patients]] "sofia": key "phone": "+1416555" is not a valid phone number'),
    ('phone = "+14165550102"', 'phone = "call me"', None, 'write it as +E.164'),
    ('phone = "+14165550100"', 'phone = "+1 800"', None, '[clinic]: key "phone"'),
    # times, days, hours
    ('quiet_hours = ["21:00", "08:00"]', 'quiet_hours = ["9pm", "08:00"]', None,
     'key "quiet_hours", entry 1: "9pm" is not a time; write it as "HH:MM"'),
    ('quiet_hours = ["21:00", "08:00"]', 'quiet_hours = ["21:00"]', None,
     'key "quiet_hours": has too few items; give at least 2'),
    ('quiet_hours = ["21:00", "08:00"]', 'quiet_hours = ["21:00", "21:00"]', None,
     "start and end are the same time"),
    ('start = "08:00", end = "14:00"', 'start = "8:00", end = "14:00"', None,
     '"8:00" is not a time'),
    ('start = "08:00", end = "14:00"', 'start = "24:00", end = "14:00"', None,
     '"24:00" is not a time'),
    ('days = ["fri"]', 'days = ["friday"]', None,
     'key "hours", entry 2, "days", entry 1: "friday" is not a day; days are mon, tue'),
    ('days = ["fri"]', "days = []", None, 'key "hours", entry 2, "days": has too few items'),
    ('days = ["fri"], start = "10:00", end = "16:00"',
     'days = ["fri"], start = "16:00", end = "10:00"', None,
     '"ana": key "hours", entry 2, "end": end 10:00 is not after start 16:00'),
    ('days = ["fri"], start = "10:00", end = "16:00"',
     'days = ["fri"], start = "10:00", end = "10:00"', None, "end 10:00 is not after start"),
    ('{ location = "east", days = ["fri"]', '{ location = "east", days = ["thu"]', None,
     'key "hours", entry 2: thu 10:00-16:00 at "east" overlaps entry 1 (thu 09:00-17:00 at '
     '"downtown"); a practitioner is in one place at a time'),
    ('{ location = "east", days = ["mon", "wed", "fri", "sat"]',
     '{ location = "east", days = ["mon", "wed", "fri", "mon"]', None, '"mon" is listed twice'),
    # money
    ('price = "110.00"', "price = 110", None,
     'key "price": 110 is a number; money is a decimal string in quotes (e.g. "110.00")'),
    ('price = "110.00"', "price = 110.5", None, 'in quotes (e.g. "110.50")'),
    ('price = "110.00"', 'price = "-110.00"', None, '"-110.00" is negative'),
    ('price = "110.00"', 'price = "110,00"', None, '"110,00" is not an amount'),
    ('patient_pays = "10.00"', 'patient_pays = "10.005"', None, "has 3 decimals"),
    # numbers out of range, enumerations
    ("uses = 10", "uses = 0", None, '"massage-10": key "uses": 0 is too small; it must be at '
     "least 1"),
    ("installments = 3", "installments = 0", None, 'key "installments": 0 is too small'),
    ("valid_days = 365", "valid_days = 0", None, 'key "valid_days": 0 is too small'),
    ("minutes = 60\nprice = \"110.00\"", "minutes = 0\nprice = \"110.00\"", None,
     'key "minutes": 0 is too small'),
    ('period = "annual"', 'period = "weekly"', None,
     '"weekly" is not allowed here; use one of "monthly", "annual"'),
    ('role = "reception"', 'role = "boss"', None,
     'key "role": "boss" is not allowed here; use one of "reception", "practitioner", "manager"'),
    ('alerts = ["no_show"]', 'alerts = ["fire"]', None,
     '[[staff]] "ana": key "alerts", entry 1: "fire" is not allowed here; use one of '
     '"no_show", "registration", "unpaid", "message", "delivery_failed", "data_request"'),
    ("unpaid_invoice_days = [3, 10, 24]", "unpaid_invoice_days = [3, 10, 3]", None,
     'key "unpaid_invoice_days", entry 3: 3 is listed twice'),
    # keys and references
    ('key = "east"', 'key = "downtown"', 'key = "downtown"\nname = "East End"',
     '"downtown" is already the key of entry 1 of [[locations]]'),
    ('key = "east"', 'key = "East End"', None, '"East End" is not a key'),
    ('practitioners = ["ben"]', 'practitioners = ["bob"]', None,
     '[[fees]] "massage-60": key "practitioners", entry 1: there is no practitioner "bob"; use '
     'the key of one of [[practitioners]] ("ana", "ben") or add it there'),
    ('{ location = "east", days = ["fri"]', '{ location = "west", days = ["fri"]', None,
     'key "hours", entry 2, "location": there is no location "west"'),
    ('eligible_fees = ["massage-60"]', 'eligible_fees = ["massage-90"]', None,
     'there is no fee "massage-90"'),
    ('eligible_fees = ["massage-60"]', "eligible_fees = []", None,
     'key "eligible_fees": has too few items'),
    ('locations = ["downtown"]', 'locations = ["west"]', None, 'there is no location "west"'),
    ('practitioners = ["ana"]        #', 'practitioners = ["ghost"]        #', None,
     '"physio-5": key "practitioners", entry 1: there is no practitioner "ghost"'),
    ('practitioners = ["ana"]        #', 'practitioners = ["ben"]        #', None,
     'practitioner "ben" offers none of the eligible fees (physio-follow)'),
    ('practitioner = "ana"', 'practitioner = "anna"', None,
     '[[staff]] "ana": key "practitioner": there is no practitioner "anna"'),
    ('guardians = ["maya"]', 'guardians = ["mia"]', None,
     '[[patients]] "leo": key "guardians", entry 1: there is no patient "mia"'),
    ('guardians = ["maya"]', 'guardians = ["leo"]', None, '"leo" cannot be their own guardian'),
    ('patient = "leo"', 'patient = "theo"', None,
     '[[purchases]] entry 2: key "patient": there is no patient "theo"'),
    ('template = "physio-5"', 'template = "physio-50"', None,
     'there is no package_template "physio-50"'),
    ('plan = "wellness-monthly"', 'plan = "gold"', None, 'there is no membership_plan "gold"'),
    ('hours = [\n  { location = "east", days = ["mon", "wed", "fri", "sat"], start = "08:00", '
     'end = "14:00" },\n]', "hours = []", 'practitioners = ["ben"]',
     '[[fees]] "massage-60": key "practitioners", entry 1: practitioner "ben" has no hours'),
    # purchases and memberships
    ("used = 2 ", "used = 6 ", None,
     '[[purchases]] entry 1: key "used": 6 is more than the 5 uses of "physio-5"'),
    ("used = 2 ", "used = -1 ", None, 'key "used": -1 is too small; it must be at least 0'),
    ('paid = "330.00"', 'paid = "990.01"', None,
     '[[purchases]] entry 2: key "paid": "990.01" is more than the price of "massage-10"'),
    ('paid = "330.00"', 'paid = "-1.00"', None, '"-1.00" is negative'),
    ('purchased_on = "2026-10-01"', 'purchased_on = "2026-10-32"', None, "is not a real date"),
    ('purchased_on = "2026-10-01"', 'purchased_on = "01/10/2026"', None,
     'write it as "YYYY-MM-DD"'),
    ('# expires_on = "2027-03-30"', 'expires_on = "2026-09-30"', None,
     'key "expires_on": 2026-09-30 is before purchased_on 2026-10-01'),
    ('paid_through = "2026-10-31"', 'paid_through = "2026-08-31"', None,
     '[[memberships]] entry 1: key "paid_through": 2026-08-31 is before start 2026-09-01'),
    ('paid_through = "2026-10-31"', 'paid_through = "2026-10-15"', None,
     "is not the last day of a monthly period counted from 2026-09-01; use 2026-09-30 or "
     "2026-10-31"),
    ('period = "monthly"             # or "annual"\nauto_invoice = true',
     'period = "monthly"\nauto_invoice = false', 'paid_through = "2026-10-31"',
     'plan "wellness-monthly" has auto_invoice = false'),
    ('[[purchases]]\npatient = "leo"',
     '[[purchases]]\npatient = "maya"\ntemplate = "physio-5"\npurchased_on = "2026-10-01"\n'
     '[[purchases]]\npatient = "leo"', 'purchased_on = "2026-10-01"\n[[purchases]]',
     "entry 1 already records maya's physio-5 bought on 2026-10-01"),
]


@pytest.mark.parametrize(("old", "new", "anchor", "fragment"), CASES)
def test_a_bad_file_names_line_section_key_and_fix(
    old: str, new: str, anchor: str | None, fragment: str
) -> None:
    text = bad(old, new)
    line = line_with(text, anchor or new.lstrip("\n") or old)
    message = first_problem(text)
    assert message.startswith(f"clinic.toml:{line}: "), message
    assert fragment in message


def test_every_problem_is_listed_one_per_line_in_file_order() -> None:
    text = bad('price = "110.00"', 'price = "110.001"')
    text = text.replace('currency = "CAD"', 'currency = "XYZ"')
    with pytest.raises(ClinicFileError) as caught:
        parse_clinic_text(text, "clinic.toml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    currency = line_with(text, 'currency = "XYZ"')
    assert lines[0].startswith(f"clinic.toml:{currency}: [clinic]")
    assert lines[1].startswith(f"clinic.toml:{line_with(text, '110.001')}: [[fees]]")


def test_a_toml_syntax_error_keeps_its_line() -> None:
    text = bad('name = "Downtown"', 'name = "Downtown')
    message = first_problem(text)
    line = line_with(text, 'name = "Downtown')
    assert message.startswith(f"clinic.toml:{line}: ")
    assert "not valid TOML" in message


def test_a_file_without_a_clinic_section_says_so() -> None:
    message = first_problem('[[locations]]\nkey = "a"\nname = "A"\n')
    assert "the [clinic] section is missing" in message


def test_a_key_before_any_section_is_named_as_a_key() -> None:
    message = first_problem("debug = true\n" + EXAMPLE)
    assert message.startswith("clinic.toml:1: ")
    assert 'unknown key "debug" before the first section' in message


def test_phones_are_normalised_to_e164_in_the_clinic_country() -> None:
    spec = parse_clinic_text(bad('phone = "+14165550102"', 'phone = "(416) 555-0102"'), "x")
    assert spec.patients[2].phone == "+14165550102"


STAFF_CHAT = "telegram_chat_id = -1001234567890  # a group chat: negative id\n"


def test_a_staff_phone_is_optional_and_normalised_like_a_patients() -> None:
    assert parse_clinic_text(EXAMPLE, "x").staff[0].phone is None
    spec = parse_clinic_text(bad(STAFF_CHAT, STAFF_CHAT + 'phone = "(416) 555-0177"\n'), "x")
    assert spec.staff[0].phone == "+14165550177"
    message = first_problem(bad(STAFF_CHAT, STAFF_CHAT + 'phone = "555-01"\n'))
    assert '[[staff]] "desk": key "phone": "555-01" is not a valid phone number' in message


def test_without_a_country_a_phone_must_be_international() -> None:
    text = bad('phone = "+14165550100"', "")
    text = text.replace('locale = "en_CA"                  #', 'locale = "en"  #')
    text = text.replace('phone = "+14165550102"', 'phone = "416 555 0102"')
    message = first_problem(text)
    assert '[[patients]] "sofia": key "phone": "416 555 0102" has no country code' in message


def test_a_plain_toml_date_is_accepted_as_well_as_a_string() -> None:
    spec = parse_clinic_text(bad('birth_date = "2015-06-11"', "birth_date = 2015-06-11"), "x")
    assert spec.patients[1].birth_date == date(2015, 6, 11)


def test_a_toml_datetime_is_not_a_date() -> None:
    text = bad('birth_date = "2015-06-11"', "birth_date = 2015-06-11T10:00:00")
    assert 'is not a date; write it as "YYYY-MM-DD"' in first_problem(text)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda tmp: tmp / "missing.toml", "no such file; check the path"),
        (lambda tmp: tmp, "is a directory"),
    ],
)
def test_an_unreadable_file_is_a_clear_error(make, fragment, tmp_path: Path) -> None:
    path = make(tmp_path)
    with pytest.raises(ClinicFileError) as caught:
        read_clinic_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert fragment in str(caught.value)


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(EXAMPLE.replace("Sofía", "Sof\u00eda").encode("latin-1"))
    with pytest.raises(ClinicFileError) as caught:
        read_clinic_file(path)
    assert "is not UTF-8 text" in str(caught.value)


def test_the_booking_table_may_ask_a_deposit() -> None:
    assert parse_clinic_text(EXAMPLE, "x").booking.deposit is None, "none unless set"
    with_deposit = EXAMPLE + '\n[booking]\ndeposit = "20.00"\ndeposit_hold_minutes = 60\n'
    booking = parse_clinic_text(with_deposit, "x").booking
    assert (booking.deposit, booking.deposit_hold_minutes) == (Decimal("20.00"), 60)
    message = first_problem(EXAMPLE + "\n[booking]\ndeposit = 20\n")
    assert "[booking]" in message and "deposit" in message and '"20.00"' in message
    assert "deposit_hold_minutes" in first_problem(
        EXAMPLE + "\n[booking]\ndeposit_hold_minutes = 0\n")
