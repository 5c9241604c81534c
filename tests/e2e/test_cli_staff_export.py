"""``clinicbot staff export PATIENT --out FILE`` run as the front desk runs it (issue 21): the
JSON and its readable copy beside it, owner-only, audited; an existing file, an unknown patient
or a missing directory refused with one clear line, exit 2, nothing written or recorded."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.e2e.test_cli_staff_support import Clinicbot, example_desk


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def test_the_desk_exports_a_patient_to_a_file_and_its_readable_copy(
        desk: Clinicbot, tmp_path: Path) -> None:
    out = tmp_path / "maya.json"
    said = desk.ok("staff", "--as", "desk", "export", "+14165550101", "--out", str(out))
    copy = tmp_path / "maya.html"
    assert said.strip() == (f"Exported patient 1 (Maya Chen) to {out} (readable copy: {copy}).")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["format"] == "clinicbot-patient-export/1" and doc["patient"]["key"] == "maya"
    assert doc["wards"] == [{"id": 2, "name": "Leo Chen", "linked_by": "file"}]
    assert "Data held about Maya Chen" in copy.read_text(encoding="utf-8")
    for path in (out, copy):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".db") == [
        "maya.html", "maya.json"]  # no temporary file left behind
    audit = desk.ok("report", "audit", "--action", "patient.export")
    assert "export of patient 1 without wards' data" in audit and "Maya" not in audit

    before = out.read_bytes()
    exists = desk.refused("staff", "export", "maya", "--out", str(out))
    assert "exists already" in exists.stderr and "--force" in exists.stderr
    assert out.read_bytes() == before
    desk.ok("staff", "export", "maya", "--out", str(out), "--include-wards", "--force")
    assert json.loads(out.read_text(encoding="utf-8"))["ward_exports"][0]["patient"]["key"] == "leo"
    unknown = desk.refused("staff", "export", "nobody", "--out", str(tmp_path / "x.json"))
    assert "no patient matches 'nobody'" in unknown.stderr
    nowhere = desk.refused("staff", "export", "maya", "--out", str(tmp_path / "no" / "x.json"))
    assert "does not exist" in nowhere.stderr
