"""Reading the audit log a test's commands wrote: the entries added since the last look."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.e2e.test_cli_staff_support import query

COLUMNS = (
    "id, staff, face, action, patient_id, package_id, appointment_id, invoice_id, "
    "before, after, summary"
)


@dataclass(frozen=True)
class Entry:
    """One audit_entry row; ``before``/``after`` decoded."""

    id: int
    staff: str
    face: str
    action: str
    patient_id: int | None
    package_id: int | None
    appointment_id: int | None
    invoice_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]
    summary: str


def _json(value: Any) -> dict[str, Any]:
    decoded = json.loads(value) if isinstance(value, str) else value
    assert isinstance(decoded, dict)
    return decoded


class AuditLog:
    """The entries of one database, read in order; :meth:`new` gives those since the last call."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen = 0

    def new(self) -> list[Entry]:
        rows = query(
            self.url, f"SELECT {COLUMNS} FROM audit_entry WHERE id > :seen ORDER BY id",
            seen=self.seen,
        )
        found = [
            Entry(*row[:8], before=_json(row[8]), after=_json(row[9]), summary=row[10])
            for row in rows
        ]
        if found:
            self.seen = found[-1].id
        return found

    def one(self, action: str, *, staff: str = "desk", face: str = "cli") -> Entry:
        """The single entry the last command added: ``action`` by ``staff`` from ``face``."""
        [entry] = self.new()
        assert (entry.action, entry.staff, entry.face) == (action, staff, face), entry
        return entry

    def none(self) -> None:
        """The last command added nothing (it was refused, or changed nothing)."""
        assert self.new() == []
