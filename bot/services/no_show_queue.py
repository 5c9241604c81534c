"""No-shows as the desk decides them: the open ones, and the ones decided lately (to undo).

:func:`no_show_cases` reads both with one query each (patient, fee, package and chosen no-show
fee joined in), bounded, for the staff console's ``/desk/no-shows``; the decisions themselves
are :func:`bot.services.noshows.resolve` and :func:`bot.services.noshows.undo`, given the
``version`` shown so that two staff deciding at once get one outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select

from bot.services.noshows import OPEN_APPOINTMENT_STATUSES
from bot.storage.models import Appointment, Fee, NoShow, NoShowFee, Patient, PatientPackage
from bot.storage.uow import UnitOfWork

CASE_LIMIT = 100
DECIDED_DAYS = 7


@dataclass(frozen=True)
class NoShowCase:
    """A no-show with what the desk needs to decide it (or undo the decision)."""

    no_show_id: int
    version: int
    appointment_id: int
    starts_at: datetime
    patient_id: int
    patient_name: str
    fee_name: str
    package_id: int | None
    package_name: str | None
    reason: str
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    no_show_fee_name: str | None


@dataclass(frozen=True)
class NoShowCases:
    """Open no-shows (oldest first) and those decided in the last :data:`DECIDED_DAYS` days
    (latest first)."""

    open: list[NoShowCase]
    decided: list[NoShowCase]


def _cases() -> Select[tuple[NoShow, Appointment, str, str, str, str, str]]:
    # The package and no-show fee names are None when the outer joins find no row.
    return (
        select(NoShow, Appointment, Patient.first_name, Patient.last_name, Fee.name,
               PatientPackage.name, NoShowFee.name)
        .join(Appointment, Appointment.id == NoShow.appointment_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Fee, Fee.id == Appointment.fee_id)
        .outerjoin(PatientPackage, PatientPackage.id == Appointment.package_id)
        .outerjoin(NoShowFee, NoShowFee.id == NoShow.no_show_fee_id)
    )


async def no_show_cases(uow: UnitOfWork, *, limit: int = CASE_LIMIT) -> NoShowCases:
    """The no-shows to decide and the recent decisions, each list at most ``limit`` long."""
    since = uow.clock.now() - timedelta(days=DECIDED_DAYS)
    open_rows = await uow.session.execute(
        _cases().where(NoShow.resolution.is_(None),
                       Appointment.status.in_(OPEN_APPOINTMENT_STATUSES))
        .order_by(NoShow.raised_at, NoShow.id).limit(limit))
    decided_rows = await uow.session.execute(
        _cases().where(NoShow.resolution.is_not(None), NoShow.resolved_at >= since)
        .order_by(NoShow.resolved_at.desc(), NoShow.id.desc()).limit(limit))
    return NoShowCases([_case(*row) for row in open_rows], [_case(*row) for row in decided_rows])


def _case(no_show: NoShow, appointment: Appointment, first: str, last: str, fee: str,
          package: str | None, no_show_fee: str | None) -> NoShowCase:
    """One row of :func:`_cases`, as a plain value (the page renders it after the query)."""
    return NoShowCase(
        no_show.id, no_show.version, appointment.id, appointment.starts_at,
        appointment.patient_id, f"{first} {last}", fee, appointment.package_id, package,
        no_show.reason, no_show.resolution, no_show.resolved_by, no_show.resolved_at,
        no_show_fee)


async def no_show_fees(uow: UnitOfWork) -> list[NoShowFee]:
    """The clinic's no-show fees, in the set-up file's order."""
    return list((await uow.session.scalars(select(NoShowFee).order_by(NoShowFee.id))).all())
