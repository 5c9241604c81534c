"""Reading the clinic and its policy, and converting between UTC and the clinic's local time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.clinic_setup import clinic_setup
from bot.storage.attach import Columns, persistent
from bot.storage.models import Clinic
from bot.storage.uow import UnitOfWork

CLINIC_KEY = Clinic.__mapper__.identity_key_from_primary_key((1,))
_CLINIC_COLUMNS = Columns(Clinic)


async def get_clinic(uow: UnitOfWork) -> Clinic:
    """The clinic row in this unit of work; a clear error when no set-up file was loaded yet.

    Once per unit of work: from the shared copy of the set-up (:mod:`bot.services.clinic_setup`),
    so no row is read when that copy is current; then from the session. The copy's values are
    attached as the session's row (what ``merge(load=False)`` did, without its bookkeeping).
    """
    found = uow.session.sync_session.identity_map.get(CLINIC_KEY)
    if found is not None:
        return found  # type: ignore[no-any-return]
    shared = (await clinic_setup(uow)).clinic.__dict__
    clinic: Clinic = persistent(uow, _CLINIC_COLUMNS, [
        shared[name] for name in _CLINIC_COLUMNS.attributes])
    return clinic


def zone(clinic: Clinic) -> ZoneInfo:
    return ZoneInfo(clinic.timezone)


def local_today(clinic: Clinic, now: datetime) -> date:
    """Today's date at the clinic."""
    return now.astimezone(zone(clinic)).date()


def local_midnight_utc(clinic: Clinic, day: date) -> datetime:
    """The UTC moment the clinic's ``day`` starts."""
    return datetime.combine(day, time(0), tzinfo=zone(clinic)).astimezone(ZoneInfo("UTC"))


def in_quiet_hours(clinic: Clinic, moment: datetime) -> bool:
    """Whether ``moment`` falls inside the clinic's quiet hours (no proactive messages)."""
    if clinic.quiet_start is None or clinic.quiet_end is None:
        return False
    local = moment.astimezone(zone(clinic)).time()
    start, end = clinic.quiet_start, clinic.quiet_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def end_of_quiet_hours(clinic: Clinic, moment: datetime) -> datetime:
    """The first moment at or after ``moment`` outside quiet hours (UTC)."""
    if not in_quiet_hours(clinic, moment) or clinic.quiet_end is None:
        return moment
    tz = zone(clinic)
    local = moment.astimezone(tz)
    candidate = datetime.combine(local.date(), clinic.quiet_end, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), clinic.quiet_end, tzinfo=tz)
    return candidate.astimezone(ZoneInfo("UTC"))
