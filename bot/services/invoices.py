"""What a patient owes and the memberships they hold ("Memberships and invoices"; RULES.md 13-16).

Read-only questions the dialogs, the reminders sweep and the reports ask: which invoices are
unpaid as of a day, which installments of a package come next, what an invoice is for (the
facts a label is written from, :func:`invoice_facts`: never the stored description's ISO
dates), and each membership's state and next renewal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from bot.services.clinic import get_clinic, local_today
from bot.services.memberships import next_renewal
from bot.storage.models import Invoice, Membership, MembershipPlan, PatientPackage
from bot.storage.uow import UnitOfWork


async def unpaid_invoices(
    uow: UnitOfWork, as_of: date, patient_id: int | None = None
) -> list[Invoice]:
    """Open invoices of any kind due on or before ``as_of``, oldest due first."""
    stmt = select(Invoice).where(Invoice.status == "open", Invoice.due_on <= as_of)
    if patient_id is not None:
        stmt = stmt.where(Invoice.patient_id == patient_id)
    return list((await uow.session.scalars(stmt.order_by(Invoice.due_on, Invoice.id))).all())


async def next_installments(uow: UnitOfWork, patient_id: int, as_of: date) -> list[Invoice]:
    """Each package's next open installment due after ``as_of`` (what comes after the unpaid
    ones), soonest first."""
    later = await uow.session.scalars(
        select(Invoice)
        .where(Invoice.patient_id == patient_id, Invoice.kind == "installment",
               Invoice.status == "open", Invoice.due_on > as_of)
        .order_by(Invoice.due_on, Invoice.installment_no, Invoice.id)
    )
    first: dict[int | None, Invoice] = {}
    for invoice in later.all():
        first.setdefault(invoice.package_id, invoice)
    return list(first.values())


@dataclass(frozen=True)
class InvoiceFacts:
    """What an invoice is for, to write its label from. ``name``: the plan, package or
    treatment; ``period_start``/``period_end`` (end excluded): a membership's period;
    ``installment`` of ``installments``: a package paid in parts."""

    kind: str
    name: str
    period_start: date | None = None
    period_end: date | None = None
    installment: int | None = None
    installments: int | None = None


async def invoice_facts(uow: UnitOfWork, invoices: Sequence[Invoice]) -> dict[int, InvoiceFacts]:
    """The facts of each invoice by id (plans and installment counts read once for all)."""
    plan_ids = {i.membership_id for i in invoices if i.membership_id is not None}
    package_ids = {i.package_id for i in invoices if i.kind == "installment" and i.package_id}
    plans: dict[int, str] = {}
    if plan_ids:
        rows = await uow.session.execute(
            select(Membership.id, MembershipPlan.name)
            .join(MembershipPlan, MembershipPlan.id == Membership.plan_id)
            .where(Membership.id.in_(plan_ids)))
        plans = dict(rows.tuples().all())
    parts: dict[int, tuple[str, int]] = {}
    if package_ids:
        rows2 = await uow.session.execute(
            select(PatientPackage.id, PatientPackage.name, func.max(Invoice.installment_no))
            .join(Invoice, Invoice.package_id == PatientPackage.id)
            .where(PatientPackage.id.in_(package_ids), Invoice.kind == "installment")
            .group_by(PatientPackage.id, PatientPackage.name))
        parts = {pid: (name, int(count or 0)) for pid, name, count in rows2.tuples()}
    return {invoice.id: _facts(invoice, plans, parts) for invoice in invoices}


def _facts(invoice: Invoice, plans: dict[int, str], parts: dict[int, tuple[str, int]]
           ) -> InvoiceFacts:
    if invoice.kind == "membership" and invoice.membership_id in plans:
        return InvoiceFacts("membership", plans[invoice.membership_id],
                            period_start=invoice.period_start, period_end=invoice.period_end)
    if invoice.kind == "installment" and invoice.package_id in parts:
        name, count = parts[invoice.package_id]
        return InvoiceFacts("installment", name, installment=invoice.installment_no,
                            installments=count)
    return InvoiceFacts(invoice.kind, invoice.description)


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
