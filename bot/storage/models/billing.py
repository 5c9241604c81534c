"""Money: invoices, payments, credit, membership plans and memberships (RULES.md 2, 9, 13-16)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Connection,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    delete,
    event,
    insert,
    text,
)
from sqlalchemy.orm import Mapped, Mapper, attributes, mapped_column

from bot.storage.models.base import Base
from bot.storage.types import Money, UTCDateTime

REMINDED_KINDS = ("membership", "installment")  # chased by the unpaid-invoice reminders
DEPOSIT_ONLY = text("kind = 'deposit'")  # one deposit invoice per appointment (issue 20)


def reminder_cursor(kind: str | None, status: str | None, due_on: date | None) -> date | None:
    """Where a new invoice's :class:`InvoiceReminder` starts: its due date when unpaid
    reminders chase its kind and it is open, else None (no row: nothing to chase)."""
    return due_on if kind in REMINDED_KINDS and status == "open" else None


class Invoice(Base):
    """What a patient owes. ``kind``: package | installment | membership | session | no_show |
    deposit.

    Unique keys make generation idempotent: one invoice per membership period, one per package
    installment, one per redeemed session or no-show charge, one deposit per appointment.
    """

    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("membership_id", "period_start"),
        UniqueConstraint("package_id", "installment_no"),
        Index("ix_invoice_status_due", "status", "due_on"),
        Index("uq_invoice_deposit_appointment", "appointment_id", unique=True,
              sqlite_where=DEPOSIT_ONLY, postgresql_where=DEPOSIT_ONLY),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | paid | void
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("patient_package.id"))
    installment_no: Mapped[int | None] = mapped_column()
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def outstanding(self) -> Decimal:
        return outstanding(self.amount, self.paid, self.status)


class InvoiceReminder(Base):
    """The unpaid-reminder sweep's cursor of one invoice it chases (RULES.md 15, issue 15).

    ``remind_on`` is on or before the day the invoice's next reminder stage is reached; only a
    lower bound, the sweep re-checks each invoice it reads. The row exists while there may be
    something to send: an open membership or installment invoice gets one when it is created
    (at its due date; the membership sweep's at the clinic's first stage), and it goes when the
    invoice is paid or void or its last stage was sent.

    A table of its own rather than a column of the invoice: a sweep moves thousands of cursors,
    and changing an indexed column writes a new copy of the row and an entry in each of the
    table's indexes; here that is a narrow row and two indexes, not the invoice's wide row and
    its six (moving 44,651 cursors just after a checkpoint wrote 81 MB of WAL as an invoice
    column, 17 MB here).
    """

    __tablename__ = "invoice_reminder"
    __table_args__ = (Index("ix_invoice_reminder_remind_on", "remind_on", "invoice_id"),)

    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), primary_key=True)
    remind_on: Mapped[date] = mapped_column(Date)


@event.listens_for(Invoice, "after_insert")
def _chase_from_due_date(
    _mapper: Mapper[Invoice], connection: Connection, invoice: Invoice
) -> None:
    """An invoice added through the session: its :class:`InvoiceReminder` when the unpaid
    reminders chase it (invoices inserted in bulk, by the membership sweep, add theirs in the
    same statement: :func:`bot.services.memberships.invoice_due_periods`)."""
    remind_on = reminder_cursor(invoice.kind, invoice.status, invoice.due_on)
    if remind_on is not None:
        connection.execute(insert(InvoiceReminder).values(invoice_id=invoice.id,
                                                          remind_on=remind_on))


@event.listens_for(Invoice, "after_update")
def _stop_chasing(_mapper: Mapper[Invoice], connection: Connection, invoice: Invoice) -> None:
    """Paid or void through the session: nothing more to chase, its cursor goes (the sweep
    would drop it anyway when it next reads the invoice; this keeps what it reads small)."""
    if invoice.status != "open" and attributes.get_history(invoice, "status").has_changes():
        connection.execute(delete(InvoiceReminder).where(InvoiceReminder.invoice_id == invoice.id))


def outstanding(amount: Decimal, paid: Decimal, status: str) -> Decimal:
    """What is still owed on an invoice of ``amount`` with ``paid`` received: nothing once void
    (:attr:`Invoice.outstanding`; for rows read as columns)."""
    return Decimal("0.00") if status == "void" else amount - paid


class Payment(Base):
    """Money received against an invoice. ``external_id`` dedupes provider redeliveries."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(String(16))  # desk | card | telegram | credit | import
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CreditEntry(Base):
    """One movement of a patient's credit: a ledger row, never edited (RULES.md 9).

    A patient's credit is the sum of their entries' ``amount`` (stored as integer cents, like
    every amount). ``source`` says where it came from: ``refund`` (a refunded package,
    ``package_id``) and ``overpayment`` (money received when nothing, or less, was owed on
    ``invoice_id``; ``external_id`` is the provider's charge id, so a charge is credited at most
    once) add credit; ``applied`` (negative) spends it on ``invoice_id`` through ``payment_id``.
    """

    __tablename__ = "credit_entry"
    __table_args__ = (
        CheckConstraint(
            "(source IN ('applied', 'paid_back') AND amount < 0) OR "
            "(source IN ('refund', 'overpayment') AND amount > 0)",
            name="signed_by_source",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    source: Mapped[str] = mapped_column(String(16))  # refund | overpayment | applied
    reason: Mapped[str] = mapped_column(String(200))
    package_id: Mapped[int | None] = mapped_column(ForeignKey("patient_package.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MembershipPlan(Base):
    """A plan billed every period (monthly | annual) from each member's start date."""

    __tablename__ = "membership_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Money)
    period: Mapped[str] = mapped_column(String(8))
    auto_invoice: Mapped[bool] = mapped_column(default=True)
    remind_days_before: Mapped[int | None] = mapped_column()


class Membership(Base):
    """A patient's membership; ``cancelled_from``: no period starting on or after it is billed."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("patient_id", "plan_id", "start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("membership_plan.id"))
    start: Mapped[date] = mapped_column(Date)
    cancelled_from: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MembershipSchedule(Base):
    """The sweeps' cursors of one membership (issue 15), lower bounds, None once there is
    nothing more to do: ``next_invoice_on``, the start of the first period that may lack its
    invoice; ``renewal_remind_on``, the day the next renewal reminder may be due. Both start at
    the membership's start (its row comes with the membership).

    A table of its own, as :class:`InvoiceReminder`: the sweeps move tens of thousands of
    cursors a pass, and moving one here writes a narrow row and its three indexes, not a copy of
    the membership's row and its five (two of them, by patient, scattered over the index).
    """

    __tablename__ = "membership_schedule"
    __table_args__ = (
        Index("ix_membership_schedule_next_invoice_on", "next_invoice_on", "membership_id"),
        Index("ix_membership_schedule_renewal_remind_on", "renewal_remind_on", "membership_id"),
    )

    membership_id: Mapped[int] = mapped_column(
        ForeignKey("membership.id", ondelete="CASCADE"), primary_key=True)
    next_invoice_on: Mapped[date | None] = mapped_column(Date)
    renewal_remind_on: Mapped[date | None] = mapped_column(Date)


@event.listens_for(Membership, "after_insert")
def _schedule_from_start(
    _mapper: Mapper[Membership], connection: Connection, membership: Membership
) -> None:
    """A membership's cursors start at its start (the sweeps move them on from there)."""
    connection.execute(insert(MembershipSchedule).values(
        membership_id=membership.id, next_invoice_on=membership.start,
        renewal_remind_on=membership.start))
