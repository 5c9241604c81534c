"""The sweeps that walk a cursor: renewal reminders and unpaid-invoice reminders (RULES.md 14, 15).

* :func:`renewal_reminders` -- ``membership:{id}:renewal:{period_start}``, from
  ``remind_days_before`` the period start until it starts; reads the memberships whose
  ``renewal_remind_on`` (:class:`bot.storage.models.MembershipSchedule`) has come.
* :func:`unpaid_reminders` -- ``invoice:{id}:unpaid:{N}d``, the latest of the clinic's
  ``unpaid_invoice_days`` stages reached, and staff told once (``invoice:{id}:overdue``); reads
  the invoices whose :class:`bot.storage.models.InvoiceReminder` has come.

Each reads a chunk at a time (:func:`bot.services.sweeping.walk`) and moves the cursors on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Table, select

from bot.services import outbox
from bot.services.clinic import get_clinic, local_today
from bot.services.inbox_record import alert_rows
from bot.services.periods import first_period_after, period_start
from bot.services.recipients import Wanted, clinic_today, patient_messages
from bot.services.staff import all_staff
from bot.services.sweep_writes import Rows, insert_and_move
from bot.services.sweeping import walk
from bot.storage.models import (
    Clinic,
    InboxItem,
    Invoice,
    InvoiceReminder,
    Membership,
    MembershipPlan,
    MembershipSchedule,
    OutboxMessage,
)
from bot.storage.models.billing import REMINDED_KINDS
from bot.storage.uow import UnitOfWork

RENEWAL_REMINDER = "renewal_reminder"
UNPAID_REMINDER = "unpaid_reminder"
ONE_DAY = timedelta(days=1)
_M = cast(Table, Membership.__table__)
_S = cast(Table, MembershipSchedule.__table__)
_P = cast(Table, MembershipPlan.__table__)
_I = cast(Table, Invoice.__table__)
_R = cast(Table, InvoiceReminder.__table__)


async def renewal_reminders(uow: UnitOfWork) -> int:
    """Queue a reminder for each renewal within its plan's ``remind_days_before``.

    Reads only memberships whose ``renewal_remind_on`` has come (a chunk at a time), and moves
    each one's cursor to the day the reminder of its following renewal is due."""
    today = await clinic_today(uow)
    due = (
        select(_S.c.membership_id, _M.c.patient_id, _M.c.start, _M.c.cancelled_from,
               _S.c.renewal_remind_on, _P.c.period, _P.c.remind_days_before)
        .join(_M, _M.c.id == _S.c.membership_id)
        .join(_P, _P.c.id == _M.c.plan_id)
        .where(_S.c.renewal_remind_on <= today)
    )
    return await walk(uow, due, (_S.c.renewal_remind_on, _S.c.membership_id), _S,
                      lambda chunk, rows: _remind_renewals(chunk, today, rows))


async def _remind_renewals(uow: UnitOfWork, today: date, rows: Sequence[Sequence[Any]]) -> int:
    wanted: list[Wanted] = []
    moved: list[tuple[int, date | None]] = []
    for mid, patient_id, start, cancelled, cursor, period, days in rows:
        if not days or days <= 0:  # no reminders on this plan (a reload resets the cursor)
            moved.append((mid, None))
            continue
        ahead = timedelta(days=days)
        # The first renewal (never the start itself) after today not reminded of yet.
        index = max(1, first_period_after(start, period, max(today, cursor + ahead - ONE_DAY)))
        renewal = period_start(start, period, index)
        if renewal - ahead <= today and (cancelled is None or renewal < cancelled):
            wanted.append(Wanted(
                f"membership:{mid}:renewal:{renewal.isoformat()}", RENEWAL_REMINDER,
                patient_id, {"membership_id": mid, "period_start": renewal.isoformat()},
            ))
            renewal = period_start(start, period, index + 1)
        following = None if cancelled is not None and renewal >= cancelled else renewal - ahead
        if following != cursor:
            moved.append((mid, following))
    return await insert_and_move(uow, OutboxMessage, outbox.rows(uow, await patient_messages(
        uow, wanted)), ["purpose"], (_S, "renewal_remind_on", moved))


async def unpaid_reminders(uow: UnitOfWork) -> int:
    """Queue the latest unpaid-invoice reminder reached by each open invoice, and tell staff
    once when its first reminder is due; how many messages were queued.

    Reads only invoices whose reminder cursor (:class:`InvoiceReminder`) has come, a chunk at
    a time, and moves each one to the day its next stage is reached (the row goes after the
    last, or once the invoice is paid or void)."""
    clinic = await get_clinic(uow)
    today = local_today(clinic, uow.clock.now())
    stages = unpaid_stages(clinic)
    staff = await all_staff(uow)
    told = [member.id for member in staff if "unpaid" in (member.alerts or [])]

    due = (select(_R.c.invoice_id, _I.c.patient_id, _I.c.due_on, _R.c.remind_on, _I.c.status,
                  _I.c.kind)
           .join(_I, _I.c.id == _R.c.invoice_id).where(_R.c.remind_on <= today))
    return await walk(uow, due, (_R.c.remind_on, _R.c.invoice_id), _R,
                      lambda chunk, rows: _chase(chunk, today, stages, told, rows))


def unpaid_stages(clinic: Clinic) -> list[int]:
    """The clinic's unpaid-invoice reminder stages: days after the due date, in order."""
    return sorted({days for days in clinic.unpaid_invoice_days or [] if days >= 0})


async def _chase(
    uow: UnitOfWork, today: date, stages: list[int], told: list[int], rows: Sequence[Sequence[Any]]
) -> int:
    wanted: list[Wanted] = []
    overdue: list[tuple[int, int]] = []
    moved: list[tuple[int, date | None]] = []
    for invoice_id, patient_id, due_on, cursor, status, kind in rows:
        if status != "open" or kind not in REMINDED_KINDS:  # paid or void: done
            moved.append((invoice_id, None))
            continue
        elapsed = (today - due_on).days
        reached = [days for days in stages if days <= elapsed]
        if reached:
            wanted.append(Wanted(
                f"invoice:{invoice_id}:unpaid:{reached[-1]}d", UNPAID_REMINDER, patient_id,
                {"invoice_id": invoice_id, "days": reached[-1]},
            ))
            overdue.append((invoice_id, patient_id))
        later = [days for days in stages if days > elapsed]
        following = due_on + timedelta(days=later[0]) if later else None
        if following != cursor:
            moved.append((invoice_id, following))
    # The patients' reminders and the staff alerts in one insert (staff told once per invoice:
    # the outbox's unique purpose settles repeats), and the desk's inbox item of each alert
    # (even when no staff member asked for unpaid alerts). On PostgreSQL the cursors move in
    # the same statement.
    alerts: list[tuple[str, dict[str, object]]] = [
        (f"invoice:{iid}:overdue", {"invoice_id": iid, "patient_id": pid}) for iid, pid in overdue
    ]
    queued = outbox.rows(uow, await patient_messages(uow, wanted) + (
        outbox.staff_alert_rows("unpaid", told, alerts)))
    items = alert_rows(uow, [(purpose, "unpaid", params) for purpose, params in alerts])
    return await insert_and_move(
        uow, OutboxMessage, queued, ["purpose"], (_R, "remind_on", moved),
        also=[Rows(InboxItem, items, ["key"])])
