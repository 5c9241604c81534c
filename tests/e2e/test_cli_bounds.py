"""Numbers the database cannot hold and files no set-up file is, given to ``clinicbot``.

A price of 10^23, 2^63 uses, 100,000 installments, 5,000 nested arrays, a file of gigabytes, a
FIFO, /dev/zero; ids, amounts, counts and dates beyond what the columns hold typed at the desk:
each is refused like any bad file or argument, with exit status 2, one line saying what is wrong
(no traceback) and the database exactly as it was, on SQLite and PostgreSQL. The commands run as
real processes (the set-up file cases under a 1 GiB address-space limit, so a file read whole
fails the test instead of the machine); the many desk commands run in-process through click's
runner, against the same databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import build_cli
from tests.conftest import EXAMPLE_FILE
from tests.e2e.test_cli_staff_support import Clinicbot, example_desk, query, snapshot

EXAMPLE = EXAMPLE_FILE.read_text(encoding="utf-8")
TRAILER = "Nothing was loaded; fix the file and run 'clinicbot load' again."
TOO_BIG_ID = "99999999999"  # more than a 32-bit id column holds
LIMITED = (  # run clinicbot with at most 1 GiB of address space
    "import resource, runpy, sys; "
    "resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30)); "
    "sys.argv = ['clinicbot', *sys.argv[1:]]; "
    "runpy.run_module('bot', run_name='__main__', alter_sys=True)"
)


def load_limited(desk: Clinicbot, path: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LIMITED, "load", str(path)],
        cwd=desk.cwd, env=desk.env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=60,
    )


def refused_load(desk: Clinicbot, path: Path | str) -> str:
    """Load ``path``: exit 2, one error line then the usual trailer, nothing written."""
    before = snapshot(desk.url)
    result = load_limited(desk, path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[1] == TRAILER, lines
    assert lines[0].startswith(f"Error: {path}"), lines
    assert snapshot(desk.url) == before
    return lines[0]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.fixture
def loaded(database_url: str, tmp_path: Path) -> Clinicbot:
    """The example clinic, loaded by ``clinicbot load`` (SQLite and PostgreSQL)."""
    desk = Clinicbot(database_url, tmp_path)
    desk.ok("load", str(EXAMPLE_FILE))
    return desk


NUMBERS = {
    "price": (
        'price = "110.00"', 'price = "99999999999999999999999.00"',
        '[[fees]] "massage-60": key "price": "99999999999999999999999.00" is too large; '
        'money here is at most "999999999999.99"',
    ),
    "uses": (
        "uses = 5", f"uses = {2**63}",
        f'[[package_templates]] "physio-5": key "uses": {2**63} is too large; '
        "it must be at most 1000",
    ),
    "installments": (
        "installments = 3", "installments = 100000",
        '[[package_templates]] "massage-10": key "installments": 100000 is too large; '
        "it must be at most 60",
    ),
    "nesting": (
        "uses = 5", "uses = " + "[" * 5000 + "]" * 5000,
        "lists or tables are nested too deeply to read",
    ),
}


@pytest.mark.parametrize("case", list(NUMBERS))
def test_a_number_the_database_cannot_hold_is_one_line_and_loads_nothing(
    loaded: Clinicbot, tmp_path: Path, case: str
) -> None:
    old, new, said = NUMBERS[case]
    text = EXAMPLE.replace(old, new, 1)
    path = tmp_path / f"{case}.toml"
    path.write_text(text, encoding="utf-8")
    error = refused_load(loaded, path)
    if case == "nesting":  # tomllib gives no line for it
        assert error == f"Error: {path}: {said}; a set-up file nests them at most a few " \
            "levels (see clinic.example.toml)"
    else:
        assert error == f"Error: {path}:{line_of(text, new)}: {said}"


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def test_a_file_of_gigabytes_is_refused_without_reading_it(desk: Clinicbot, tmp_path: Path):
    path = tmp_path / "huge.toml"
    with path.open("wb") as file:  # sparse: 3 GB on the disk's word, no space used
        file.truncate(3 * 2**30)
    assert refused_load(desk, path) == (
        f"Error: {path}: is larger than 5 MB; a set-up file is text of a few kB "
        "(see clinic.example.toml)"
    )
    just_over = tmp_path / "over.toml"
    just_over.write_text(EXAMPLE + "#" * 5_000_000, encoding="utf-8")
    assert "is larger than 5 MB" in refused_load(desk, just_over)


def test_a_fifo_or_a_device_is_refused_without_waiting(desk: Clinicbot, tmp_path: Path):
    fifo = tmp_path / "clinic.toml"
    os.mkfifo(fifo)  # nobody ever writes to it: opening it to read would wait forever
    link = tmp_path / "link.toml"
    link.symlink_to(fifo)
    for path in (fifo, link, Path("/dev/zero")):
        assert refused_load(desk, path) == (
            f"Error: {path}: is not a regular file; give the path of a .toml file"
        )


def test_staff_pay_of_an_amount_beyond_the_columns_is_one_line(loaded: Clinicbot) -> None:
    """The issue's command: ``clinicbot staff pay 44 99999999999999999999999999999``."""
    invoice = query(loaded.url, "SELECT id FROM invoice WHERE status = 'open' ORDER BY id")[0][0]
    result = loaded.refused("staff", "pay", str(invoice), "99999999999999999999999999999")
    assert result.stderr.splitlines() == [
        "Error: Invalid value for '[AMOUNT]': 99999999999999999999999999999 is more than the "
        "largest amount, 999999999999.99"
    ]


