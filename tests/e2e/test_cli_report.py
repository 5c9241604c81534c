"""``clinicbot report`` as the clinic runs it (RULES.md 12, 15, 22): tables with a totals row,
CSV with one header line, ISO dates and plain decimals; bad dates and a range that ends before
it starts exit 2 with a clear message.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.services import appointments, waitlist, waitlist_offers
from bot.services.waitlist import Wish
from bot.storage.db import create_engine
from bot.storage.models import WaitlistOffer
from bot.storage.uow import UnitOfWork
from tests.booking_support import load_ids
from tests.e2e.test_cli_staff_support import (
    Clinicbot,
    clinic_today,
    example_desk,
    local,
    next_workday,
    past_appointment,
    query,
)


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_sales_usage_and_unpaid_as_tables_and_csv(desk: Clinicbot) -> None:
    visit = past_appointment(desk.url)  # a Physio 5-pack sold that day covers it
    desk.ok("staff", "arrive", str(visit.appointment_id))
    today = clinic_today()
    span = ("--from", "2026-09-01", "--to", today.isoformat())

    sales = parse(desk.ok("report", "package-sales", *span, "--format", "csv"))
    assert [(row["sold_on"], row["package"], row["price"], row["collected"]) for row in sales] == [
        ("2026-09-15", "Massage 10-pack", "990.00", "330.00"),
        ("2026-10-01", "Physio 5-pack", "400.00", "400.00"),
        (visit.day.isoformat(), "Physio 5-pack", "400.00", "400.00"),
    ]
    assert {row["sold_by"] for row in sales} == {"unassigned"}
    table = desk.ok("report", "package-sales", *span).splitlines()
    assert table[0] == f"Package sales 2026-09-01 to {today}:"
    assert table[-1].split() == ["total", "1790.00", "1130.00", "660.00", "0.00"]

    day = ("--from", visit.day.isoformat(), "--to", visit.day.isoformat())
    usage = parse(desk.ok("report", "package-usage", *day, "--format", "csv"))
    assert usage == [{
        "month": visit.day.strftime("%Y-%m"), "package": "Physio 5-pack",
        "practitioner": "Ana Silva", "sold_by": "unassigned", "credited_at_redemption": "true",
        "at_sessions": "1", "at_no_shows": "0", "uses": "1",
    }, {
        "month": "", "package": "times_refilled_from_waitlist", "practitioner": "",
        "sold_by": "", "credited_at_redemption": "", "at_sessions": "", "at_no_shows": "",
        "uses": "0",
    }]
    usage_table = desk.ok("report", "package-usage", *day)
    assert "Uses redeemed:" in usage_table and "By practitioner:" in usage_table
    assert "Package no-shows:" in usage_table

    unpaid = parse(desk.ok("report", "unpaid", "--format", "csv"))
    owed = query(
        desk.url,
        "SELECT id, amount - paid FROM invoice WHERE status = 'open' AND due_on <= :today "
        "ORDER BY due_on, id",
        today=today.isoformat(),
    )
    assert [(int(r["invoice_id"]), Decimal(r["outstanding"]) * 100) for r in unpaid] == owed
    assert all(len(r["due_on"]) == 10 and r["due_on"] <= today.isoformat() for r in unpaid)
    last = desk.ok("report", "unpaid").splitlines()[-1].split()
    assert last == ["total", f"{sum(cents for _, cents in owed) / 100:.2f}"]


def test_bad_ranges_are_refused(desk: Clinicbot) -> None:
    backwards = desk.refused(
        "report", "package-sales", "--from", "2026-12-01", "--to", "2026-11-01"
    )
    assert "the report starts (2026-12-01) after it ends (2026-11-01)" in backwards.stderr
    impossible = desk.refused("report", "unpaid", "--to", "2026-02-30")
    assert "Invalid value for '--to': give a date like 2026-11-10" in impossible.stderr
    fmt = desk.refused("report", "package-usage", "--format", "xml")
    assert "'xml' is not one of 'table', 'csv'" in fmt.stderr


def refill(url: str, day: date) -> None:
    """Sofía's 10:00 on ``day`` is cancelled; Maya, waiting, accepts it (now, in this process)."""

    async def work() -> None:
        engine = create_engine(url)
        try:
            async with UnitOfWork(engine, FixedClock(datetime.now(UTC))) as uow:
                ids = await load_ids(uow)
                freed = await appointments.book(
                    uow, patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
                    fee_id=ids.physio_follow, starts_at=local(day, 10), booked_by="staff")
                await waitlist.join(uow, ids.maya, Wish(ids.physio_follow, ids.ana))
                await appointments.cancel(uow, freed.id, by="staff")
                offer = await uow.session.scalar(select(WaitlistOffer.id))
                assert offer is not None
                await waitlist_offers.accept(uow, offer)
                await uow.commit()
        finally:
            await engine.dispose()

    asyncio.run(work())


def test_package_usage_counts_the_times_refilled_from_the_waitlist(desk: Clinicbot) -> None:
    day = next_workday(2)
    span = ("--from", day.isoformat(), "--to", day.isoformat())
    assert desk.ok("report", "package-usage", *span).splitlines()[-1] == (
        "Times refilled from the waitlist: 0 (freed times booked by waiting patients)")
    refill(desk.url, day)
    assert desk.ok("report", "package-usage", *span).splitlines()[-1] == (
        "Times refilled from the waitlist: 1 (freed times booked by waiting patients)")
    csv_lines = desk.ok("report", "package-usage", *span, "--format", "csv").splitlines()
    assert csv_lines[-1] == ",times_refilled_from_waitlist,,,,,,1"
