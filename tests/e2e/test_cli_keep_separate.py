"""``clinicbot staff keep-separate A B [--undo]``: an online registration that looks like Maya
but is someone else leaves ``staff duplicates``; --undo brings it back; refusals change nothing;
the audit log names the CLI and the staff member (--as). On SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_people import register_online
from tests.e2e.test_cli_staff_support import Clinicbot, query


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Clinicbot:
    """``clinicbot`` on the test database with the example clinic loaded (Maya is patient 1)."""
    clinicbot = Clinicbot(database_url, tmp_path)
    clinicbot.ok("load", str(EXAMPLE_FILE))
    assert query(database_url, "SELECT id FROM patient WHERE key = 'maya'") == [(1,)]
    return clinicbot


def test_a_look_alike_kept_separate_leaves_the_duplicates_and_undo_brings_it_back(
        desk: Clinicbot) -> None:
    registration = register_online(desk.url, phone="+14165550177")
    listed = desk.ok("staff", "duplicates")
    assert "1 (Maya Chen)" in listed and "clinicbot staff keep-separate A B" in listed
    done = desk.ok("staff", "--as", "desk", "keep-separate", str(registration), "maya")
    assert f"Kept patients {registration} and 1 separate" in done
    assert "(none)" in desk.ok("staff", "duplicates")
    assert query(desk.url, "SELECT low_id, high_id, kept_by FROM kept_apart") == [
        (1, registration, "desk")]
    again = desk.ok("staff", "keep-separate", "maya", str(registration))
    assert f"Kept patients 1 and {registration} separate" in again
    assert len(query(desk.url, "SELECT id FROM kept_apart")) == 1
    undone = desk.ok("staff", "--as", "desk", "keep-separate", "maya", str(registration),
                     "--undo")
    assert f"Patients 1 and {registration} are no longer kept separate." in undone
    assert "1 (Maya Chen)" in desk.ok("staff", "duplicates")
    nothing = desk.ok("staff", "keep-separate", "maya", str(registration), "--undo")
    assert "nothing to undo" in nothing
    assert query(desk.url, "SELECT staff, face, action FROM audit_entry ORDER BY id") == [
        ("desk", "cli", "patient.keep_separate"), ("desk", "cli", "patient.keep_separate_undo")]


def test_keeping_a_patient_apart_from_itself_or_nobody_is_refused(desk: Clinicbot) -> None:
    itself = desk.refused("staff", "keep-separate", "maya", "1")
    assert "choose two different patients" in itself.stderr
    nobody = desk.refused("staff", "keep-separate", "maya", "99999")
    assert "no patient 99999" in nobody.stderr
