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
* :func:`expire_waitlist_offers` -- ``waitlist_offers.expire_offers``: offers past their
  hold close and their times go to the next waiting patients (issue 19).
* ``deposit_release.release_unpaid`` -- appointments whose deposit is unpaid after the clinic's
  ``deposit_hold_minutes`` are released, the patient told once (``deposit:{id}:released``).
* housekeeping: ``inbound.forget_old`` forgets, by the real clock whatever the sweep's moment,
  the answers to inbound messages after two days and their ids by age (SMS after
  ``[retention]`` ``inbound_ids_days``, 400 by default; Telegram after a week; the count
  reported is of answers and ids forgotten); ``retention.prune_expired`` blanks message texts
  and deletes audit entries past the set-up file's ``[retention]`` (issue 21).

The membership and unpaid sweeps read only the rows whose cursor has come
(``membership_schedule.next_invoice_on`` and ``renewal_remind_on``,
``invoice_reminder.remind_on``; only ever early, never late) a chunk at a time, each chunk committed
(:func:`bot.services.sweeping.walk`), and move each cursor on: a pass with nothing due reads
nothing. A patient who cannot be reached when a reminder is due is not reminded of that
renewal or stage later.

Patient messages carry ids only and go to :func:`recipient_for` (the patient, or the guardian
who manages them when the patient has no phone or Telegram); nothing is queued for a patient who
opted out. At send time :func:`why_not_send` re-checks that a message still matters (invoice
paid, appointment cancelled or moved, package used up...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from sqlalchemy import select

from bot.services import (
    accounts,
    deposit_release,
    inbound,
    memberships,
    noshows,
    retention,
    waitlist_match,
    waitlist_offers,
)
from bot.services.clinic import get_clinic, local_today
from bot.services.due_reminders import RENEWAL_REMINDER as RENEWAL_REMINDER
from bot.services.due_reminders import UNPAID_REMINDER as UNPAID_REMINDER
from bot.services.due_reminders import renewal_reminders as renewal_reminders
from bot.services.due_reminders import unpaid_reminders as unpaid_reminders
from bot.services.errors import WrongState
from bot.services.payment_links import NO_SHOW_FEE
from bot.services.recipients import Wanted, clinic_today, enqueue_for_patients
from bot.services.recipients import recipient_for as recipient_for
from bot.storage.models import (
    Appointment,
    Invoice,
    Membership,
    NoShow,
    OutboxMessage,
    PatientPackage,
)
from bot.storage.models.billing import REMINDED_KINDS
from bot.storage.uow import UnitOfWork

APPOINTMENT_REMINDER = "appointment_reminder"
PACKAGE_EXPIRY = "package_expiry"
REMINDED_INVOICE_KINDS = REMINDED_KINDS
OPEN_NO_SHOW_STATUSES = ("booked", "no_show")


# -- the sweeps -------------------------------------------------------------------------------


async def invoice_memberships(uow: UnitOfWork) -> int:
    """Invoice every membership period begun by today (clinic time); how many were created."""
    return await memberships.invoice_due_periods(uow, await clinic_today(uow))


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
    return await enqueue_for_patients(uow, wanted)


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
    return await enqueue_for_patients(uow, wanted)


async def raise_no_shows(uow: UnitOfWork) -> int:
    """Raise appointments not marked arrived ``no_show_grace_minutes`` after their end."""
    return await noshows.raise_overdue(uow, uow.clock.now())


async def expire_waitlist_offers(uow: UnitOfWork) -> int:
    """Offers past their hold close; their times go to the next waiting patients."""
    return await waitlist_offers.expire_offers(uow)


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
    "waitlist offers": expire_waitlist_offers,
    "expired records pruned": retention.prune_expired,
    "unpaid deposits released": deposit_release.release_unpaid,
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
        return "the period has started" if await clinic_today(uow) >= start else None
    if message.kind in (UNPAID_REMINDER, "unpaid", NO_SHOW_FEE):
        invoice = await uow.session.get(Invoice, _id(params, "invoice_id"))
        settled = invoice is None or invoice.status != "open"
        return "the invoice is settled" if settled else None
    if message.kind == PACKAGE_EXPIRY:
        return await _package_moot(uow, params)
    if message.kind == "no_show":
        return await _no_show_moot(uow, params)
    if message.kind == waitlist_offers.OFFER:
        return await waitlist_match.why_not_send(uow, params)
    return None


async def _package_moot(uow: UnitOfWork, params: dict[str, object]) -> str | None:
    package = await uow.session.get(PatientPackage, _id(params, "package_id"))
    if package is None or package.refunded_at is not None:
        return "the package was refunded"
    if package.available <= 0:
        return "the package has no uses available"
    if package.expires_on is None or package.expires_on.isoformat() != params.get("expires_on"):
        return "the package's expiry changed"
    return "the package has expired" if await clinic_today(uow) > package.expires_on else None


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
