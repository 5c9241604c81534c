"""``clinicbot staff`` and ``clinicbot load`` for who may act (issue 14, items 7 and 9).

Real ``clinicbot`` processes on a copy of the example clinic:

* ``revoke-chat`` takes a staff chat off (and says when the set-up file would give it back);
  ``add-guardian`` / ``remove-guardian`` link and unlink a family member; refusals exit 2 and
  change nothing. ``load --dry-run`` of a file without a staff member says what it would revoke
  and writes nothing.
* ``merge`` of a look-alike registration shows the evidence and takes the stranger's phone off
  unless ``--link-channel`` confirms it: ``clinicbot chat`` from that phone then registers
  anew, or opens the file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_people import register_online
from tests.e2e.test_cli_staff_support import Clinicbot, example_desk, query, snapshot

STRANGER = "+14165550177"


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def chat(desk: Clinicbot, phone: str, stdin: str) -> str:
    """``clinicbot chat --phone PHONE`` with ``stdin`` typed; what the bot said."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--phone", phone], cwd=desk.cwd, env=desk.env,
        input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_revoke_chat_takes_a_staff_chat_off(desk: Clinicbot) -> None:
    out = desk.ok("staff", "revoke-chat", "desk")
    assert "Telegram chat -1001234567890 is no longer the staff chat of 'desk'" in out
    assert "remove its telegram_chat_id there too" in out
    assert query(desk.url, "SELECT telegram_chat_id FROM staff WHERE key = 'desk'") == [(None,)]
    assert "has no Telegram chat; nothing was changed" in desk.ok("staff", "revoke-chat", "ana")
    assert "no staff member 'nobody'" in desk.refused("staff", "revoke-chat", "nobody").stderr


def test_guardians_are_added_and_removed_at_the_desk(desk: Clinicbot) -> None:
    added = desk.ok("staff", "add-guardian", "sofia", "leo")
    assert "patient 3 (Sofía Ramírez) now manages patient 2 (Leo Chen)." in added
    assert "already manages" in desk.refused("staff", "add-guardian", "sofia", "leo").stderr
    assert "own guardian" in desk.refused("staff", "add-guardian", "leo", "leo").stderr
    # A desk link survives a reload of the file that does not list it.
    assert "nothing changed" in desk.ok("load", str(EXAMPLE_FILE))
    links = "SELECT guardian_id, ward_id, source FROM guardianship ORDER BY guardian_id"
    assert query(desk.url, links) == [(1, 2, "file"), (3, 2, "desk")]

    removed = desk.ok("staff", "remove-guardian", "sofia", "leo")
    assert "no longer manages" in removed and "set-up file" not in removed
    from_file = desk.ok("staff", "remove-guardian", "maya", "leo")
    assert "The set-up file lists this guardian" in from_file
    assert query(desk.url, links) == []
    assert "does not manage" in desk.refused("staff", "remove-guardian", "maya", "leo").stderr


def test_a_dry_run_load_says_what_it_would_revoke(desk: Clinicbot, tmp_path: Path) -> None:
    desk.ok("staff", "add-guardian", "sofia", "leo")
    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    trimmed = text.replace('telegram_chat_id = -1001234567890  # a group chat: negative id\n', "")
    trimmed = trimmed.replace("guardians = [\"maya\"]", "guardians = []")
    path = tmp_path / "trimmed.toml"
    path.write_text(trimmed, encoding="utf-8")
    before = snapshot(desk.url)
    out = desk.ok("load", str(path), "--dry-run")
    assert "nothing was written" in out
    assert "revoked: staff 'desk': Telegram chat -1001234567890 is no longer a staff chat" in out
    assert "revoked: 'maya' no longer manages 'leo'" in out and "'sofia'" not in out
    assert snapshot(desk.url) == before


def test_merge_takes_a_look_alikes_phone_off_unless_confirmed(desk: Clinicbot) -> None:
    stranger = register_online(desk.url, phone=STRANGER)
    asked = desk.refused("staff", "merge", "maya", str(stranger))
    assert (f"Evidence: patient {stranger} registered online" in asked.stdout
            and "from phone +1 ••••••0177; it matches patient 1 by name and birth date."
            in asked.stdout)
    assert "will be taken off" in asked.stdout and "--link-channel" in asked.stdout
    assert STRANGER not in asked.stdout.split("Evidence")[1]

    merged = desk.ok("staff", "merge", "maya", str(stranger), "--yes")
    assert "Taken off (not linked): +1 ••••••0177." in merged
    assert "first name" in chat(desk, STRANGER, "hi\n")
    assert "Hi Maya!" in chat(desk, "+14165550101", "hi\n")

    verified = register_online(desk.url, phone="+14165550178")
    linked = desk.ok("staff", "merge", "maya", str(verified), "--link-channel", "--yes")
    assert "Taken off" not in linked
    assert "Hi Maya!" in chat(desk, "+14165550178", "hi\n")
