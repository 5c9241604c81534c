"""The scheduler's sweeps: invoices, reminders and alerts, each queued once (RULES.md 8, 13-16).

Every sweep is idempotent: it looks at the clinic as of ``uow.clock.now()`` and queues what is
due by then into the outbox under a purpose key, so a sweep that runs twice, late (downtime is
caught up), or on two instances at once, creates each message once (``outbox.enqueue``):

* :func:`invoice_memberships` -- one invoice per started period (``memberships``; RULES.md 13, 16).
* :func:`renewal_reminders` -- ``membership:{id}:renewal:{period_start}``, from
  ``remind_days_before`` the period start until it starts (RULES.md 14).
* :func:`unpaid_reminders` -- ``invoice:{id}:unpaid:{N}d`` on each of ``unpaid_invoice_days``
  after the due date of an open membership or installment invoice. After downtime only the
  latest stage reached is sent (one reminder, not a burst). Staff whose alerts include
  ``unpaid`` are told once, when the first reminder is due (``invoice:{id}:overdue``; RULES.md 15).
* :func:`appointment_reminders` -- ``appointment:{id}:reminder:{start}`` from
  ``appointment_hours_before`` the start of a booked appointment (the start is in the key, so a
  moved appointment is reminded of its new time; one booked inside that window is not reminded).
* :func:`package_expiry_warnings` -- ``package:{id}:expiry:{date}`` from
  ``package_expiry_days_before`` the expiry of a paid package with uses available.
* :func:`raise_no_shows` -- ``noshows.raise_overdue`` (RULES.md 8).
* housekeeping: ``inbound.forget_old`` forgets, by the real clock whatever the sweep's moment,
  the answers to inbound messages after two days and their ids by age (SMS after 400 days,
  Telegram after a week; the count reported is of answers and ids forgotten).

Patient messages carry ids only and go to :func:`recipient_for` (the patient, or the guardian
who manages them when the patient has no phone or Telegram); nothing is queued for a patient who
opted out. At send time :func:`why_not_send` re-checks that a message still matters (invoice
paid, appointment cancelled or moved, package used up...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select, update

from bot.services import accounts, inbound, memberships, noshows, outbox
from bot.services.clinic import get_clinic, local_today
from bot.services.errors import WrongState
from bot.services.periods import first_period_after, period_start
from bot.services.staff import all_staff
from bot.services.sweeping import walk
from bot.storage.models import (
    Appointment,
    Invoice,
    Membership,
    MembershipPlan,
    NoShow,
    OutboxMessage,
    Patient,
    PatientPackage,
)
from bot.storage.models.billing import REMINDED_KINDS
from bot.storage.uow import UnitOfWork

APPOINTMENT_REMINDER = "appointment_reminder"
RENEWAL_REMINDER = "renewal_reminder"
UNPAID_REMINDER = "unpaid_reminder"
PACKAGE_EXPIRY = "package_expiry"
REMINDED_INVOICE_KINDS = REMINDED_KINDS
ONE_DAY = timedelta(days=1)
_M = cast(Table, Membership.__table__)
_P = cast(Table, MembershipPlan.__table__)
_I = cast(Table, Invoice.__table__)
OPEN_NO_SHOW_STATUSES = ("booked", "no_show")


async def recipient_for(uow: UnitOfWork, patient_id: int) -> Patient | None:
    """Who gets a patient's messages: the patient when a phone or Telegram reaches them, else
    the first guardian who can be reached (RULES.md 17); None when nobody can, or when the
    patient or that guardian opted out (RULES.md 14). A merged profile's messages go to the
    profile it was merged into."""
    patient = await uow.session.get(Patient, patient_id)
    seen: set[int] = set()
    while patient is not None and patient.merged_into_id is not None and patient.id not in seen:
        seen.add(patient.id)
        patient = await uow.session.get(Patient, patient.merged_into_id)
    if patient is None or patient.opted_out:
        return None
    if _reachable(patient):
        return patient
    await uow.session.refresh(patient, ["guardians"])
    for guardian in sorted(patient.guardians, key=lambda g: g.id):
        if guardian.merged_into_id is None and _reachable(guardian):
            return None if guardian.opted_out else guardian
    return None


def _reachable(patient: Patient) -> bool:
    return bool(patient.phone) or patient.telegram_user_id is not None


async def _today(uow: UnitOfWork) -> date:
    return local_today(await get_clinic(uow), uow.clock.now())


@dataclass(frozen=True)
class Wanted:
    """A patient message a sweep wants to exist."""

    purpose: str
    kind: str
    patient_id: int
    params: dict[str, object]


async def _existing(uow: UnitOfWork, purposes: list[str]) -> set[str]:
    """Which of ``purposes`` are queued already (one query, so a quiet sweep stays cheap)."""
    found: set[str] = set()
    for start in range(0, len(purposes), 500):
        rows = await uow.session.scalars(
            select(OutboxMessage.purpose).where(
                OutboxMessage.purpose.in_(purposes[start : start + 500])
            )
        )
        found.update(rows.all())
    return found


async def _enqueue_for_patients(uow: UnitOfWork, wanted: list[Wanted]) -> int:
    """Queue each wanted message not queued yet, unless its patient cannot be reached or opted
    out; how many were created (a racing sweep's copy is settled by the unique key)."""
    existing = await _existing(uow, [w.purpose for w in wanted])
    wanted = [item for item in wanted if item.purpose not in existing]
    ids = sorted({item.patient_id for item in wanted})
    loaded: list[Patient] = []  # held, so recipient_for finds them (and guardians) in the session
    for start in range(0, len(ids), 500):
        loaded.extend(await uow.session.scalars(
            select(Patient).where(Patient.id.in_(ids[start : start + 500]))))
    return await outbox.enqueue_many(uow, [
        {"purpose": item.purpose, "kind": item.kind, "params": item.params,
         "patient_id": item.patient_id}
        for item in wanted
        if await recipient_for(uow, item.patient_id) is not None
    ])


# -- the sweeps -------------------------------------------------------------------------------


async def invoice_memberships(uow: UnitOfWork) -> int:
    """Invoice every membership period begun by today (clinic time); how many were created."""
    return await memberships.invoice_due_periods(uow, await _today(uow))


async def renewal_reminders(uow: UnitOfWork) -> int:
    """Queue a reminder for each renewal within its plan's ``remind_days_before``.

    Reads only memberships whose ``renewal_remind_on`` has come (a chunk at a time), and moves
    each one's cursor to the day the reminder of its following renewal is due."""
    today = await _today(uow)
    due = (
        select(_M.c.id, _M.c.patient_id, _M.c.start, _M.c.cancelled_from,
               _M.c.renewal_remind_on, _P.c.period, _P.c.remind_days_before)
        .join(_P, _P.c.id == _M.c.plan_id)
        .where(_M.c.renewal_remind_on <= today)
    )
    return await walk(uow, due, (_M.c.renewal_remind_on, _M.c.id), _M,
                      lambda rows: _remind_renewals(uow, today, rows))


async def _remind_renewals(uow: UnitOfWork, today: date, rows: Sequence[Row[Any]]) -> int:
    wanted: list[Wanted] = []
    moved: list[dict[str, object]] = []
    for mid, patient_id, start, cancelled, cursor, period, days in rows:
        if not days or days <= 0:  # no reminders on this plan (a reload resets the cursor)
            moved.append({"mid": mid, "cursor": None})
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
            moved.append({"mid": mid, "cursor": following})
    created = await _enqueue_for_patients(uow, wanted)
    if moved:
        await uow.session.execute(
            update(_M).where(_M.c.id == bindparam("mid"))
            .values(renewal_remind_on=bindparam("cursor")), moved)
    return created


async def unpaid_reminders(uow: UnitOfWork) -> int:
    """Queue the latest unpaid-invoice reminder reached by each open invoice, and tell staff
    once when its first reminder is due; how many messages were queued.

    Reads only open invoices whose ``reminder_due_on`` has come (a chunk at a time), and moves
    each one's cursor to the day its next stage is reached (None after the last)."""
    clinic = await get_clinic(uow)
    today = local_today(clinic, uow.clock.now())
    stages = sorted({days for days in clinic.unpaid_invoice_days or [] if days >= 0})
    staff = await all_staff(uow)
    told = [member.id for member in staff if "unpaid" in (member.alerts or [])]

    due = select(_I.c.id, _I.c.patient_id, _I.c.due_on, _I.c.reminder_due_on, _I.c.status,
                 _I.c.kind).where(_I.c.reminder_due_on <= today)
    return await walk(uow, due, (_I.c.reminder_due_on, _I.c.id), _I,
                      lambda rows: _chase(uow, today, stages, told, rows))


async def _chase(
    uow: UnitOfWork, today: date, stages: list[int], told: list[int], rows: Sequence[Row[Any]]
) -> int:
    wanted: list[Wanted] = []
    overdue: list[tuple[int, int]] = []
    moved: list[dict[str, object]] = []
    for invoice_id, patient_id, due_on, cursor, status, kind in rows:
        if status != "open" or kind not in REMINDED_INVOICE_KINDS:  # paid or void: done
            moved.append({"iid": invoice_id, "cursor": None})
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
            moved.append({"iid": invoice_id, "cursor": following})
    created = await _enqueue_for_patients(uow, wanted)
    alerts = {iid: [f"invoice:{iid}:overdue:staff:{s}" for s in told] for iid, _ in overdue}
    existing = await _existing(uow, [p for purposes in alerts.values() for p in purposes])
    created += await outbox.alert_staff_many(uow, alert="unpaid", alerts=[
        (f"invoice:{iid}:overdue", {"invoice_id": iid, "patient_id": pid})
        for iid, pid in overdue
        if not set(alerts[iid]) <= existing
    ])
    if moved:
        await uow.session.execute(
            update(_I).where(_I.c.id == bindparam("iid"))
            .values(reminder_due_on=bindparam("cursor")), moved)
    return created


async def appointment_reminders(uow: UnitOfWork) -> int:
    """Queue a reminder for each booked appointment starting within
    ``appointment_hours_before``; appointments booked inside that window are not reminded."""
    clinic = await get_clinic(uow)
    if not clinic.appointment_hours_before:
        return 0
    now = uow.clock.now()
    ahead = timedelta(hours=clinic.appointment_hours_before)
    upcoming = (
        await uow.session.scalars(
            select(Appointment)
            .where(
                Appointment.status == "booked",
                Appointment.starts_at > now,
                Appointment.starts_at <= now + ahead,
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
    ).all()
    wanted = [
        Wanted(
            f"appointment:{a.id}:reminder:{a.starts_at:%Y%m%dT%H%MZ}", APPOINTMENT_REMINDER,
            a.patient_id, {"appointment_id": a.id, "starts_at": a.starts_at.isoformat()},
        )
        for a in upcoming
        if a.created_at <= a.starts_at - ahead
    ]
    return await _enqueue_for_patients(uow, wanted)


async def package_expiry_warnings(uow: UnitOfWork) -> int:
    """Queue a warning for each paid package with uses available that expires within
    ``package_expiry_days_before``."""
    clinic = await get_clinic(uow)
    if clinic.package_expiry_days_before is None:
        return 0
    today = local_today(clinic, uow.clock.now())
    expiring = (
        await uow.session.scalars(
            select(PatientPackage)
            .where(
                PatientPackage.expires_on >= today,
                PatientPackage.expires_on
                <= today + timedelta(days=clinic.package_expiry_days_before),
                PatientPackage.available > 0,
                PatientPackage.paid_enough.is_(True),
                PatientPackage.refunded_at.is_(None),
            )
            .order_by(PatientPackage.id)
        )
    ).all()
    wanted = [
        Wanted(
            f"package:{p.id}:expiry:{p.expires_on}", PACKAGE_EXPIRY, p.patient_id,
            {"package_id": p.id, "expires_on": str(p.expires_on)},
        )
        for p in expiring
    ]
    return await _enqueue_for_patients(uow, wanted)


async def raise_no_shows(uow: UnitOfWork) -> int:
    """Raise appointments not marked arrived ``no_show_grace_minutes`` after their end."""
    return await noshows.raise_overdue(uow, uow.clock.now())


Sweep = Callable[[UnitOfWork], Awaitable[int]]
# In order: invoices before the reminders that read them.
SWEEPS: dict[str, Sweep] = {
    "membership invoices": invoice_memberships,
    "no-shows": raise_no_shows,
    "appointment reminders": appointment_reminders,
    "renewal reminders": renewal_reminders,
    "unpaid reminders": unpaid_reminders,
    "package expiry warnings": package_expiry_warnings,
    "old inbound messages forgotten": inbound.forget_old,
}


# -- at send time ------------------------------------------------------------------------------


async def why_not_send(uow: UnitOfWork, message: OutboxMessage) -> str | None:
    """Why a queued message no longer matters (it is skipped then), or None to send it."""
    params = message.params or {}
    now = uow.clock.now()
    if message.kind == APPOINTMENT_REMINDER:
        appointment = await uow.session.get(Appointment, _id(params, "appointment_id"))
        if appointment is None or appointment.status != "booked":
            return "the appointment is no longer booked"
        if appointment.starts_at.isoformat() != params.get("starts_at"):
            return "the appointment was moved"
        return "the appointment has started" if appointment.starts_at <= now else None
    if message.kind == RENEWAL_REMINDER:
        membership = await uow.session.get(Membership, _id(params, "membership_id"))
        start = date.fromisoformat(str(params.get("period_start")))
        if membership is None or (
            membership.cancelled_from is not None and membership.cancelled_from <= start
        ):
            return "the membership was cancelled"
        return "the period has started" if await _today(uow) >= start else None
    if message.kind in (UNPAID_REMINDER, "unpaid"):
        invoice = await uow.session.get(Invoice, _id(params, "invoice_id"))
        settled = invoice is None or invoice.status != "open"
        return "the invoice is settled" if settled else None
    if message.kind == PACKAGE_EXPIRY:
        return await _package_moot(uow, params)
    if message.kind == "no_show":
        return await _no_show_moot(uow, params)
    return None


async def _package_moot(uow: UnitOfWork, params: dict[str, object]) -> str | None:
    package = await uow.session.get(PatientPackage, _id(params, "package_id"))
    if package is None or package.refunded_at is not None:
        return "the package was refunded"
    if package.available <= 0:
        return "the package has no uses available"
    if package.expires_on is None or package.expires_on.isoformat() != params.get("expires_on"):
        return "the package's expiry changed"
    return "the package has expired" if await _today(uow) > package.expires_on else None


async def _no_show_moot(uow: UnitOfWork, params: dict[str, object]) -> str | None:
    no_show = await uow.session.get(NoShow, _id(params, "no_show_id"))
    appointment = await uow.session.get(Appointment, _id(params, "appointment_id"))
    if no_show is None or no_show.resolution is not None:
        return "the no-show was resolved"
    if appointment is None or appointment.status not in OPEN_NO_SHOW_STATUSES:
        return "the appointment was arrived or cancelled"
    return None


def _id(params: dict[str, object], name: str) -> int:
    value = params.get(name)
    return int(value) if isinstance(value, int | str) and str(value).isdecimal() else -1


async def confirm_appointment(
    uow: UnitOfWork, appointment_id: int, *, acting_patient_id: int
) -> Appointment:
    """The patient confirms an upcoming appointment (a reminder's ``C``)."""
    appointment = await uow.session.scalar(
        select(Appointment)
        .where(Appointment.id == appointment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if appointment is not None:
        await accounts.require_may_act(uow, acting_patient_id, appointment.patient_id)
    now = uow.clock.now()
    if appointment is None or appointment.status != "booked" or appointment.starts_at <= now:
        raise WrongState(f"appointment {appointment_id} is no longer booked; nothing to confirm")
    appointment.confirmed_at = now
    await uow.session.flush()
    return appointment
