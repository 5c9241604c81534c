"""A membership's statement (issue 18, item 1): the same :class:`~bot.services.statements.
Document` as a package's, so the console's print view, the PDF and the text show it alike.

The clinic, the patient, the plan (price per month or year), start, status, end and next
renewal (:func:`bot.services.invoices.memberships_for`'s figures), what was invoiced, paid and
is still owed, each period's invoice, and the payments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.i18n import Translator, phone_text
from bot.services.clinic import get_clinic, local_today, zone
from bot.services.errors import NotFound
from bot.services.invoices import MembershipState, memberships_for
from bot.services.statements import Document, Payment, Table, method_text
from bot.storage.models import Invoice, Membership, Patient
from bot.storage.models import Payment as PaymentRow
from bot.storage.uow import UnitOfWork


@dataclass(frozen=True)
class Period:
    """One period's invoice (a plain copy: it outlives the unit of work)."""

    start: date | None
    end: date | None
    due_on: date
    amount: Decimal
    paid: Decimal
    outstanding: Decimal
    void: bool


@dataclass(frozen=True)
class MembershipStatement:
    """What a membership's statement shows, in no particular language."""

    clinic_name: str
    clinic_phone: str | None
    currency: str
    zone: ZoneInfo
    issued_on: date
    patient_name: str
    state: MembershipState
    invoices: list[Period]
    payments: list[Payment]


async def membership_statement(uow: UnitOfWork, membership_id: int) -> MembershipStatement:
    """The statement of one membership (NotFound for an unknown one)."""
    membership = await uow.session.get(Membership, membership_id)
    if membership is None:
        raise NotFound(f"there is no membership {membership_id}")
    clinic = await get_clinic(uow)
    today = local_today(clinic, uow.clock.now())
    owner = await uow.session.get(Patient, membership.patient_id)
    assert owner is not None  # a foreign key
    state = next(s for s in await memberships_for(uow, owner.id, today)
                 if s.membership_id == membership_id)
    invoices = [Period(i.period_start, i.period_end, i.due_on, i.amount, i.paid, i.outstanding,
                       i.status == "void")
                for i in (await uow.session.scalars(
                    select(Invoice).where(Invoice.membership_id == membership_id)
                    .order_by(Invoice.period_start, Invoice.id))).all()]
    payments = (await uow.session.scalars(
        select(PaymentRow).join(Invoice, Invoice.id == PaymentRow.invoice_id)
        .where(Invoice.membership_id == membership_id)
        .order_by(PaymentRow.received_at, PaymentRow.id))).all()
    return MembershipStatement(
        clinic_name=clinic.name, clinic_phone=clinic.phone, currency=clinic.currency,
        zone=zone(clinic), issued_on=today, patient_name=owner.full_name, state=state,
        invoices=invoices,
        payments=[Payment(p.received_at, p.method, p.amount, p.invoice_id) for p in payments])


def document(st: MembershipStatement, t: Translator) -> Document:
    """The membership's statement worded by ``t``."""
    s = st.state

    def money(amount: Decimal) -> str:
        return t.money(amount, st.currency)

    def day(value: date | None) -> str:
        return t.date_text(value) if value is not None else ""

    live = [i for i in st.invoices if not i.void]
    statuses = {"active": t.gettext("active"), "upcoming": t.gettext("upcoming"),
                "cancelled": t.gettext("cancelled")}
    per = t.gettext("{amount} a month", amount=money(s.price)) if s.period == "monthly" else \
        t.gettext("{amount} a year", amount=money(s.price))
    facts = [
        (t.gettext("Patient"), st.patient_name),
        (t.gettext("Membership"), t.gettext("{plan} (membership {id})", plan=s.plan_name,
                                            id=s.membership_id)),
        (t.gettext("Status"), statuses.get(s.status, s.status)),
        (t.gettext("Price"), per),
        (t.gettext("Started"), day(s.start)),
        (t.gettext("Ends"), day(s.ends_on) if s.ends_on else t.gettext("never")),
        (t.gettext("Next renewal"), day(s.next_renewal) if s.next_renewal else t.gettext("none")),
        (t.gettext("Invoiced"), money(sum((i.amount for i in live), Decimal(0)))),
        (t.gettext("Paid"), money(sum((i.paid for i in live), Decimal(0)))),
        (t.gettext("Outstanding"), money(sum((i.outstanding for i in live), Decimal(0)))),
    ]
    periods = Table(
        title=t.gettext("Periods invoiced"),
        headers=[t.gettext("From"), t.gettext("To"), t.gettext("Due"), t.gettext("Amount"),
                 t.gettext("Paid"), t.gettext("Owed")],
        rows=[[day(i.start), day(i.end), day(i.due_on), money(i.amount),
               money(i.paid), t.gettext("void") if i.void else money(i.outstanding)]
              for i in st.invoices],
        empty=t.gettext("No invoice yet."), numeric=frozenset({3, 4, 5}))
    payments = Table(
        title=t.gettext("Payments"),
        headers=[t.gettext("Date"), t.gettext("Method"), t.gettext("Amount")],
        rows=[[day(p.received_at.astimezone(st.zone).date()), method_text(t, p.method),
               money(p.amount)] for p in st.payments],
        empty=t.gettext("No payment yet."), numeric=frozenset({2}))
    return Document(
        language=t.language, title=t.gettext("Membership statement"),
        clinic=[st.clinic_name, *([phone_text(st.clinic_phone)] if st.clinic_phone else [])],
        facts=facts, tables=[periods, payments],
        footer=t.gettext("Issued on {day}.", day=t.date_text(st.issued_on)))

