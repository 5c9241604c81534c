"""``clinicbot staff waitlist ...`` (issue 19), real ``clinicbot`` processes on the real clock.

Maya waits for Ana's follow-ups; the desk cancels Sofía's booking, so the time is offered to
Maya (an outbox row); ``list`` shows the entry and the offer; ``remove`` takes her off and the
offer is withdrawn; refusals exit 2 with one line and change nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli_staff_support import Clinicbot, example_desk, next_workday, number, query

ANA = ("--practitioner", "ana", "--location", "downtown", "--fee", "physio-follow")


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def test_the_desk_adds_lists_and_removes_and_a_cancellation_is_offered(desk: Clinicbot) -> None:
    day = next_workday(3)
    booked = desk.ok("staff", "book", "sofia", *ANA, "--at", f"{day} 10:00", "--no-package")
    appointment = number(r"Booked appointment (\d+)", booked)
    added = desk.ok("staff", "waitlist", "add", "maya", "--fee", "physio-follow",
                    "--practitioner", "ana", "--part", "morning")
    entry = number(r"Waitlist entry (\d+) for patient 1 \(Maya Chen\)", added)
    desk.ok("staff", "cancel", str(appointment))
    assert query(desk.url, "SELECT patient_id, kind FROM outbox WHERE kind = 'waitlist_offer'"
                 ) == [(1, "waitlist_offer")]
    listed = desk.ok("staff", "waitlist", "list")
    assert "Maya Chen" in listed and "Physiotherapy follow-up" in listed and "morning" in listed
    assert f"{day} 10:00" in listed.split("Offers out:")[1]

    assert f"Removed waitlist entry {entry}." in desk.ok("staff", "waitlist", "remove", str(entry))
    assert query(desk.url, "SELECT status FROM waitlist_offer") == [("withdrawn",)]
    assert desk.ok("staff", "waitlist", "list").count("(none)") == 2
    refused = desk.refused("staff", "waitlist", "remove", str(entry))
    assert "no longer waiting" in refused.stderr
    refused = desk.refused("staff", "waitlist", "add", "maya", "--fee", "massage-60",
                           "--practitioner", "ana")
    assert "does not offer" in refused.stderr
    counted = desk.ok("staff", "waitlist", "refilled", "--from", str(day), "--to", str(day))
    assert f"Times refilled from the waitlist, {day} to {day}: 0" in counted
