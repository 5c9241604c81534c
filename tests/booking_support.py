"""Helpers for the booking tests, and the booker process of the multi-process races.

As a script (``python -m tests.booking_support``) it is one competitor in a race between OS
processes: it reads a JSON job from its first argument (database URL, the clock's moment, and
the keyword arguments of ``appointments.book``), opens its own engine, says ``ready`` on stdout,
waits for ``go`` on stdin (so every process starts booking at once), books in its own unit of
work, commits, and prints one JSON line: ``{"booked": id}`` or ``{"refused": code}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import FixedClock
from bot.services import appointments
from bot.services.errors import DomainError
from bot.storage.db import create_engine
from bot.storage.models import (
    Fee,
    Location,
    PackageTemplate,
    Patient,
    PatientPackage,
    Practitioner,
)
from bot.storage.uow import UnitOfWork

TORONTO = ZoneInfo("America/Toronto")


def at(day: date | str, hour: int, minute: int = 0) -> datetime:
    """The UTC moment of ``hour:minute`` on ``day`` in the example clinic's time."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return datetime.combine(day, time(hour, minute), tzinfo=TORONTO).astimezone(UTC)


def wall(moment: datetime) -> str:
    """A UTC moment as the example clinic's local ``YYYY-MM-DD HH:MM``."""
    return moment.astimezone(TORONTO).strftime("%Y-%m-%d %H:%M")


@dataclass
class Ids:
    """Ids of the example clinic's rows, by their set-up keys."""

    ana: int
    ben: int
    downtown: int
    east: int
    physio_initial: int
    physio_follow: int
    massage: int
    maya: int
    leo: int
    sofia: int
    maya_pack: int
    leo_pack: int


async def load_ids(uow: UnitOfWork) -> Ids:
    async def key_id(model: Any, key: str) -> int:
        found = await uow.session.scalar(select(model.id).where(model.key == key))
        assert found is not None, f"{model.__name__} {key!r} is not loaded"
        return int(found)

    async def pack(patient: int, template: str) -> int:
        found = await uow.session.scalar(
            select(PatientPackage.id)
            .join(PackageTemplate, PackageTemplate.id == PatientPackage.template_id)
            .where(PatientPackage.patient_id == patient, PackageTemplate.key == template)
            .order_by(PatientPackage.id)
        )
        assert found is not None
        return int(found)

    maya, leo = await key_id(Patient, "maya"), await key_id(Patient, "leo")
    return Ids(
        ana=await key_id(Practitioner, "ana"),
        ben=await key_id(Practitioner, "ben"),
        downtown=await key_id(Location, "downtown"),
        east=await key_id(Location, "east"),
        physio_initial=await key_id(Fee, "physio-initial"),
        physio_follow=await key_id(Fee, "physio-follow"),
        massage=await key_id(Fee, "massage-60"),
        maya=maya,
        leo=leo,
        sofia=await key_id(Patient, "sofia"),
        maya_pack=await pack(maya, "physio-5"),
        leo_pack=await pack(leo, "massage-10"),
    )


def job(url: str, now: datetime, **booking: Any) -> str:
    """The JSON job a booker process takes (``starts_at`` as ISO text)."""
    booking["starts_at"] = booking["starts_at"].isoformat()
    return json.dumps({"url": url, "now": now.isoformat(), "booking": booking})


async def _compete(raw: str) -> dict[str, Any]:
    spec = json.loads(raw)
    booking = dict(spec["booking"])
    booking["starts_at"] = datetime.fromisoformat(booking["starts_at"])
    engine = create_engine(spec["url"])
    try:
        clock = FixedClock(datetime.fromisoformat(spec["now"]))
        async with engine.connect():  # connect (and import everything) before the start
            pass
        print("ready", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if line.strip() != "go":
            return {"refused": "no_start_signal"}
        async with UnitOfWork(engine, clock) as uow:
            try:
                appointment = await appointments.book(uow, **booking)
            except DomainError as exc:
                return {"refused": exc.code}
            await uow.commit()
            return {"booked": appointment.id}
    finally:
        await engine.dispose()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_compete(sys.argv[1]))), flush=True)
