"""Memberships (RULES.md 13, 16): enrolment, cancellation, and one invoice per period.

:func:`invoice_due_periods` is the idempotent sweep: it creates the invoice of every period that
has started by ``as_of`` and has none yet (so downtime is caught up, one invoice per missed
period), never for a period starting on or after ``cancelled_from``. The unique key
``(membership_id, period_start)`` makes two sweeps running at once create each invoice once.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.services.periods import period_start
from bot.storage.models import Invoice, Membership, MembershipPlan, Patient
from bot.storage.uow import UnitOfWork


async def get_plan(uow: UnitOfWork, ref: str | int) -> MembershipPlan:
    column = MembershipPlan.id if isinstance(ref, int) else MembershipPlan.key
    plan = await uow.session.scalar(select(MembershipPlan).where(column == ref))
    if plan is None:
        raise NotFound(f"there is no membership plan {ref!r}")
    return plan


async def enrol(uow: UnitOfWork, patient_id: int, plan_ref: str | int, start: date) -> Membership:
    """Start a membership on ``start``; periods are counted from that date."""
    plan = await get_plan(uow, plan_ref)
    patient = await uow.session.get(Patient, patient_id)
    if patient is None or patient.merged_into_id is not None:
        raise NotFound(f"there is no patient {patient_id}")
    membership = Membership(
        patient_id=patient.id, plan_id=plan.id, start=start, created_at=uow.clock.now()
    )
    uow.session.add(membership)
    await uow.session.flush()
    return membership


async def cancel(uow: UnitOfWork, membership_id: int, from_date: date) -> Membership:
    """Cancel from ``from_date``: no period starting on or after it is invoiced (RULES.md 16)."""
    membership = await uow.session.get(Membership, membership_id)
    if membership is None:
        raise NotFound(f"there is no membership {membership_id}")
    if from_date < membership.start:
        raise InvalidInput(
            f"a membership cannot be cancelled before it starts ({membership.start.isoformat()})"
        )
    if membership.cancelled_from is not None and membership.cancelled_from <= from_date:
        raise WrongState(
            f"membership {membership.id} is already cancelled from "
            f"{membership.cancelled_from.isoformat()}"
        )
    membership.cancelled_from = from_date
    return membership


def periods_started(membership: Membership, plan: MembershipPlan, as_of: date) -> list[date]:
    """Start dates of every period begun on or before ``as_of`` and before any cancellation."""
    return [start for _, start in _started(membership, plan, as_of)]


def _started(membership: Membership, plan: MembershipPlan, as_of: date) -> list[tuple[int, date]]:
    started: list[tuple[int, date]] = []
    index = 0
    while True:
        start = period_start(membership.start, plan.period, index)
        if start > as_of:
            return started
        if membership.cancelled_from is not None and start >= membership.cancelled_from:
            return started
        started.append((index, start))
        index += 1


async def invoice_due_periods(
    uow: UnitOfWork, as_of: date, *, membership_ids: list[int] | None = None
) -> int:
    """Create the missing invoice of every started period (auto-invoice plans); return how many."""
    stmt = (
        select(Membership, MembershipPlan)
        .join(MembershipPlan, MembershipPlan.id == Membership.plan_id)
        .where(MembershipPlan.auto_invoice.is_(True), Membership.start <= as_of)
    )
    if membership_ids is not None:
        stmt = stmt.where(Membership.id.in_(membership_ids))
    rows = (await uow.session.execute(stmt)).tuples().all()
    created = 0
    for membership, plan in rows:
        for index, start in _started(membership, plan, as_of):
            created += await _insert_period_invoice(uow, membership, plan, index, start)
    return created


async def _insert_period_invoice(
    uow: UnitOfWork, membership: Membership, plan: MembershipPlan, index: int, start: date
) -> int:
    end = period_start(membership.start, plan.period, index + 1)
    table = cast(Table, Invoice.__table__)
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(
            patient_id=membership.patient_id,
            kind="membership",
            description=f"{plan.name} {start.isoformat()}",
            amount=plan.price,
            paid=0,
            status="open",
            issued_on=start,
            due_on=start,
            membership_id=membership.id,
            period_start=start,
            period_end=end,
            created_at=uow.clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["membership_id", "period_start"])
        .returning(table.c.id)
    )
    return 1 if (await uow.session.execute(stmt)).first() is not None else 0


def next_renewal(membership: Membership, plan: MembershipPlan, after: date) -> date | None:
    """The first period start strictly after ``after``, unless cancelled by then."""
    index = 0
    while (start := period_start(membership.start, plan.period, index)) <= after:
        index += 1
    if membership.cancelled_from is not None and start >= membership.cancelled_from:
        return None
    return start
