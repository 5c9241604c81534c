"""``clinicbot init [FILE]`` as a real process: it writes the commented example, which
``clinicbot load`` accepts, and never overwrites a file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE_FILE

ROOT = Path(__file__).resolve().parents[2]


def clinicbot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_init_writes_the_example_that_load_accepts(tmp_path):
    written = clinicbot(tmp_path, "init")
    assert written.returncode == 0, written.stderr
    made = tmp_path / "clinic.toml"
    assert made.read_bytes() == EXAMPLE_FILE.read_bytes()
    assert stat.S_IMODE(made.stat().st_mode) == 0o600, "it will hold patients' data"
    assert "clinicbot load clinic.toml" in written.stdout
    loaded = clinicbot(tmp_path, "load", "clinic.toml")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith("Loaded clinic.toml:")

    other = clinicbot(tmp_path, "init", "setup/../other.toml")
    assert other.returncode == 2 and "setup/../other.toml" in other.stderr  # no such directory
    assert clinicbot(tmp_path, "init", "other.toml").returncode == 0
    assert (tmp_path / "other.toml").read_bytes() == EXAMPLE_FILE.read_bytes()


def test_init_refuses_to_overwrite(tmp_path):
    mine = tmp_path / "clinic.toml"
    mine.write_text("# my clinic, edited for a week\n", encoding="utf-8")
    refused = clinicbot(tmp_path, "init")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "Error: clinic.toml already exists; nothing was written. Give another FILE, or move "
        "clinic.toml away first.")
    assert mine.read_text(encoding="utf-8") == "# my clinic, edited for a week\n"
    (tmp_path / "folder.toml").mkdir()
    assert clinicbot(tmp_path, "init", "folder.toml").returncode == 2


def test_load_help_and_a_file_missing_a_section_point_at_init(tmp_path):
    helped = clinicbot(tmp_path, "load", "--help")
    assert "clinicbot init" in helped.stdout
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    bad = clinicbot(tmp_path, "load", "empty.toml")
    assert bad.returncode == 2
    assert "'clinicbot init clinic.example.toml' writes a commented example" in bad.stderr
