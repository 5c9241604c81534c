"""No-shows (RULES.md 8): raising them to staff, resolving them, and undoing a resolution.

A no-show is raised when staff mark an appointment no-show (:func:`mark_no_show`, reason
``marked``) or when the sweep finds it still ``booked`` ``no_show_grace_minutes`` after it ended
(:func:`raise_overdue`, reason ``not_arrived``; the appointment stays booked so staff can still
record the arrival). One :class:`NoShow` row exists per appointment (unique key), so a sweep that
runs twice, or on two servers at once, raises it once; each raise queues one staff alert.

Staff resolve it once (:func:`resolve`): ``redeem`` a package use (billed like an arrival), or
``fee``: keep the use (it returns to the package) and charge one of the clinic's no-show fees.
The fee invoice carries the package's id so :func:`undo` can put the use back on the same
package; the patient is told of the fee through the outbox (``no_show_fee``, with a link to pay
it when payment links are on; skipped once the invoice is paid or voided). Resolving makes the
appointment ``no_show``; :func:`undo` restores exactly what was there before: the counters, the
invoices (voided) and the appointment's status (``booked`` again for a ``not_arrived`` no-show).
The NoShow row is locked and versioned, so two staff pressing at once get one outcome; the
other is told who resolved it and how.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Literal, cast

from sqlalchemy import Table, exists, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.services import audit, billing, outbox, packages
from bot.services.clinic import get_clinic, local_today, zone
from bot.services.errors import (
    InvalidInput,
    NotFound,
    PackageNotUsable,
    WrongState,
)
from bot.services.lookup import find_no_show_fee
from bot.services.payment_links import NO_SHOW_FEE
from bot.storage.models import Appointment, NoShow, NoShowFee
from bot.storage.uow import UnitOfWork

Choice = Literal["redeem", "fee"]
OPEN_APPOINTMENT_STATUSES = ("booked", "no_show")


async def get_no_show(uow: UnitOfWork, no_show_id: int, *, lock: bool = False) -> NoShow:
    """A no-show by id; ``lock`` takes its row lock and re-reads it (for resolving)."""
    stmt = select(NoShow).where(NoShow.id == no_show_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    no_show = await uow.session.scalar(stmt)
    if no_show is None:
        raise NotFound(f"there is no no-show {no_show_id}")
    return no_show


async def open_no_shows(uow: UnitOfWork) -> list[NoShow]:
    """No-shows waiting for a staff decision, oldest first.

    A raised no-show whose appointment was since marked arrived or cancelled is not open.
    """
    stmt = (
        select(NoShow)
        .join(Appointment, Appointment.id == NoShow.appointment_id)
        .where(NoShow.resolution.is_(None), Appointment.status.in_(OPEN_APPOINTMENT_STATUSES))
        .order_by(NoShow.raised_at, NoShow.id)
    )
    return list((await uow.session.scalars(stmt)).all())


async def mark_no_show(
    uow: UnitOfWork, appointment_id: int, *, by: str, actor: audit.Actor | None = None
) -> NoShow:
    """Mark a booked appointment no-show and raise it to staff (``by``: who marked it).

    Only a booked appointment that has started can be marked. If the sweep already raised it,
    that no-show becomes a ``marked`` one (no second alert).
    """
    appointment = await packages.lock_appointment(uow, appointment_id)
    seen = await audit.watch(uow, actor, appointment_id=appointment_id)
    if appointment.status != "booked":
        raise WrongState(
            f"appointment {appointment.id} is {appointment.status.replace('_', '-')}; only a "
            "booked appointment can be marked no-show"
        )
    now = uow.clock.now()
    if now < appointment.starts_at:
        raise WrongState(
            f"appointment {appointment.id} has not started yet; it can be marked no-show from "
            "{starts}", zone=zone(await get_clinic(uow)), starts=appointment.starts_at,
        )
    appointment.status = "no_show"
    existing = await uow.session.scalar(
        select(NoShow).where(NoShow.appointment_id == appointment.id)
    )
    if existing is not None:
        existing.reason = "marked"
        await uow.session.flush()
        await seen.record("no_show.mark", summary=f"appointment {appointment_id} marked no-show")
        return existing
    no_show = await _raise(uow, appointment, "marked", now)
    assert no_show is not None  # the appointment row is locked: nobody raised it meanwhile
    await seen.record("no_show.mark", summary=f"appointment {appointment_id} marked no-show")
    return no_show


async def raise_overdue(uow: UnitOfWork, now: datetime) -> int:
    """Raise every appointment still booked ``no_show_grace_minutes`` after its end; return how
    many were raised by this call. Idempotent: an appointment is raised once, ever."""
    clinic = await get_clinic(uow)
    cutoff = now - timedelta(minutes=clinic.no_show_grace_minutes)
    already = exists().where(NoShow.appointment_id == Appointment.id)
    overdue = (
        await uow.session.scalars(
            select(Appointment)
            .where(Appointment.status == "booked", Appointment.ends_at <= cutoff, ~already)
            .order_by(Appointment.id)
        )
    ).all()
    raised = 0
    for appointment in overdue:
        if await _raise(uow, appointment, "not_arrived", now) is not None:
            raised += 1
        # Let others run between appointments: on SQLite the statements run on the event
        # loop's thread and never yield, and a day's overdue ones held it for 100 ms.
        await asyncio.sleep(0)
    return raised


async def resolve(
    uow: UnitOfWork,
    no_show_id: int,
    choice: Choice,
    *,
    no_show_fee_key: str | None = None,
    by: str,
    expected_version: int | None = None,
    actor: audit.Actor | None = None,
) -> NoShow:
    """Resolve a no-show: ``redeem`` its package use, or charge the no-show fee ``fee``.

    ``expected_version`` is the version the staff member saw; if the no-show changed since
    (someone else resolved or undid it), nothing is done and WrongState says what happened.
    """
    if choice not in ("redeem", "fee"):
        raise InvalidInput(f"choose 'redeem' or 'fee', not {choice!r}")
    no_show = await get_no_show(uow, no_show_id, lock=True)
    seen = await audit.watch(uow, actor, appointment_id=no_show.appointment_id)
    if no_show.resolution is not None:
        raise WrongState(
            f"no-show {no_show.id} was already {await _describe(uow, no_show)}",
            zone=zone(await get_clinic(uow)), **_when_resolved(no_show),
        )
    _check_version(no_show, expected_version)
    appointment = await packages.lock_appointment(uow, no_show.appointment_id)
    if appointment.status not in OPEN_APPOINTMENT_STATUSES:
        raise WrongState(
            f"appointment {appointment.id} is {appointment.status}; there is no no-show to resolve"
        )
    if choice == "redeem":
        if appointment.package_id is None:
            raise PackageNotUsable(
                f"appointment {appointment.id} has no package to redeem; charge a no-show fee "
                "instead"
            )
        await packages.redeem_use(uow, appointment, kind="no_show")
        no_show.resolution = "redeemed"
    else:
        if no_show_fee_key is None:
            raise InvalidInput("choose which no-show fee to charge")
        fee = await find_no_show_fee(uow, no_show_fee_key)
        package_id = appointment.package_id
        await packages.release_use(uow, appointment)
        clinic = await get_clinic(uow)
        invoice = await billing.create_invoice(
            uow,
            patient_id=appointment.patient_id,
            kind="no_show",
            description=fee.name,
            amount=fee.price,
            issued_on=local_today(clinic, uow.clock.now()),
            appointment_id=appointment.id,
            package_id=package_id,
        )
        no_show.resolution = "fee"
        no_show.no_show_fee_id = fee.id
        no_show.invoice_id = invoice.id
        await outbox.enqueue(  # the patient hears of it (with a link to pay, when links are on)
            uow, purpose=f"invoice:{invoice.id}:no_show_fee", kind=NO_SHOW_FEE,
            params={"invoice_id": invoice.id}, patient_id=appointment.patient_id,
        )
    appointment.status = "no_show"
    no_show.resolved_by = by
    no_show.resolved_at = uow.clock.now()
    no_show.version += 1
    await uow.session.flush()
    await seen.record(
        "no_show.resolve",
        invoice_id=no_show.invoice_id,
        summary=f"no-show {no_show.id} resolved: {choice}",
    )
    return no_show


async def undo(
    uow: UnitOfWork, no_show_id: int, *, by: str, expected_version: int | None = None,
    actor: audit.Actor | None = None,
) -> NoShow:
    """Undo a resolution, restoring exactly the state before it (``by``: who undid it).

    Redeemed: the use is reserved again and its session invoice voided. Fee: the fee invoice is
    voided (refused if anything was paid on it) and the use reserved again on the same package
    (refused if that package can no longer cover the appointment). A refusal changes nothing.
    """
    no_show = await get_no_show(uow, no_show_id, lock=True)
    seen = await audit.watch(
        uow, actor, appointment_id=no_show.appointment_id, invoice_id=no_show.invoice_id,
    )
    if no_show.resolution is None:
        raise WrongState(f"no-show {no_show.id} is not resolved; there is nothing to undo")
    _check_version(no_show, expected_version)
    appointment = await packages.lock_appointment(uow, no_show.appointment_id)
    if no_show.resolution == "redeemed":
        await packages.restore_use(uow, appointment, "this redemption")
    else:
        await _undo_fee(uow, no_show, appointment)
    appointment.status = "booked" if no_show.reason == "not_arrived" else "no_show"
    no_show.resolution = None
    no_show.no_show_fee_id = None
    no_show.invoice_id = None
    no_show.resolved_by = None
    no_show.resolved_at = None
    no_show.version += 1
    await uow.session.flush()
    await seen.record("no_show.undo", summary=f"no-show {no_show.id} resolution undone")
    return no_show


async def _undo_fee(uow: UnitOfWork, no_show: NoShow, appointment: Appointment) -> None:
    if no_show.invoice_id is None:
        raise WrongState(f"no-show {no_show.id} has no fee invoice to void")
    invoice = await billing.lock_invoice(uow, no_show.invoice_id)
    if invoice.paid > billing.ZERO:
        raise WrongState(
            f"{invoice.paid} was already paid on the no-show fee (invoice {invoice.id}); "
            "refund it at the desk before undoing"
        )
    if invoice.package_id is not None:
        if appointment.package_id is not None:
            raise WrongState(
                f"appointment {appointment.id} is covered by another package now; remove it "
                "before undoing the fee"
            )
        package = await packages.get_package(uow, invoice.package_id, lock=True)
        try:
            await packages.reserve_use(uow, package, appointment)
        except PackageNotUsable as exc:
            raise WrongState(
                f"the use cannot go back on {package.name}: {exc.template}; nothing was changed",
                zone=exc.zone, **exc.moments,
            ) from exc
    await billing.void_invoice(uow, invoice)


def _check_version(no_show: NoShow, expected_version: int | None) -> None:
    if expected_version is not None and no_show.version != expected_version:
        raise WrongState(
            f"no-show {no_show.id} changed since you looked at it; look at it again and choose"
        )


def _when_resolved(no_show: NoShow) -> dict[str, datetime]:
    """The moment :func:`_describe` names as ``{resolved_at}``, if one was recorded."""
    return {"resolved_at": no_show.resolved_at} if no_show.resolved_at else {}


async def _describe(uow: UnitOfWork, no_show: NoShow) -> str:
    """How and by whom a no-show was resolved, for the staff member who pressed second (a
    message template: the time is ``{resolved_at}``, see :func:`_when_resolved`)."""
    when = "{resolved_at}" if no_show.resolved_at else "earlier"
    who = no_show.resolved_by or "someone"
    if no_show.resolution == "redeemed":
        how = "resolved by redeeming a package use"
    else:
        fee = (
            await uow.session.get(NoShowFee, no_show.no_show_fee_id)
            if no_show.no_show_fee_id is not None
            else None
        )
        how = f"resolved by charging {fee.name if fee else 'a no-show fee'}"
    return f"{how} by {who} at {when}"


async def _raise(
    uow: UnitOfWork, appointment: Appointment, reason: str, now: datetime
) -> NoShow | None:
    """Insert the appointment's no-show unless it exists and alert staff; None if it existed."""
    table = cast(Table, NoShow.__table__)
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    row = (
        await uow.session.execute(
            insert(table)
            .values(appointment_id=appointment.id, raised_at=now, reason=reason, version=0)
            .on_conflict_do_nothing(index_elements=["appointment_id"])
            .returning(table.c.id)
        )
    ).first()
    if row is None:
        return None
    no_show = await get_no_show(uow, row[0])
    await outbox.alert_staff(
        uow,
        alert="no_show",
        purpose=f"noshow:{no_show.id}",
        params={
            "no_show_id": no_show.id,
            "appointment_id": appointment.id,
            "patient_id": appointment.patient_id,
            "package_id": appointment.package_id,
            "reason": reason,
        },
    )
    return no_show

