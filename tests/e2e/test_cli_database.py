"""A database the CLI cannot use gets one clear line, never a traceback or a password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clinicbot(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_sqlite_file_in_a_missing_directory_is_explained(tmp_path: Path) -> None:
    done = clinicbot(f"sqlite:///{tmp_path}/no-such-dir/clinic.db", tmp_path, "db", "upgrade")
    assert done.returncode == 2
    assert done.stderr.startswith("Error: cannot use the database sqlite:///")
    assert "unable to open database file" in done.stderr
    assert "directory exists" in done.stderr and "Traceback" not in done.stderr


def test_an_unreachable_postgresql_server_is_explained_without_its_password(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://clinic:s3cret-pw@127.0.0.1:{port}/clinic"
    done = clinicbot(url, tmp_path, "report", "outbox")
    assert done.returncode == 2, done.stderr
    assert f"postgresql://clinic:***@127.0.0.1:{port}/clinic" in done.stderr
    assert "s3cret-pw" not in done.stderr + done.stdout and "Traceback" not in done.stderr
    assert "server is running" in done.stderr
