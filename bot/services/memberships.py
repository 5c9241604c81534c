"""Memberships (RULES.md 13, 16): enrolment, cancellation, and one invoice per period.

:func:`invoice_due_periods` is the idempotent sweep: it creates the invoice of every period that
has started by ``as_of`` and has none yet (so downtime is caught up, one invoice per missed
period), never for a period starting on or after ``cancelled_from``. The unique key
``(membership_id, period_start)`` makes two sweeps running at once create each invoice once.
Its cursor ``next_invoice_on`` (and the renewal reminders' ``renewal_remind_on``, both in
:class:`bot.storage.models.MembershipSchedule`) are only ever early, never late: a sweep reads
the memberships whose cursor has come and moves it on; enrolling starts both at the start,
cancelling clears those past the cancellation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, select

from bot.services import audit
from bot.services.clinic import get_clinic
from bot.services.due_reminders import unpaid_stages
from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.services.periods import first_period_after, period_start
from bot.services.sweep_writes import Follow, insert_and_move
from bot.services.sweeping import in_chunks, locked, walk
from bot.storage.models import (
    Invoice,
    InvoiceReminder,
    Membership,
    MembershipPlan,
    MembershipSchedule,
    Patient,
)
from bot.storage.uow import UnitOfWork


async def get_plan(uow: UnitOfWork, ref: str | int) -> MembershipPlan:
    column = MembershipPlan.id if isinstance(ref, int) else MembershipPlan.key
    plan = await uow.session.scalar(select(MembershipPlan).where(column == ref))
    if plan is None:
        raise NotFound(f"there is no membership plan {ref!r}")
    return plan


async def enrol(
    uow: UnitOfWork,
    patient_id: int,
    plan_ref: str | int,
    start: date,
    *,
    actor: audit.Actor | None = None,
) -> Membership:
    """Start a membership on ``start``; periods are counted from that date."""
    seen = await audit.watch(uow, actor, patient_id=patient_id)
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
    await seen.record(
        "membership.enrol", summary=f"membership {membership.id} from {start.isoformat()}",
    )
    return membership


async def cancel(
    uow: UnitOfWork, membership_id: int, from_date: date, *, actor: audit.Actor | None = None
) -> Membership:
    """Cancel from ``from_date``: no period starting on or after it is invoiced (RULES.md 16).

    Unpaid invoices of periods starting on or after ``from_date`` (a backdated cancellation)
    are voided; anything already paid on is left for the desk to refund.
    """
    seen = await audit.watch(uow, actor)
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
    # The sweeps' cursors: no period starting on or after the cancellation is invoiced or
    # reminded of, so a cursor there has nothing left to wait for. Their row is what a sweep
    # locks (skipping it while held here): none reads the membership half-cancelled.
    schedule = await uow.session.scalar(
        select(MembershipSchedule)
        .where(MembershipSchedule.membership_id == membership.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if schedule is not None:
        _clear_past(schedule, from_date, await uow.session.get(MembershipPlan, membership.plan_id))
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
    await seen.record(
        "membership.cancel",
        patient_id=membership.patient_id,
        summary=f"membership {membership.id} cancelled from {from_date.isoformat()}",
    )
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


def _clear_past(
    schedule: MembershipSchedule, from_date: date, plan: MembershipPlan | None
) -> None:
    """Clear the cursors waiting for a period starting on or after a cancellation."""
    if schedule.next_invoice_on is not None and schedule.next_invoice_on >= from_date:
        schedule.next_invoice_on = None
    ahead = timedelta(days=(plan.remind_days_before or 0) if plan is not None else 0)
    remind_on = schedule.renewal_remind_on
    if remind_on is not None and remind_on + ahead >= from_date:
        schedule.renewal_remind_on = None


async def invoice_due_periods(
    uow: UnitOfWork, as_of: date, *, membership_ids: Sequence[int] | None = None
) -> int:
    """Create the missing invoice of every started period (auto-invoice plans); return how many.

    Only memberships whose ``next_invoice_on`` has come are read, a chunk at a time (each
    committed, see :func:`bot.services.sweeping.walk`), as plain rows; each one's cursor then
    moves to its first period after ``as_of`` (None once cancelled by then). With
    ``membership_ids`` only those are invoiced, within the caller's transaction.
    """
    chase = _chase(await _stages(uow))
    if membership_ids is not None:
        created = 0
        for ids in in_chunks(sorted(membership_ids)):
            stmt = locked(uow, _due(as_of).where(_M.c.id.in_(ids)).order_by(_M.c.id), _S)
            created += await _invoice_rows(
                uow, as_of, (await uow.session.execute(stmt)).all(), chase)
        return created
    return await walk(uow, _due(as_of), (_S.c.next_invoice_on, _S.c.membership_id), _S,
                      lambda chunk, rows: _invoice_rows(chunk, as_of, rows, chase))


async def _stages(uow: UnitOfWork) -> list[int]:
    """The clinic's unpaid-reminder stages; with no clinic set up (memberships written by
    hand) the due date itself, the earliest any stage can be."""
    try:
        return unpaid_stages(await get_clinic(uow))
    except NotFound:
        return [0]


def _chase(stages: list[int]) -> Follow | None:
    """What the unpaid reminders are given for each new membership invoice: its cursor at the
    first stage (the invoice is open and of a chased kind; before that stage nothing is due, so
    the sweep need not read it earlier), or nothing when the clinic sends no such reminders
    (a reload that adds stages gives every open invoice one, see
    :func:`bot.services.sweeping.unpaid_stages_changed`)."""
    if not stages:
        return None
    return Follow(InvoiceReminder, (("invoice_id", "id"), ("remind_on", "due_on")),
                  later="remind_on", days=stages[0])


_M = cast(Table, Membership.__table__)
_S = cast(Table, MembershipSchedule.__table__)
_P = cast(Table, MembershipPlan.__table__)


def _due(as_of: date) -> Select[Any]:
    """Memberships with a period that may lack its invoice by ``as_of`` (their plan's
    ``auto_invoice`` is checked per row: the others' cursors are cleared).

    Their cursor rows are locked (PostgreSQL) against a cancellation, which locks them too, so
    no period after one is invoiced by a sweep that read the membership just before; a
    membership another sweep holds is left to it."""
    return (
        select(_S.c.membership_id, _M.c.patient_id, _M.c.start, _M.c.cancelled_from,
               _S.c.next_invoice_on, _P.c.name, _P.c.price, _P.c.period, _P.c.auto_invoice)
        .join(_M, _M.c.id == _S.c.membership_id)
        .join(_P, _P.c.id == _M.c.plan_id)
        .where(_S.c.next_invoice_on <= as_of)
    )


async def _invoice_rows(
    uow: UnitOfWork, as_of: date, rows: Sequence[Sequence[Any]], chase: Follow | None
) -> int:
    """Insert the invoices of ``rows``' periods from their cursor to ``as_of`` (ON CONFLICT DO
    NOTHING: a racing sweep's copy, or a period invoiced already), each with its ``chase``
    row, then move their cursors."""
    now = uow.clock.now()
    invoices: list[dict[str, object]] = []
    moved: list[tuple[int, date | None]] = []
    for mid, patient_id, start, cancelled, cursor, name, price, period, auto in rows:
        if not auto:  # invoiced by hand; a reload that turns auto-invoicing on resets this
            moved.append((mid, None))
            continue
        index = first_period_after(start, period, cursor - timedelta(days=1))
        begins = period_start(start, period, index)
        while begins <= as_of and (cancelled is None or begins < cancelled):
            ends = period_start(start, period, index + 1)
            invoices.append({
                "patient_id": patient_id, "kind": "membership",
                "description": f"{name} {begins.isoformat()}", "amount": price, "paid": 0,
                "status": "open", "issued_on": begins, "due_on": begins,
                "membership_id": mid, "period_start": begins, "period_end": ends,
                "created_at": now,
            })
            index, begins = index + 1, ends
        following = None if cancelled is not None and begins >= cancelled else begins
        if following != cursor:
            moved.append((mid, following))
    return await insert_and_move(uow, Invoice, invoices, ["membership_id", "period_start"],
                                 (_S, "next_invoice_on", moved), follow=chase)


def next_renewal(membership: Membership, plan: MembershipPlan, after: date) -> date | None:
    """The first period start strictly after ``after``, unless cancelled by then."""
    index = first_period_after(membership.start, plan.period, after)
    start = period_start(membership.start, plan.period, index)
    if membership.cancelled_from is not None and start >= membership.cancelled_from:
        return None
    return start
