"""``clinicbot staff arrive`` / ``undo-arrival`` (RULES.md 3; issue 14 items 17-18), through the
real command on SQLite and PostgreSQL.

An appointment days ahead cannot be marked arrived (the refusal says from when, in clinic time,
and changes nothing); a mistaken arrival is undone back to exactly the rows before it, and an
undo is refused when there is nothing to undo or the visit was paid. Refusals that quote a
time show the clinic's wall-clock time, never UTC ISO (``2026-12-05T13:00:00+00:00``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage.db import create_engine
from bot.storage.models import NoShow
from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_support import (
    TORONTO,
    Clinicbot,
    example_desk,
    next_workday,
    number,
    past_appointment,
    query,
    snapshot,
)

ANA = ("--practitioner", "ana", "--location", "downtown", "--fee", "physio-follow")
UTC_ISO = "+00:00"


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def test_an_arrival_is_refused_ahead_and_undone_exactly(database_url: str, tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)  # SQLite and PostgreSQL
    desk.ok("load", str(EXAMPLE_FILE))
    day = next_workday(2)
    ahead = number(r"Booked appointment (\d+)",
                   desk.ok("staff", "book", "maya", *ANA, "--at", f"{day} 10:00"))
    early = desk.refused("staff", "arrive", str(ahead))  # exit 2, nothing changed
    assert (
        f"Error: appointment {ahead} starts {day} 10:00; it can be marked arrived from "
        f"{day} 09:45 (15 minutes before it starts)"
    ) in early.stderr
    assert UTC_ISO not in early.stderr

    visit = past_appointment(database_url)  # started yesterday; a paid Physio 5-pack covers it
    before = snapshot(database_url)
    arrived = desk.ok("staff", "arrive", str(visit.appointment_id))
    assert f"Redeemed a use of package {visit.package_id} (Physio 5-pack): 1 redeemed" in arrived
    undone = desk.ok("staff", "undo-arrival", str(visit.appointment_id))
    assert f"Appointment {visit.appointment_id} is booked again, its arrival undone" in undone
    assert (
        f"The use went back to package {visit.package_id} (Physio 5-pack): 0 redeemed, "
        "1 booked, 4 available."
    ) in undone
    after = snapshot(database_url)
    # every row as it was before the arrival, but for the audit log, which keeps both actions
    earlier = {row[0] for row in before.pop("audit_entry")}
    logged = [row for row in after.pop("audit_entry") if row[0] not in earlier]
    assert sorted(row[4] for row in logged) == [  # (id, at, staff, face, action, ...)
        "appointment.arrive", "appointment.undo_arrival"]
    assert after == before
    again = desk.refused("staff", "undo-arrival", str(visit.appointment_id))
    assert "is booked; there is no arrival to undo" in again.stderr
    assert "there is no appointment 9999" in desk.refused("staff", "undo-arrival", "9999").stderr

    plain = past_appointment(database_url, hour=11, with_package=False)
    billed = desk.ok("staff", "arrive", str(plain.appointment_id))
    invoice = number(r"Invoice (\d+): 90\.00 CAD \(Physiotherapy follow-up\)", billed)
    undone = desk.ok("staff", "undo-arrival", str(plain.appointment_id))
    assert f"Invoice {invoice}: 90.00 CAD (Physiotherapy follow-up): void." in undone
    assert query(database_url, "SELECT status FROM invoice WHERE id = :id", id=invoice) == [
        ("void",)
    ]
    rebilled = desk.ok("staff", "arrive", str(plain.appointment_id))
    second = number(r"Invoice (\d+): 90\.00 CAD", rebilled)
    desk.ok("staff", "pay", str(second), "90.00")
    paid = desk.refused("staff", "undo-arrival", str(plain.appointment_id))
    assert f"invoice {second} already has 90.00 paid; refund it at the desk first" in paid.stderr


def test_refusals_quote_times_in_clinic_time(desk: Clinicbot) -> None:
    day = next_workday()
    booked = desk.ok("staff", "book", "maya", *ANA, "--at", f"{day} 09:00", "--no-package")
    ahead = number(r"Booked appointment (\d+)", booked)
    early = desk.refused("staff", "no-show", str(ahead))
    assert f"has not started yet; it can be marked no-show from {day} 09:00" in early.stderr
    taken = desk.refused("staff", "book", "leo", *ANA, "--at", f"{day} 09:15")
    assert f"Ana Silva is already booked at {day} 09:15" in taken.stderr

    visit = past_appointment(desk.url)
    no_show = number(r"no-show (\d+)\.", desk.ok("staff", "no-show", str(visit.appointment_id)))
    desk.ok("staff", "resolve", str(no_show), "redeem")
    twice = desk.refused("staff", "resolve", str(no_show), "fee", "--fee", "missed")
    resolved_at = _resolved_at(desk.url, no_show).astimezone(TORONTO)
    assert (
        f"no-show {no_show} was already resolved by redeeming a package use by desk at "
        f"{resolved_at:%Y-%m-%d %H:%M}"
    ) in twice.stderr
    for refusal in (early, taken, twice):
        assert UTC_ISO not in refusal.stderr


def _resolved_at(url: str, no_show_id: int) -> datetime:
    async def read() -> datetime:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                moment = await conn.scalar(
                    select(NoShow.resolved_at).where(NoShow.id == no_show_id)
                )
        finally:
            await engine.dispose()
        assert isinstance(moment, datetime)
        return moment

    moment = asyncio.run(read())
    assert abs(moment - datetime.now(UTC)) < timedelta(minutes=5)
    return moment
