"""What a patient owes and the memberships they hold ("Memberships and invoices"; RULES.md 13-16).

Read-only questions the dialogs, the reminders sweep and the reports ask: which invoices are
unpaid as of a day, and each membership's state and next renewal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from bot.services.clinic import get_clinic, local_today
from bot.services.memberships import next_renewal
from bot.storage.models import Invoice, Membership, MembershipPlan
from bot.storage.uow import UnitOfWork


async def unpaid_invoices(
    uow: UnitOfWork, as_of: date, patient_id: int | None = None
) -> list[Invoice]:
    """Open invoices of any kind due on or before ``as_of``, oldest due first."""
    stmt = select(Invoice).where(Invoice.status == "open", Invoice.due_on <= as_of)
    if patient_id is not None:
        stmt = stmt.where(Invoice.patient_id == patient_id)
    return list((await uow.session.scalars(stmt.order_by(Invoice.due_on, Invoice.id))).all())


@dataclass(frozen=True)
class MembershipState:
    """One membership as the patient sees it.

    ``status``: ``upcoming`` (starts after ``as_of``), ``active``, or ``cancelled`` (its
    cancellation date has come). ``ends_on`` is the cancellation date when one is set, even a
    future one; ``next_renewal`` is None once no further period will be billed.
    """

    membership_id: int
    plan_key: str
    plan_name: str
    period: str
    price: Decimal
    start: date
    status: str
    ends_on: date | None
    next_renewal: date | None


async def memberships_for(
    uow: UnitOfWork, patient_id: int, as_of: date | None = None
) -> list[MembershipState]:
    """The patient's memberships (active first, then upcoming, then cancelled), as of a day."""
    if as_of is None:
        as_of = local_today(await get_clinic(uow), uow.clock.now())
    rows = (
        await uow.session.execute(
            select(Membership, MembershipPlan)
            .join(MembershipPlan, MembershipPlan.id == Membership.plan_id)
            .where(Membership.patient_id == patient_id)
            .order_by(Membership.start, Membership.id)
        )
    ).tuples()
    states = [_state(membership, plan, as_of) for membership, plan in rows]
    order = {"active": 0, "upcoming": 1, "cancelled": 2}
    return sorted(states, key=lambda state: order[state.status])


def _state(membership: Membership, plan: MembershipPlan, as_of: date) -> MembershipState:
    if membership.cancelled_from is not None and membership.cancelled_from <= as_of:
        status = "cancelled"
    elif membership.start > as_of:
        status = "upcoming"
    else:
        status = "active"
    return MembershipState(
        membership_id=membership.id,
        plan_key=plan.key,
        plan_name=plan.name,
        period=plan.period,
        price=plan.price,
        start=membership.start,
        status=status,
        ends_on=membership.cancelled_from,
        next_renewal=next_renewal(membership, plan, as_of),
    )
