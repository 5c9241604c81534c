#!/usr/bin/env python3
"""Set up and run clinic-booking-bot on a fresh machine with nothing but Python 3.11+.

    python3 dev.py demo        # create .venv, install, run `clinicbot demo` on SQLite
    python3 dev.py test        # create .venv, install with dev tools, run ruff, mypy and pytest
                               # (the whole suite in parallel: pytest-xdist, see workers())
    python3 dev.py test -k booking   # extra arguments go to pytest (one process unless -n N)
    python3 dev.py translations      # extract strings, update es/fr catalogs, compile them
    python3 dev.py bench [args]      # build the large clinic, run the benchmarks, print a table
                                     # (`python -m benchmarks`; see benchmarks/README.md)

The virtualenv lives in .venv and is (re)installed only when pyproject.toml changes. The
PostgreSQL tests run when CLINICBOT_TEST_POSTGRES_URL is set (.ci/run sets it).
Uses only the standard library, so it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the project with its dev tools, unless already up to date."""
    if sys.version_info < (3, 11):  # noqa: UP036 - runs before the venv exists, on any Python
        sys.exit(f"clinic-booking-bot needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("Installing clinic-booking-bot and its dev tools into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "--editable", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(_fingerprint())


def run(*command: str) -> int:
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT).returncode


def workers() -> str:
    """How many pytest-xdist workers run the whole suite: twice the cores, at most 8.

    Most of the suite's time is spent waiting (the real ``clinicbot`` command in subprocesses,
    servers on loopback, the browser, PostgreSQL), so two workers per core keep the cores busy.
    Every test has its own SQLite file and PostgreSQL database, and each worker its own
    migrated templates (tests/databases.py), so workers never share rows.
    """
    return str(min(8, 2 * (os.cpu_count() or 1)))


def test(extra: list[str]) -> int:
    """Lint, type-check and run the whole test suite; the first failure's status is returned."""
    for step in (
        [str(BIN / "ruff"), "check", "bot", "tests", "benchmarks", "dev.py"],
        [str(BIN / "mypy")],
    ):
        if extra:
            break  # a focused run (pytest arguments given) skips the linters
        if (status := run(*step)) != 0:
            return status
    # The tests start the real `clinicbot` command hundreds of times: compile the package once
    # (quietly) so that each start reads bytecode even where PYTHONDONTWRITEBYTECODE is set.
    subprocess.run([str(BIN / "python"), "-m", "compileall", "-q", "bot"], cwd=ROOT,
                   stdout=subprocess.DEVNULL, check=False)
    return run(str(BIN / "python"), "-m", "pytest", *(extra or ["-n", workers()]))


def translations() -> int:
    """Extract every gettext string, merge it into each catalog, and compile the catalogs."""
    babel = str(BIN / "pybabel")
    pot = "bot/locales/messages.pot"
    steps = [
        [babel, "extract", "-F", "babel.cfg", "-k", "ngettext:1,2", "--no-location",
         "--sort-output", "--omit-header", "-o", pot, "bot"],
        [babel, "update", "-i", pot, "-d", "bot/locales", "--no-fuzzy-matching",
         "--ignore-obsolete"],
        [babel, "compile", "-d", "bot/locales", "--statistics"],
    ]
    for step in steps:
        if (status := run(*step)) != 0:
            return status
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup", "translations", "bench"}:
        print(__doc__)
        return 2
    ensure_venv()
    if argv[0] == "demo":
        return run(str(BIN / "clinicbot"), "demo", *argv[1:])
    if argv[0] == "test":
        return test(argv[1:])
    if argv[0] == "translations":
        return translations()
    if argv[0] == "bench":
        return run(str(BIN / "python"), "-m", "benchmarks", *argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