def desk_commands(invoice: int) -> list[list[str]]:
    """Every desk command given an id, a patient, an amount, a count or a date out of range."""
    big = TOO_BIG_ID
    book = ["--practitioner", "ana", "--location", "downtown", "--fee", "physio-follow"]
    return [
        ["pay", big, "10.00"],
        ["pay", str(invoice), "99999999999999999999999999999"],
        ["pay", str(invoice), "1000000000000.00"],
        ["package", big],
        ["expiry", big, "none"],
        ["expiry", "1", "9999-12-31"],
        ["transfer", big, "leo", "1"],
        ["transfer", "1", big, "1"],
        ["transfer", "1", "leo", big],
        ["refund", big, "--yes"],
        ["refund", "1", "--amount", "99999999999999999999999999999", "--yes"],
        ["cancel-membership", big, "--from", "2026-12-01"],
        ["cancel", big],
        ["reschedule", big, "--at", "2026-12-01 10:00"],
        ["add-package", big, "1"],
        ["add-package", "1", big],
        ["remove-package", big],
        ["arrive", big],
        ["no-show", big],
        ["resolve", big, "redeem"],
        ["undo", big],
        ["packages", big],
        ["invoices", big],
        ["memberships", big],
        ["appointments", big],
        ["sell", big, "physio-5"],
        ["sell", "maya", big],
        ["sell", "maya", "physio-5", "--on", "9999-12-31"],
        ["enrol", big, "wellness-monthly", "--start", "2026-12-01"],
        ["merge", big, "maya", "--yes"],
        ["merge", "maya", big, "--yes"],
        ["book", big, *book, "--at", "2026-12-01 10:00"],
        ["book", "maya", *book, "--at", "2026-12-01 10:00", "--package", big],
        ["book", "maya", *book, "--at", "9999-12-31 23:45"],
        ["slots", *book, "--from", "9999-12-30"],
    ]


def test_desk_commands_refuse_what_the_columns_cannot_hold(loaded: Clinicbot) -> None:
    invoice = query(loaded.url, "SELECT id FROM invoice WHERE status = 'open' ORDER BY id")[0][0]
    before = snapshot(loaded.url)
    runner = CliRunner()
    env = {"DATABASE_URL": loaded.url}
    for args in desk_commands(invoice):
        result: Result = runner.invoke(build_cli(), ["staff", *args], env=env)
        assert result.exit_code == 2, (args, result.exception, result.output)
        assert isinstance(result.exception, SystemExit), (args, result.exception)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (args, lines)
        assert result.stdout == "", (args, result.stdout)
    assert snapshot(loaded.url) == before


def test_an_id_beyond_the_columns_is_said_plainly(desk: Clinicbot) -> None:
    assert desk.refused("staff", "pay", TOO_BIG_ID, "10.00").stderr.splitlines() == [
        f"Error: Invalid value for 'INVOICE_ID': give an id: a whole number from 1 to "
        f"2147483647, not '{TOO_BIG_ID}'"
    ]
    assert desk.refused("staff", "packages", TOO_BIG_ID).stderr.splitlines() == [
        f"Error: no patient matches '{TOO_BIG_ID}' (give an id, a set-up key or a +phone)"
    ]
    assert desk.refused("staff", "slots", "--practitioner", "ana", "--location", "downtown",
                        "--fee", "physio-follow", "--from", "9999-12-30").stderr.splitlines() == [
        "Error: Invalid value for '--from': '9999-12-30' is out of range; give a date from "
        "1900-01-01 to 2199-12-31"
    ]
