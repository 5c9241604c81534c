"""Rows as a patient export writes them (:mod:`bot.services.patient_export`): JSON-ready values.

Every column of a row is written under its own name, except those :data:`NEVER_EXPORTED` (a
secret's hash, a sweep's internal cursor): moments in ISO-8601 (UTC, with the offset), days as
``YYYY-MM-DD``, times as ``HH:MM:SS``, money as ``{"amount": "12.50", "currency": "CAD"}`` (a
string, never a float), JSON columns as they are. A reference to the clinic's own fee,
practitioner, location or membership plan also gets that thing's name beside the id
(``fee_id`` and ``fee``), from :class:`ClinicNames`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, select

from bot.storage.models import Base, Fee, Location, MembershipPlan, Practitioner
from bot.storage.types import Money
from bot.storage.uow import UnitOfWork

# Columns that are not data about the patient: hashes of secrets, leases and bookkeeping.
NEVER_EXPORTED = frozenset({
    "invitation.code_hash", "invitation.form_token", "invitation.round",
    "outbox.claimed_until", "outbox.attempts",
})
NAMED = {"fee_id": "fee", "practitioner_id": "practitioner", "location_id": "location",
         "plan_id": "plan"}


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """An amount as the export writes it: ``{"amount": "12.50", "currency": "CAD"}``."""
    return {"amount": f"{amount:.2f}", "currency": currency}


def value(raw: object, *, is_money: bool, currency: str) -> Any:
    """One column's value, JSON-ready."""
    if raw is None:
        return None
    if is_money and isinstance(raw, Decimal):
        return money(raw, currency)
    if isinstance(raw, datetime | date | time):
        return raw.isoformat()
    if isinstance(raw, Decimal):
        return str(raw)
    return raw


@dataclass(frozen=True)
class ClinicNames:
    """The names of the clinic's fees, practitioners, locations and plans, by id."""

    by_kind: dict[str, dict[int, str]]

    @classmethod
    async def load(cls, uow: UnitOfWork) -> ClinicNames:
        found: dict[str, dict[int, str]] = {}
        for kind, model in (("fee", Fee), ("practitioner", Practitioner),
                            ("location", Location), ("plan", MembershipPlan)):
            rows = await uow.session.execute(select(model.id, model.name))
            found[kind] = {row_id: name for row_id, name in rows.tuples().all()}
        return cls(found)

    def name(self, kind: str, row_id: object) -> str | None:
        return self.by_kind.get(kind, {}).get(row_id) if isinstance(row_id, int) else None


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def row(obj: Base, currency: str, names: ClinicNames) -> dict[str, Any]:
    """Every exported column of ``obj`` (an ORM row), in the table's column order."""
    table = table_of(type(obj))
    out: dict[str, Any] = {}
    for column in table.columns:
        if f"{table.name}.{column.name}" in NEVER_EXPORTED:
            continue
        raw = getattr(obj, column.key)
        out[column.name] = value(raw, is_money=isinstance(column.type, Money), currency=currency)
        kind = NAMED.get(column.name)
        if kind is not None:
            out[kind] = names.name(kind, raw)
    return out
