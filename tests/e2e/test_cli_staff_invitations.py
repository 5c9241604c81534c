"""``clinicbot staff invite`` and friends (issue 18, item 3), real processes on the example clinic.

``invite`` prints the code (Telegram off here: it says so, no link) and records the invitation
by hash only; ``clinicbot chat`` from a phone the clinic does not know registers and accepts it;
``invitations`` lists it as accepted by that patient; a resend of an accepted one and a revoke of
an unknown one are refused (exit 2, nothing written); ``invite-resend`` rotates the code and
``--sms`` queues the SMS; ``invite-revoke`` kills the code; each staff action is audited without
the code. With Telegram configured the link names the bot ``getMe`` reports (the Bot API
stand-in); Telegram not answering prints the code alone and says why.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.telegram_standin import TOKEN, TelegramStandin
from tests.e2e.test_cli_staff_support import Clinicbot, example_desk, query, snapshot
from tests.e2e.twilio_standin import LiveServer

INVITEE = "+14165550177"


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def chat(desk: Clinicbot, phone: str, stdin: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--phone", phone], cwd=desk.cwd, env=desk.env,
        input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def code_of(out: str) -> str:
    found = re.search(r"Code: ([0-9A-Z]{8}) ", out)
    assert found, out
    return found.group(1)


def test_an_invitation_is_printed_accepted_in_chat_and_listed(desk: Clinicbot) -> None:
    out = desk.ok("staff", "invite", "leo")
    assert "Invitation 1 to manage patient 2 (Leo Chen)." in out
    assert "Telegram is off (no TELEGRAM_BOT_TOKEN)" in out
    code = code_of(out)
    [(stored,)] = query(desk.url, "SELECT code_hash FROM invitation")
    assert code not in stored and len(stored) == 64
    said = chat(desk, INVITEE, f"{code.lower()}\nAda\nLovelace\n1990-01-02\n1\n")
    assert "First we need to know who you are" in said
    assert "You can now book and view for Leo." in said
    listed = desk.ok("staff", "invitations", "leo")
    assert "Invitation 1: accepted by patient 4 (Ada Lovelace)" in listed
    links = "SELECT guardian_id, ward_id FROM guardianship ORDER BY guardian_id"
    assert query(desk.url, links) == [(1, 2), (4, 2)]
    # The same code again: used up, and nothing changes.
    assert "ya se usó" in chat(desk, "+14165550102", f"{code}\n")  # Sofía reads Spanish
    before = snapshot(desk.url)
    refused = desk.refused("staff", "invite-resend", "1")
    assert "invitation 1 was accepted" in refused.stderr
    assert "no invitation 99" in desk.refused("staff", "invite-revoke", "99").stderr
    assert snapshot(desk.url) == before
    actions = query(desk.url, "SELECT action, patient_id, summary FROM audit_entry")
    assert [(a, p) for a, p, _ in actions] == [("invitation.create", 2)]
    assert all(code not in summary for _, _, summary in actions)


def test_resend_rotates_the_code_and_revoke_kills_it(desk: Clinicbot) -> None:
    first = code_of(desk.ok("staff", "invite", "leo", "--days", "3"))
    out = desk.ok("staff", "--as", "ana", "invite-resend", "1", "--sms", "(416) 555-0177")
    assert "Invitation 1 has a new code; the old one no longer works." in out
    assert "queued to go by SMS" in out
    second = code_of(out)
    assert second != first
    queued = query(desk.url, "SELECT kind, purpose, patient_id FROM outbox")
    assert queued == [("invitation", "invitation:1:round:2", None)]
    assert "no es válido" in chat(desk, "+14165550102", f"{first}\n")
    assert "+14165550177" in query(desk.url, "SELECT sms_phone FROM invitation")[0]
    assert "is revoked" in desk.ok("staff", "invite-revoke", "1")
    assert "La clínica retiró esa invitación." in chat(desk, "+14165550102", f"{second}\n")
    assert "revoked" in desk.ok("staff", "invitations", "2")
    assert query(desk.url, "SELECT params FROM outbox")[0][0] in (
        {"invitation_id": 1}, '{"invitation_id": 1}')
    actions = query(desk.url, "SELECT staff, action FROM audit_entry ORDER BY id")
    assert actions == [("desk", "invitation.create"), ("ana", "invitation.resend"),
                       ("desk", "invitation.revoke")]
    assert "not a phone number" in desk.refused(
        "staff", "invite", "leo", "--sms", "call me").stderr


async def _invite_with_telegram(desk: Clinicbot, api: str) -> tuple[int, str, str]:
    """``clinicbot staff invite leo`` with Telegram configured (the Bot API at ``api``), run
    without blocking the loop that serves the stand-in."""
    env = {**desk.env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api + "/bot"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "staff", "invite", "leo", cwd=desk.cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_telegram_link_names_the_bot_telegram_knows(desk: Clinicbot) -> None:
    async with LiveServer(TelegramStandin().app) as api:
        code, out, err = await _invite_with_telegram(desk, api.url)
    assert code == 0, err
    assert f"Telegram link: https://t.me/clinic_test_bot?start={code_of(out)}" in out
    # Telegram not answering: the code alone, and why.
    code, out, err = await _invite_with_telegram(desk, "http://127.0.0.1:9")
    assert code == 0, err
    assert "Telegram did not answer, so there is no link now" in out and code_of(out)
    assert TOKEN not in out + err
