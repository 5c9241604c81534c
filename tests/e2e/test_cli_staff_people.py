"""``clinicbot staff`` for people and memberships, and the staff group's help.

An online registration with a profile's phone is listed as a duplicate and merged into it:
what it owned moves to the kept profile, asked first, refused without a terminal or --yes
(RULES.md 18). A membership is enrolled with its started periods invoiced, enrolled twice is
refused, and cancelled from a date (13, 16). Every command has help with an example.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import build_cli
from bot.services import accounts
from bot.storage.db import create_engine
from bot.storage.uow import UnitOfWork
from tests.e2e.test_cli_staff_support import (
    Clinicbot,
    clinic_today,
    example_desk,
    next_workday,
    number,
    query,
)


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def register_online(url: str, phone: str = "+14165550101") -> int:
    """Maya registers again (from her own phone unless ``phone``), as a new chat would."""

    async def register() -> int:
        engine = create_engine(url)
        try:
            async with UnitOfWork(engine) as uow:
                patient = await accounts.register_online(
                    uow, first_name="Maya", last_name="Chen", birth_date=date(1988, 4, 2),
                    phone=phone,
                )
                await uow.commit()
                return patient.id
        finally:
            await engine.dispose()

    return asyncio.run(register())


def test_a_registration_like_a_profile_is_listed_and_merged(desk: Clinicbot) -> None:
    registration = register_online(desk.url)
    booked = desk.ok(
        "staff", "book", str(registration), "--practitioner", "ana", "--location", "downtown",
        "--fee", "physio-follow", "--at", f"{next_workday()} 10:00",
    )
    appointment = number(r"Booked appointment (\d+)", booked)
    listed = desk.ok("staff", "duplicates")
    row = next(line for line in listed.splitlines() if line.startswith(f"{registration:>12}"))
    assert "Maya Chen" in row and "1 (Maya Chen)" in row

    unasked = desk.refused("staff", "merge", "maya", str(registration))
    assert f"Merge: patient {registration} Maya Chen" in unasked.stdout
    assert "Would move to patient 1: appointments: 1" in unasked.stdout
    assert "--yes" in unasked.stderr
    merged = desk.ok("staff", "merge", "maya", str(registration), "--yes")
    assert f"Merged patient {registration} into patient 1: moved appointments: 1" in merged
    assert query(desk.url, "SELECT patient_id FROM appointment WHERE id = :id", id=appointment) == [
        (1,)
    ]
    assert "(none)" in desk.ok("staff", "duplicates")
    again = desk.refused("staff", "merge", "maya", str(registration), "--yes")
    assert f"patient {registration} was already merged into patient 1" in again.stderr
    itself = desk.refused("staff", "merge", "maya", "1", "--yes")
    assert "cannot be merged into itself" in itself.stderr


def test_a_membership_is_enrolled_invoiced_and_cancelled(desk: Clinicbot) -> None:
    today = clinic_today()
    enrolled = desk.ok("staff", "enrol", "maya", "wellness-monthly", "--start", str(today))
    membership = number(r"membership (\d+), 49\.00 CAD monthly", enrolled)
    assert f"49.00 CAD due {today}" in enrolled
    twice = desk.refused("staff", "enrol", "maya", "wellness-monthly", "--start", str(today))
    assert "already has Wellness membership (monthly)" in twice.stderr

    early = desk.refused("staff", "cancel-membership", str(membership), "--from", "2020-01-01")
    assert "cannot be cancelled before it starts" in early.stderr
    unknown = desk.refused("staff", "cancel-membership", "999", "--from", str(today))
    assert "there is no membership 999" in unknown.stderr
    cancelled = desk.ok("staff", "cancel-membership", str(membership), "--from", str(today))
    assert f"Membership {membership} is cancelled from {today}" in cancelled
    assert "Voided unpaid invoices:" in cancelled
    status = query(desk.url, "SELECT status FROM invoice WHERE membership_id = :id", id=membership)
    assert status == [("void",)]
    shown = desk.ok("staff", "memberships", "maya")
    row = next(line for line in shown.splitlines() if line.startswith(f"{membership:>10}"))
    assert "cancelled" in row


def test_every_staff_command_has_help_with_an_example(tmp_path: Path) -> None:
    listing = Clinicbot("sqlite:///unused.db", tmp_path).ok("staff", "--help")
    names = [
        "sell", "packages", "package", "expiry", "transfer", "refund", "statement", "receipts",
        "receipt", "invoices", "pay",
        "memberships", "enrol", "cancel-membership", "credit", "pay-back", "slots", "book",
        "appointments", "cancel", "reschedule", "add-package", "remove-package", "arrive",
        "undo-arrival", "closed", "time-off", "no-show", "no-shows", "resolve", "undo",
        "duplicates", "merge", "keep-separate", "erase", "revoke-chat", "add-guardian",
        "remove-guardian",
        "invite", "invitations", "invite-resend", "invite-revoke",
        "password", "messages", "reply", "handled", "series", "cancel-series", "waitlist",
        "export",
    ]
    listed = [line.split()[0] for line in listing.split("Commands:")[1].splitlines() if line]
    assert listed == names and "--as STAFF_KEY" in listing
    runner = CliRunner()
    for name in names:
        result = runner.invoke(build_cli(), ["staff", name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        example = result.output.split("Example")[1]
        assert re.search(rf"clinicbot staff {re.escape(name)}(\s|$)", example), name
