"""Pydantic's validation errors, said in the words of a clinic set-up file.

Each error becomes a :class:`~bot.clinicfile.errors.Problem`: what is wrong with the value and
what to write instead (e.g. ``"15" is text; write a whole number without quotes``).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from bot.clinicfile.errors import Loc, Problem
from bot.clinicfile.example import INIT_HINT
from bot.clinicfile.fields import kind_of, shown
from bot.clinicfile.schema import ClinicSpec

# What to write for a missing key, by model and key.
EXAMPLES = {
    "ClinicSection.name": 'name = "Harbour Physio"',
    "ClinicSection.timezone": 'timezone = "America/Toronto"',
    "ClinicSection.currency": 'currency = "CAD"',
    "ClinicSection.locale": 'locale = "en_CA"',
    "HoursBlock.location": 'location = "downtown"',
    "HoursBlock.days": 'days = ["mon", "tue"]',
    "HoursBlock.start": 'start = "09:00"',
    "HoursBlock.end": 'end = "17:00"',
    "FeeSection.minutes": "minutes = 60",
    "FeeSection.practitioners": 'practitioners = ["ana"]',
    "PackageTemplateSection.uses": "uses = 5",
    "PackageTemplateSection.eligible_fees": 'eligible_fees = ["physio-follow"]',
    "MembershipPlanSection.period": 'period = "monthly"',
    "StaffSection.role": 'role = "reception"',
    "PatientSection.first_name": 'first_name = "Maya"',
    "PatientSection.last_name": 'last_name = "Chen"',
    "PurchaseSection.patient": 'patient = "maya"',
    "PurchaseSection.template": 'template = "physio-5"',
    "PurchaseSection.purchased_on": 'purchased_on = "2026-10-01"',
    "MembershipSection.patient": 'patient = "sofia"',
    "MembershipSection.plan": 'plan = "wellness-monthly"',
    "MembershipSection.start": 'start = "2026-09-01"',
    "ClosureSection.from": 'from = "2026-12-24"',
    "TimeOffSection.from": 'from = "2026-11-20 13:00"',
    "TimeOffSection.practitioner": 'practitioner = "ana"',
}
BY_KEY = {"key": 'key = "a-short-slug"', "name": 'name = "..."', "price": 'price = "120.00"'}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is typing.Annotated or isinstance(
        annotation, types.UnionType
    ) or typing.get_origin(annotation) in (list, typing.Union):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def keys_of(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields by the key the file writes (its alias, e.g. ``from``, else its name)."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def model_at(loc: Loc) -> type[BaseModel] | None:
    """The model that validates the table at ``loc`` (list indexes are skipped)."""
    model: type[BaseModel] | None = ClinicSpec
    for part in loc:
        if isinstance(part, int):
            continue
        fields = keys_of(model) if model is not None else {}
        if part not in fields:
            return None
        model = _model_in(fields[str(part)].annotation)
    return model


def _unknown(loc: Loc, value: object) -> str:
    key = str(loc[-1])
    model = model_at(loc[:-1])
    allowed = list(keys_of(model)) if model else []
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    if len(loc) == 1 and not isinstance(value, dict | list):
        return (
            f'unknown key "{key}" before the first section; keys go inside a section, '
            "and the sections are: " + ", ".join(allowed)
        )
    if len(loc) == 1:
        return (
            f"unknown section [{key}]; {hint}the sections are: " + ", ".join(allowed)
        )
    return f'unknown key "{key}"; {hint}the keys here are: ' + ", ".join(allowed)


def _missing(loc: Loc) -> str:
    key = str(loc[-1])
    if len(loc) == 1:
        return f"the [{key}] section is missing; add it ({INIT_HINT})"
    model = model_at(loc[:-1])
    example = EXAMPLES.get(f"{model.__name__}.{key}" if model else "") or BY_KEY.get(key)
    return f'key "{key}" is missing; add it' + (f", e.g. {example}" if example else "")


def _expected(error: ErrorDetails) -> str:
    found = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
    return ", ".join(f'"{item}"' for item in found)


def _table_expected(loc: Loc, value: object) -> str:
    if len(loc) == 1 and isinstance(value, list):
        return f"[{loc[0]}] is one table: write [{loc[0]}] once, not [[{loc[0]}]]"
    if len(loc) == 1:
        return f"{shown(value)} is {kind_of(value)}; write a [{loc[0]}] table with its keys below"
    return f"{shown(value)} is {kind_of(value)}; a table {{ key = value, ... }} goes here"


def _list_expected(loc: Loc, value: object) -> str:
    if len(loc) == 1 and isinstance(value, dict):
        return f"write each entry as its own [[{loc[0]}]] table, not as [{loc[0]}]"
    if len(loc) == 1:
        return f"{shown(value)} is {kind_of(value)}; write each entry as a [[{loc[0]}]] table"
    return f'{shown(value)} is {kind_of(value)}; write a list in brackets, e.g. ["a", "b"]'


def _number(value: object) -> str:
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "15"


def describe(error: ErrorDetails) -> Problem:
    """One pydantic error as a problem at its path, with what to write instead."""
    loc: Loc = tuple(error["loc"])
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx", {})
    if kind == "extra_forbidden":
        return Problem(loc[:-1], _unknown(loc, error.get("input")), at=loc)
    if kind == "missing":
        return Problem(loc[:-1], _missing(loc), at=loc)
    said = f"{shown(value)} is {kind_of(value)}"
    messages = {
        "value_error": str(ctx.get("error", error["msg"])),
        "int_type": f"{said}; write a whole number without quotes (e.g. {_number(value)})",
        "string_type": f"{said}; write text in double quotes",
        "bool_type": f"{said}; write true or false, without quotes",
        "literal_error": f"{shown(value)} is not allowed here; use one of {_expected(error)}",
        "greater_than_equal": f"{shown(value)} is too small; it must be at least {ctx.get('ge')}",
        "less_than_equal": f"{shown(value)} is too large; it must be at most {ctx.get('le')}",
        "string_too_short": '"" is empty; write a value',
        "string_too_long": f"the text is longer than {ctx.get('max_length')} characters; "
        "shorten it",
        "too_short": f"has too few items; give at least {ctx.get('min_length')}",
        "too_long": f"has too many items; give at most {ctx.get('max_length')}",
        "model_type": _table_expected(loc, value),
        "dict_type": _table_expected(loc, value),
        "list_type": _list_expected(loc, value),
    }
    return Problem(loc, messages.get(kind, f"{shown(value)}: {error['msg']}"))
