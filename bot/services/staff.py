"""Staff in chat: registering a staff member's Telegram chat, and what /today and /noshows list.

A chat becomes a staff chat when the set-up file gives its id or when someone who knows the
clinic's staff code picks which staff member they are (:func:`register_chat`). Only a
registered chat may act on staff buttons (:func:`staff_for_chat`). RULES.md 8 (no-shows).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.services.clinic import get_clinic, local_today
from bot.services.errors import NotFound
from bot.storage.models import Appointment, Staff
from bot.storage.uow import UnitOfWork


async def all_staff(uow: UnitOfWork) -> list[Staff]:
    """Every current staff member of the clinic (not those the set-up file dropped), in
    set-up order."""
    return list((await uow.session.scalars(
        select(Staff).where(Staff.active.is_(True)).order_by(Staff.id))).all())


async def staff_for_chat(uow: UnitOfWork, chat_id: int) -> Staff | None:
    """The current staff member whose registered Telegram chat is ``chat_id`` (None: not a
    staff chat)."""
    found: Staff | None = await uow.session.scalar(
        select(Staff)
        .where(Staff.telegram_chat_id == chat_id, Staff.active.is_(True))
        .order_by(Staff.id).limit(1)
    )
    return found


async def register_chat(uow: UnitOfWork, staff_id: int, chat_id: int) -> Staff:
    """Make ``chat_id`` the Telegram chat of staff member ``staff_id``."""
    member = await uow.session.get(Staff, staff_id, with_for_update=True)
    if member is None or not member.active:
        raise NotFound(f"there is no staff member {staff_id}")
    member.telegram_chat_id = chat_id
    member.chat_from_file = False
    await uow.session.flush()
    return member


async def appointments_today(uow: UnitOfWork) -> list[Appointment]:
    """Today's appointments (clinic time) that are not cancelled, by start time."""
    clinic = await get_clinic(uow)
    zone = ZoneInfo(clinic.timezone)
    today = local_today(clinic, uow.clock.now())
    start = datetime.combine(today, time.min, zone)
    end = datetime.combine(today + timedelta(days=1), time.min, zone)
    stmt = (
        select(Appointment)
        .where(
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
            Appointment.status != "cancelled",
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    return list((await uow.session.scalars(stmt)).all())
