"""Insurance-friendly packages from the command line (issue 18, item 2): the set-up file marks
the template, the desk sells it and marks visits arrived, and ``clinicbot staff receipts``,
``receipt`` (text and PDF, read back with pypdf) and ``statement`` show a receipt per session."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.clock import FixedClock
from bot.services import appointments
from bot.storage.db import create_engine
from bot.storage.models import Fee, Location, Patient, Practitioner
from bot.storage.uow import UnitOfWork
from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_statement import pdf_text
from tests.e2e.test_cli_staff_support import (
    ANA_DOWNTOWN_DAYS,
    Clinicbot,
    clinic_today,
    local,
    number,
)

INSURER = "online_purchase = false        # sold at the desk only"


def insured_clinic(folder: Path) -> Path:
    """The example file with its insurer template marked insurance-friendly."""
    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    path = folder / "clinic.toml"
    path.write_text(text.replace(INSURER, f"{INSURER}\ninsurance_friendly = true", 1),
                    encoding="utf-8")
    return path


def past_visits(url: str, package_id: int, hours: list[int]) -> list[int]:
    """Maya's physio follow-ups with Ana on her last downtown day, covered by the package."""
    day = clinic_today() - timedelta(days=1)
    while day.weekday() not in ANA_DOWNTOWN_DAYS:
        day -= timedelta(days=1)

    async def book() -> list[int]:
        engine = create_engine(url)
        try:
            async with UnitOfWork(engine, FixedClock(local(day, 7))) as uow:
                s = uow.session
                maya = await s.scalar(select(Patient).where(Patient.key == "maya"))
                ana = await s.scalar(select(Practitioner).where(Practitioner.key == "ana"))
                downtown = await s.scalar(select(Location).where(Location.key == "downtown"))
                fee = await s.scalar(select(Fee).where(Fee.key == "physio-follow"))
                assert maya and ana and downtown and fee
                ids = [(await appointments.book(
                    uow, patient_id=maya.id, practitioner_id=ana.id, location_id=downtown.id,
                    fee_id=fee.id, starts_at=local(day, hour), package_id=package_id,
                    booked_by="staff")).id for hour in hours]
                await uow.commit()
                return ids
        finally:
            await engine.dispose()

    return asyncio.run(book())


def test_each_arrival_gets_a_receipt_the_desk_can_print(database_url: str,
                                                        tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)  # SQLite and PostgreSQL
    desk.ok("load", str(insured_clinic(tmp_path)))
    sold = desk.ok("staff", "sell", "maya", "insurer-physio-6", "--by", "desk")
    package = number(r"package (\d+), 6 uses", sold)
    invoice = number(r"Invoice (\d+): 540\.00 CAD due", sold)
    desk.ok("staff", "pay", str(invoice), "540", "--method", "card")
    for appointment in past_visits(desk.url, package, [9, 10]):
        desk.ok("staff", "arrive", str(appointment))

    shown = desk.ok("staff", "package", str(package))
    assert f"insurance-friendly, one per redeemed session (clinicbot staff receipts {package})" \
        in shown
    listed = desk.ok("staff", "receipts", str(package))
    assert f"Receipts of package {package}: Insurer-friendly physio 6" in listed
    assert listed.count("90.00 CAD") == 4 and "Ana Silva" in listed  # value and total
    assert "Total of live receipts: 180.00 CAD" in listed
    receipt = number(r"^\s*(\d+)\s", listed.splitlines()[3])

    text = desk.ok("staff", "receipt", str(receipt))
    assert "Session receipt" in text and "Maya Chen" in text and "$90.00" in text
    assert "Physio follow-up" in text or "physio" in text.lower()
    out = tmp_path / "receipt.pdf"
    said = desk.ok("staff", "receipt", str(receipt), "--pdf", str(out))
    assert f"Receipt {receipt} written to {out}." in said
    read = pdf_text(out)
    for part in ("Session receipt", "Maya Chen", "Ana Silva", "$90.00", "Session value"):
        assert part in read, (part, read)

    unasked = desk.refused("staff", "refund", str(package))  # shown, not done
    assert "Suggested refund: 360.00 CAD (collected and not yet receipted" in unasked.stdout
    refunded = desk.ok("staff", "refund", str(package), "--amount", "300")
    assert "300.00" in refunded
    listed = desk.ok("staff", "receipts", str(package))
    assert "adjustment" in listed and "60.00 CAD" in listed
    assert "Total of live receipts: 240.00 CAD" in listed  # 540 collected - 300 refunded

    statement = desk.ok("staff", "statement", str(package))
    assert "Receipts for insurance claims" in statement and "Refund adjustment" in statement
    assert "$240.00" in statement.split("Receipts for insurance claims")[1]
    statement_pdf = tmp_path / "statement.pdf"
    desk.ok("staff", "statement", str(package), "--pdf", str(statement_pdf))
    assert "Receipts for insurance claims" in pdf_text(statement_pdf)


def test_receipts_of_a_plain_package_or_an_unknown_receipt_are_refused(
        database_url: str, tmp_path: Path) -> None:
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(insured_clinic(tmp_path)))
    sold = desk.ok("staff", "sell", "maya", "physio-5", "--by", "desk")
    package = number(r"package (\d+), 5 uses", sold)
    plain = desk.refused("staff", "receipts", str(package))
    assert "is not insurance-friendly" in plain.stderr
    unknown = desk.refused("staff", "receipt", "99999")
    assert "there is no receipt 99999" in unknown.stderr
