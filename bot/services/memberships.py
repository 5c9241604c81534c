"""Memberships (RULES.md 13, 16): enrolment, cancellation, and one invoice per period.

:func:`invoice_due_periods` is the idempotent sweep: it creates the invoice of every period that
has started by ``as_of`` and has none yet (so downtime is caught up, one invoice per missed
period), never for a period starting on or after ``cancelled_from``. The unique key
``(membership_id, period_start)`` makes two sweeps running at once create each invoice once.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.services.periods import first_period_after, period_start
from bot.services.sweeping import in_chunks
from bot.storage.models import Invoice, Membership, MembershipPlan, Patient
from bot.storage.uow import UnitOfWork
from bot.storage.upsert import insert_ignore_many


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
    same = await uow.session.scalar(
        select(Membership.id).where(
            Membership.patient_id == patient.id,
            Membership.plan_id == plan.id,
            Membership.start == start,
        )
    )
    if same is not None:
        raise WrongState(
            f"patient {patient.id} already has {plan.name} starting {start.isoformat()} "
            f"(membership {same})"
        )
    membership = Membership(
        patient_id=patient.id, plan_id=plan.id, start=start, created_at=uow.clock.now()
    )
    uow.session.add(membership)
    await uow.session.flush()
    return membership


async def cancel(uow: UnitOfWork, membership_id: int, from_date: date) -> Membership:
    """Cancel from ``from_date``: no period starting on or after it is invoiced (RULES.md 16).

    Unpaid invoices of periods starting on or after ``from_date`` (a backdated cancellation)
    are voided; anything already paid on is left for the desk to refund.
    """
    # Locked (PostgreSQL) against a sweep reading it, so no period after the cancellation is
    # invoiced by a sweep that read the membership just before.
    membership = await uow.session.scalar(
        select(Membership)
        .where(Membership.id == membership_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
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
    # Invoices already generated for periods that now fall after the cancellation (a backdated
    # cancel) are not owed: void those nothing was paid on, so no reminder chases them.
    stale = await uow.session.scalars(
        select(Invoice).where(
            Invoice.membership_id == membership.id,
            Invoice.period_start >= from_date,
            Invoice.status == "open",
            Invoice.paid == 0,
        )
    )
    for invoice in stale:
        invoice.status = "void"
    await uow.session.flush()
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
        .order_by(Membership.id)
        .with_for_update(of=Membership, read=True)
        .execution_options(populate_existing=True)
    )
    if membership_ids is not None:
        stmt = stmt.where(Membership.id.in_(membership_ids))
    rows = (await uow.session.execute(stmt)).tuples().all()
    invoiced = await _invoiced_periods(uow, [membership.id for membership, _ in rows])
    missing = [
        _period_invoice(uow, membership, plan, index, start)
        for membership, plan in rows
        for index, start in _started(membership, plan, as_of)
        if (membership.id, start) not in invoiced
    ]
    return await insert_ignore_many(uow, Invoice, missing, ["membership_id", "period_start"])


async def _invoiced_periods(uow: UnitOfWork, membership_ids: list[int]) -> set[tuple[int, date]]:
    # Skips periods already invoiced (one read instead of one insert per past period); a sweep
    # running at the same time is still settled by the insert's ON CONFLICT DO NOTHING.
    # The ids are read a bounded chunk at a time: PostgreSQL takes at most 32,767 parameters.
    found: set[tuple[int, date]] = set()
    for chunk in in_chunks(membership_ids):
        rows = await uow.session.execute(
            select(Invoice.membership_id, Invoice.period_start).where(
                Invoice.membership_id.in_(chunk), Invoice.period_start.is_not(None)
            )
        )
        found.update((m, s) for m, s in rows.tuples() if m is not None and s is not None)
    return found


def _period_invoice(
    uow: UnitOfWork, membership: Membership, plan: MembershipPlan, index: int, start: date
) -> dict[str, object]:
    """The invoice row of one period (inserted unless it exists: ON CONFLICT DO NOTHING)."""
    end = period_start(membership.start, plan.period, index + 1)
    return {
        "patient_id": membership.patient_id,
        "kind": "membership",
        "description": f"{plan.name} {start.isoformat()}",
        "amount": plan.price,
        "paid": 0,
        "status": "open",
        "issued_on": start,
        "due_on": start,
        "membership_id": membership.id,
        "period_start": start,
        "period_end": end,
        "created_at": uow.clock.now(),
    }


def next_renewal(membership: Membership, plan: MembershipPlan, after: date) -> date | None:
    """The first period start strictly after ``after``, unless cancelled by then."""
    index = first_period_after(membership.start, plan.period, after)
    start = period_start(membership.start, plan.period, index)
    if membership.cancelled_from is not None and start >= membership.cancelled_from:
        return None
    return start
