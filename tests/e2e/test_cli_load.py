"""``clinicbot load`` as a clinic runs it: a real process on a SQLite file.

A good file loads (exit 0, a summary) and loads again without change; a bad file prints the
file, line, section and key on stderr, exits 2 and writes nothing.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FILE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = EXAMPLE_FILE.read_text(encoding="utf-8")


@pytest.fixture
def clinicbot(tmp_path: Path):
    database = tmp_path / "clinic.db"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "PYTHONPATH": str(ROOT),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    run.database = database  # type: ignore[attr-defined]
    return run


def rows(database: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table but Alembic's, to compare a database before and after."""
    with sqlite3.connect(database) as conn:
        names = [
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name != "alembic_version" and not name.startswith("sqlite_")
        ]
        return {name: sorted(conn.execute(f'SELECT * FROM "{name}"'), key=repr) for name in names}


def bad_file(tmp_path: Path) -> tuple[Path, int]:
    text = EXAMPLE.replace('price = "110.00"', 'price = "110.001"', 1)
    line = text[: text.index('"110.001"')].count("\n") + 1
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path, line


def test_a_good_file_loads_and_loads_again_without_change(clinicbot):
    first = clinicbot("load", str(EXAMPLE_FILE))
    assert first.returncode == 0, first.stderr
    assert "purchases: 2 created" in first.stdout
    loaded = rows(clinicbot.database)
    assert len(loaded["patient"]) == 3 and len(loaded["patient_package"]) == 2
    assert len(loaded["working_hours"]) == 9

    again = clinicbot("load", str(EXAMPLE_FILE))
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout
    assert rows(clinicbot.database) == loaded


def test_a_bad_file_exits_2_with_its_line_and_writes_nothing(clinicbot, tmp_path):
    assert clinicbot("db", "upgrade").returncode == 0
    path, line = bad_file(tmp_path)
    result = clinicbot("load", str(path))
    assert result.returncode == 2
    assert (
        f'{path}:{line}: [[fees]] "massage-60": key "price": "110.001" has 3 decimals'
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert all(not table_rows for table_rows in rows(clinicbot.database).values())


def test_a_bad_edit_leaves_the_loaded_clinic_as_it_was(clinicbot, tmp_path):
    assert clinicbot("load", str(EXAMPLE_FILE)).returncode == 0
    before = rows(clinicbot.database)
    path, _ = bad_file(tmp_path)
    assert clinicbot("load", str(path)).returncode == 2
    assert rows(clinicbot.database) == before


def test_a_missing_file_is_a_clear_error(clinicbot, tmp_path):
    result = clinicbot("load", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "nope.toml: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_dry_run_checks_and_reports_but_writes_nothing(clinicbot):
    assert clinicbot("db", "upgrade").returncode == 0
    result = clinicbot("load", "--dry-run", str(EXAMPLE_FILE))
    assert result.returncode == 0, result.stderr
    assert "nothing was written" in result.stdout and "fees: 3 created" in result.stdout
    assert all(not table_rows for table_rows in rows(clinicbot.database).values())


def test_help_describes_the_command(clinicbot):
    listing = clinicbot("--help")
    assert "load" in listing.stdout
    result = clinicbot("load", "--help")
    assert result.returncode == 0
    assert "FILE.toml" in result.stdout and "--dry-run" in result.stdout
    assert "exit status is 2" in result.stdout
