"""The audit log of staff actions (issue 17): who did what, from which face, and what changed.

Extension point for every service a staff member can act through. A service that changes the
clinic's data on a staff member's behalf takes ``actor`` (an :class:`Actor`, or None when a
patient acts in a dialog) and brackets its change with :func:`watch`::

    seen = await audit.watch(uow, actor, package_id=package_id)
    ...  # the change
    await seen.record("package.refund", summary="refund of 40.00")

:func:`watch` reads the money and uses of what the action will touch (bot/services/
audit_figures.py); :meth:`Watch.record` reads them again and adds the entry to the SAME unit
of work, so the action and its entry commit or roll back together: a refused action records
nothing. With no actor both are no-ops, so patient-facing dialogs never fill the log.

Entries hold ids and figures only, never a name, a phone number or a message text.
:func:`entries` lists them newest first, a page at a time (keyset), filtered by patient,
staff member, action and time range: for ``clinicbot report audit`` and the console's page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import and_, or_, select

from bot.services import audit_figures
from bot.services.errors import InvalidInput
from bot.storage.models import AuditEntry
from bot.storage.uow import UnitOfWork

Face = Literal["cli", "telegram", "console"]
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
SUMMARY_LENGTH = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Actor:
    """Who acts: a ``[[staff]]`` key, and the face used (the CLI, Telegram buttons, console)."""

    staff: str
    face: Face


@dataclass
class Watch:
    """An action being watched: what it touches and its figures before; see :func:`watch`."""

    uow: UnitOfWork
    actor: Actor | None
    subjects: audit_figures.Subjects
    before: audit_figures.Figures

    async def record(
        self,
        action: str,
        *,
        summary: str = "",
        patient_id: int | None = None,
        package_id: int | None = None,
        appointment_id: int | None = None,
        invoice_id: int | None = None,
    ) -> AuditEntry | None:
        """Add the entry for ``action`` (e.g. ``package.refund``) to the unit of work.

        Ids given here (what the action created, e.g. a sold package) join those given to
        :func:`watch`; the figures after are read for all of them. None without an actor.
        """
        if self.actor is None:
            return None
        given = audit_figures.Subjects(patient_id, package_id, appointment_id, invoice_id)
        subjects = replace(
            self.subjects,
            **{k: v for k, v in vars(given).items() if v is not None},
        )
        after = await audit_figures.figures(
            self.uow, subjects, audit_figures.packages_in(self.before)
        )
        if subjects.patient_id is None:
            subjects = replace(
                subjects,
                patient_id=audit_figures.patient_of(after) or audit_figures.patient_of(self.before),
            )
        entry = AuditEntry(
            at=self.uow.clock.now(),
            staff=self.actor.staff,
            face=self.actor.face,
            action=action,
            patient_id=subjects.patient_id,
            package_id=subjects.package_id,
            appointment_id=subjects.appointment_id,
            invoice_id=subjects.invoice_id,
            before=self.before,
            after=after,
            summary=summary[:SUMMARY_LENGTH],
        )
        self.uow.session.add(entry)
        await self.uow.session.flush()
        return entry


async def watch(
    uow: UnitOfWork,
    actor: Actor | None,
    *,
    patient_id: int | None = None,
    package_id: int | None = None,
    appointment_id: int | None = None,
    invoice_id: int | None = None,
) -> Watch:
    """Start watching a staff action on these ids: read their figures before it (if acted)."""
    subjects = audit_figures.Subjects(patient_id, package_id, appointment_id, invoice_id)
    before = await audit_figures.figures(uow, subjects) if actor is not None else {}
    return Watch(uow, actor, subjects, before)


@dataclass(frozen=True)
class Filters:
    """Which entries to list; every field optional. ``since`` inclusive, ``until`` exclusive."""

    patient_id: int | None = None
    staff: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Page:
    """A page of entries, newest first; ``after``: pass it back for the next page (or None)."""

    entries: list[AuditEntry]
    after: tuple[datetime, int] | None


def page_token(after: tuple[datetime, int]) -> str:
    """A page's ``after`` key as text for a link (``MICROSECONDS-ID``, UTC)."""
    at, entry_id = after
    micros = (at.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{entry_id}"


def parse_page_token(token: str) -> tuple[datetime, int]:
    """The ``after`` key :func:`page_token` wrote; InvalidInput for anything else."""
    parts = token.strip().split("-")
    if len(parts) != 2 or not all(p.isdecimal() and len(p) <= 20 for p in parts):
        raise InvalidInput(f"{token[:40]!r} is not a page token; use the link a page gave")
    return _EPOCH + timedelta(microseconds=int(parts[0])), int(parts[1])


async def entries(
    uow: UnitOfWork,
    filters: Filters = Filters(),
    *,
    after: tuple[datetime, int] | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """Entries matching ``filters``, newest first, ``limit`` at most, past the key ``after``."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE_SIZE} entries, not {limit}")
    stmt = select(AuditEntry)
    if filters.patient_id is not None:
        stmt = stmt.where(AuditEntry.patient_id == filters.patient_id)
    if filters.staff is not None:
        stmt = stmt.where(AuditEntry.staff == filters.staff)
    if filters.action is not None:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.since is not None:
        stmt = stmt.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEntry.at < filters.until)
    if after is not None:
        at, entry_id = after
        stmt = stmt.where(
            or_(AuditEntry.at < at, and_(AuditEntry.at == at, AuditEntry.id < entry_id))
        )
    stmt = stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit + 1)
    found = list((await uow.session.scalars(stmt)).all())
    more = len(found) > limit
    found = found[:limit]
    last = found[-1] if more else None
    return Page(found, (last.at, last.id) if last is not None else None)
