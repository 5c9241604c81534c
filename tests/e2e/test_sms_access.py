"""Access that the set-up file changes, seen by SMS through the real server (issue 14, 6 and 7).

The example clinic runs under uvicorn (SQLite file, and PostgreSQL when
CLINICBOT_TEST_POSTGRES_URL is set); the clinic edits its set-up file and runs the real
``clinicbot load`` in a subprocess on the same database, as a clinic would while serving:

* Maya's phone changed in the file: her old number (recycled to a stranger) gets registration,
  not her invoices; the new number opens her file.
* Leo's ``guardians = ["maya"]`` line deleted, or Leo's block deleted: ``load`` says it revoked
  Maya's access, and Maya's texts no longer offer Leo.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FILE
from tests.dialogs.conftest import MAYA
from tests.e2e.sms_harness import SmsPatient, Twilio, sms_server
from tests.e2e.test_cli_staff_support import Clinicbot

EXAMPLE = EXAMPLE_FILE.read_text(encoding="utf-8")
NEW_PHONE = "+14165550155"
LEO_BLOCK = '''[[patients]]
key = "leo"
first_name = "Leo"
last_name = "Chen"
birth_date = "2015-06-11"
guardians = ["maya"]               # these patients' accounts may act for Leo
'''
LEO_PURCHASE = '''[[purchases]]
patient = "leo"
template = "massage-10"
purchased_on = "2026-09-15"
paid = "330.00"                    # first of three installments paid
'''


@pytest.fixture
async def twilio(clinic: None, database_url: str, clock) -> AsyncIterator[Twilio]:
    async with sms_server(database_url, clock) as player:
        yield player


def edited(*pairs: tuple[str, str]) -> str:
    text = EXAMPLE
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


async def load(database_url: str, tmp_path: Path, text: str) -> str:
    """Run ``clinicbot load`` on the edited file in a subprocess; its output."""
    path = tmp_path / "clinic.toml"
    path.write_text(text, encoding="utf-8")
    return await asyncio.to_thread(Clinicbot(database_url, tmp_path).ok, "load", str(path))


async def test_a_new_phone_in_the_file_takes_the_old_numbers_access(
    twilio, database_url, tmp_path
):
    old = SmsPatient(twilio, MAYA)
    assert "Hi Maya!" in await old.say("hi")
    await old.choose("Memberships and invoices")

    out = await load(database_url, tmp_path,
                     edited(('phone = "+14165550101"', f'phone = "{NEW_PHONE}"')))
    assert "patients: 1 updated" in out

    reply = await old.say("1")  # the old number, now someone else's
    assert "first name" in reply and "Maya" not in reply and "$" not in reply
    reply = await old.say("MENU")
    assert "first name" in reply and "Book an appointment" not in reply
    new = SmsPatient(twilio, NEW_PHONE)
    assert "Hi Maya!" in await new.say("hi")


@pytest.mark.parametrize("removal", ["guardians line", "ward's block"])
async def test_removing_a_guardian_from_the_file_revokes_it(
    twilio, database_url, tmp_path, removal
):
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    assert "Who is this for?" in await maya.choose("Book an appointment")
    assert any("Leo" in label for label in maya.labels)

    if removal == "guardians line":
        text = edited(('guardians = ["maya"]               # these patients\' accounts may act '
                       'for Leo\n', ""))
    else:
        text = edited((LEO_BLOCK, ""), (LEO_PURCHASE, ""))
    out = await load(database_url, tmp_path, text)
    assert "nothing changed" not in out
    assert "revoked: 'maya' no longer manages 'leo'" in out

    reply = await maya.say("MENU")
    reply = await maya.choose("Book an appointment")
    assert "Leo" not in reply and "Who is this for?" not in reply
    again = await load(database_url, tmp_path, text)
    assert "nothing changed" in again
