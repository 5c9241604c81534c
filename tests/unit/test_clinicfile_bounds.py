"""Every number a set-up file gives has a bound the database and the date arithmetic can hold.

The schema is walked, not listed, so a number key added later without a bound fails here.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import annotated_types
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bot.clinicfile import ClinicFileError, parse_clinic_text
from bot.clinicfile.schema import ClinicSpec
from bot.storage.types import MAX_ID, MAX_INT64
from tests.conftest import EXAMPLE_FILE

EXAMPLE = EXAMPLE_FILE.read_text(encoding="utf-8")


def _int_bounds(annotation: Any, metadata: list[Any]) -> list[tuple[int | None, int | None]]:
    """(ge, le) of every int reachable in ``annotation`` (through Optional, list, Annotated)."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        unpacked = [m for e in extra for m in (e.metadata if isinstance(e, FieldInfo) else [e])]
        return _int_bounds(inner, [*metadata, *unpacked])
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (
        typing.Union, list,
    ):
        found: list[tuple[int | None, int | None]] = []
        for arg in typing.get_args(annotation):
            found += _int_bounds(arg, [] if typing.get_origin(annotation) is list else metadata)
        return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [b for field in annotation.model_fields.values()
                for b in _int_bounds(field.annotation, list(field.metadata))]
    if annotation is int:
        ge = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
        le = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
        return [(ge, le)]
    return []


def test_every_whole_number_of_the_schema_is_bounded_within_a_64_bit_column() -> None:
    bounds = _int_bounds(ClinicSpec, [])
    assert len(bounds) >= 15  # the walk reaches the sections' numbers
    for ge, le in bounds:
        assert ge is not None and le is not None
        assert -MAX_INT64 - 1 <= ge <= le <= MAX_INT64
    # All but the Telegram chat id (a BIGINT column) fit a 32-bit integer column.
    assert sum(1 for ge, le in bounds if le > MAX_ID or ge < -MAX_ID) == 1


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ('purchased_on = "2026-10-01"', 'purchased_on = "9999-12-31"', "out of range"),
        ('birth_date = "1988-04-02"', "birth_date = 0001-01-01", "out of range"),
        ('paid = "400.00"', 'paid = "1000000000000.00"', "too large"),
        ('price = "120.00"', 'price = "' + "9" * 40 + '.001"', "too large"),
        ("uses = 5", "uses = " + "9" * 5000, "thousands of digits"),
        ("booking_horizon_days = 28", "booking_horizon_days = 100000", "at most 730"),
        ("telegram_chat_id = -1001234567890", f"telegram_chat_id = {2**63}", "too large"),
    ],
)
def test_values_beyond_what_is_stored_are_one_clear_problem(old: str, new: str, said: str) -> None:
    assert old in EXAMPLE, old
    with pytest.raises(ClinicFileError) as caught:
        parse_clinic_text(EXAMPLE.replace(old, new, 1), "clinic.toml")
    assert len(caught.value.problems) == 1
    assert said in str(caught.value)


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ("message_texts_days = 0", '[retention]: key "message_texts_days": 0 is too small'),
        ("inbound_ids_days = 3", '[retention]: key "inbound_ids_days": 3 is too small'),
        ('audit_years = "7"', '[retention]: key "audit_years": "7" is text'),
        ("keep_days = 3", '[retention]: unknown key "keep_days"'),
    ],
)
def test_a_bad_retention_value_names_file_line_section_and_key(table: str, said: str) -> None:
    lines = EXAMPLE.count("\n")
    with pytest.raises(ClinicFileError) as caught:
        parse_clinic_text(f"{EXAMPLE}\n[retention]\n{table}\n", "clinic.toml")
    assert str(caught.value).startswith(f"clinic.toml:{lines + 3}: {said}")  # the key's line
