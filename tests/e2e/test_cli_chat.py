"""``clinicbot demo`` and ``clinicbot chat`` as a newcomer runs them: real processes, piped in."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FILE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clinicbot(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}",
           "PYTHONPATH": str(ROOT)}
    env.pop("CLINICBOT_TEST_POSTGRES_URL", None)

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, input=stdin,
            capture_output=True, text=True, timeout=120,
        )

    return run


def test_the_demo_loads_a_clinic_and_chats_as_the_demo_patient(clinicbot):
    done = clinicbot("demo", stdin="2\n1\nMENU\n")
    assert done.returncode == 0, done.stderr
    assert "you are chatting as Maya Chen" in done.stdout
    assert "1) Book an appointment" in done.stdout
    assert "Who is this for?" in done.stdout and "2) Leo Chen" in done.stdout
    assert "something went wrong" not in done.stdout
    again = clinicbot("demo", stdin="")
    assert again.returncode == 0 and "Hi Maya!" in again.stdout


def test_the_demo_leaves_another_clinic_alone(clinicbot):
    assert clinicbot("load", str(EXAMPLE_FILE)).returncode == 0
    done = clinicbot("demo")
    assert done.returncode == 2
    assert "already holds the clinic 'Harbour Physio & Wellness'" in done.stderr
    assert "DATABASE_URL" in done.stderr


def test_chat_runs_the_sms_dialogs_for_a_phone(clinicbot):
    assert clinicbot("load", str(EXAMPLE_FILE)).returncode == 0
    done = clinicbot("chat", "--phone", "416 555 0101", stdin="talk\nIs parking free?\n")
    assert done.returncode == 0, done.stderr
    assert "Hi Maya!" in done.stdout and "> Is parking free?" in done.stdout
    assert "passed to the clinic" in done.stdout
    stranger = clinicbot("chat", "--phone", "+14165550177", stdin="Ada\n")
    assert "first name" in stranger.stdout and "last name" in stranger.stdout


def test_chat_refuses_a_bad_phone_and_a_missing_clinic(clinicbot):
    done = clinicbot("chat", "--phone", "+1416")
    assert done.returncode == 2 and "no clinic is set up" in done.stderr
    assert clinicbot("load", str(EXAMPLE_FILE)).returncode == 0
    done = clinicbot("chat", "--phone", "not a phone")
    assert done.returncode == 2 and "phone" in done.stderr and "Traceback" not in done.stderr


def test_chat_days_later_starts_from_the_menu_not_the_old_step(clinicbot, tmp_path):
    assert clinicbot("load", str(EXAMPLE_FILE)).returncode == 0
    first = clinicbot("chat", "--phone", "416 555 0101", stdin="talk\n")
    assert "Type your message" in first.stdout
    with sqlite3.connect(tmp_path / "clinic.db") as db:  # the chat was left two days ago
        db.execute("UPDATE conversation SET updated_at = datetime('now', '-2 days')")
    later = clinicbot("chat", "--phone", "416 555 0101", stdin="Is parking free?\n")
    assert later.returncode == 0, later.stderr
    assert "It has been a while, so let's start again." in later.stdout
    assert "Hi Maya!" in later.stdout and "passed to the clinic" not in later.stdout
    assert "Please type a message" not in later.stdout, "the old step is not resumed"
    soon = clinicbot("chat", "--phone", "416 555 0101", stdin="talk\nIs parking free?\n")
    assert "passed to the clinic" in soon.stdout and "It has been a while" not in soon.stdout
