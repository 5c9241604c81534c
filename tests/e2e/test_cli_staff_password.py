"""``clinicbot staff password KEY``: the console password, asked twice on a terminal or read as
one line from standard input; only an argon2 hash is stored, the password is never printed;
an unknown key or a too-short password exits 2 and changes nothing."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import select as io_select
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services import desk_auth
from bot.storage.db import create_engine
from bot.storage.models import AuditEntry, StaffPassword
from bot.storage.uow import UnitOfWork
from tests.e2e.test_cli_staff_support import Clinicbot, example_desk


@pytest.fixture
def desk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Clinicbot:
    return example_desk(tmp_path, tmp_path_factory)


def piped(desk: Clinicbot, line: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=desk.cwd, env=desk.env,
                          input=line, capture_output=True, text=True, timeout=120)


def verifies(url: str, key: str, password: str) -> bool:
    async def check() -> bool:
        engine = create_engine(url)
        try:
            async with UnitOfWork(engine, readonly=True) as uow:
                return await desk_auth.check_password(uow, key, password) is not None
        finally:
            await engine.dispose()

    return asyncio.run(check())


def stored_hashes(url: str) -> list[str]:
    async def read() -> list[str]:
        engine = create_engine(url)
        try:
            async with UnitOfWork(engine, readonly=True) as uow:
                return list((await uow.session.scalars(
                    select(StaffPassword.password_hash))).all())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_password_read_from_standard_input_is_stored_as_an_argon2_hash(desk: Clinicbot
                                                                          ) -> None:
    done = piped(desk, "correct horse battery\n", "staff", "password", "desk")
    assert done.returncode == 0, done.stderr
    assert "Password set for desk (Front desk)" in done.stdout
    assert "correct horse" not in done.stdout + done.stderr
    [hashed] = stored_hashes(desk.url)
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert verifies(desk.url, "desk", "correct horse battery")
    assert not verifies(desk.url, "desk", "correct horse")


def on_terminal(desk: Clinicbot, answers: list[tuple[bytes, bytes]], *args: str
                ) -> tuple[int, str]:
    """Run ``clinicbot`` on a pseudo-terminal of its own (its controlling terminal, as in a
    shell) and type each answer once its prompt shows; the exit status and all it showed."""
    master, slave = pty.openpty()

    def own_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=desk.cwd,
                               env=desk.env, stdin=slave, stdout=slave, stderr=slave,
                               preexec_fn=own_terminal)
    os.close(slave)
    shown, pending = b"", b""

    def read() -> bytes:
        ready, _, _ = io_select.select([master], [], [], 60)
        assert ready, shown + pending
        try:
            return os.read(master, 4096)
        except OSError:  # the terminal closed: the command ended
            return b""

    try:
        for prompt, answer in answers:
            while prompt not in pending:
                chunk = read()
                assert chunk, shown + pending
                pending += chunk
            shown, pending = shown + pending, b""
            os.write(master, answer + b"\n")
        while chunk := read():
            shown += chunk
    finally:
        os.close(master)
    return process.wait(timeout=60), shown.decode()


def test_on_a_terminal_the_password_is_asked_twice_hidden(desk: Clinicbot) -> None:
    status, shown = on_terminal(
        desk, [(b"New password", b"ana-new-password"), (b"Repeat it", b"ana-new-password")],
        "staff", "password", "ana")
    assert status == 0, shown
    assert "Password set for ana (Ana Silva)" in shown
    assert "ana-new-password" not in shown  # not echoed
    assert verifies(desk.url, "ana", "ana-new-password")


def test_an_unknown_key_or_a_short_password_is_refused(desk: Clinicbot) -> None:
    unknown = desk.refused("staff", "password", "nobody")
    assert "there is no staff member 'nobody'" in unknown.stderr
    short = piped(desk, "short\n", "staff", "password", "desk")
    assert short.returncode == 2
    assert "the password is too short: use at least 10 characters" in short.stderr
    empty = piped(desk, "", "staff", "password", "desk")
    assert empty.returncode == 2 and "no password on standard input" in empty.stderr
    assert stored_hashes(desk.url) == []


def audit_rows(url: str) -> list[tuple[str, str, str, str]]:
    async def read() -> list[tuple[str, str, str, str]]:
        engine = create_engine(url)
        try:
            async with UnitOfWork(engine, readonly=True) as uow:
                return [(e.staff, e.face, e.action, e.summary) for e in (await uow.session.scalars(
                    select(AuditEntry).order_by(AuditEntry.id))).all()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_who_set_a_password_is_in_the_audit_log_never_the_password(desk: Clinicbot) -> None:
    done = piped(desk, "correct horse battery\n", "staff", "--as", "ana", "password", "desk")
    assert done.returncode == 0, done.stderr
    assert audit_rows(desk.url) == [
        ("ana", "cli", "staff.password", "console password of staff desk set")]
    refused = piped(desk, "short\n", "staff", "--as", "ana", "password", "desk")
    assert refused.returncode == 2 and len(audit_rows(desk.url)) == 1
