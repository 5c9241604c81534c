"""Helpers of the desk and report end-to-end tests (no tests here).

:class:`Clinicbot` runs the real ``clinicbot`` command in a subprocess on one database;
:func:`example_desk` gives it a SQLite file holding the example clinic, loaded once per session
with ``clinicbot load`` and copied per test. :func:`snapshot` reads every row of every table,
so a refused command can be shown to have changed nothing. The subprocesses run on the real
clock; :func:`past_appointment` books, in this process on a clock set in the past, the kind of
appointment only time can make (one that has started), and :func:`next_workday` picks a
future day the example clinic's Ana works at Downtown.
"""

from __future__ import annotations

import asyncio
import os
import pty
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from bot.clock import FixedClock
from bot.services import appointments, billing, packages
from bot.storage.db import create_engine
from bot.storage.models import Base, Fee, Invoice, Location, Patient, Practitioner
from bot.storage.uow import UnitOfWork
from tests.conftest import EXAMPLE_FILE

ROOT = Path(__file__).resolve().parents[2]
TORONTO = ZoneInfo("America/Toronto")
ANA_DOWNTOWN_DAYS = (0, 1, 2, 3)  # Monday to Thursday, 09:00-17:00


class Clinicbot:
    """The ``clinicbot`` command on one database, run as a clinic runs it."""

    def __init__(self, url: str, cwd: Path) -> None:
        self.url = url
        self.cwd = cwd
        self.env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; its stdout."""
        result = self(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def refused(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a command that must be refused: exit 2, one clear error, the database unchanged."""
        before = snapshot(self.url)
        result = self(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Error:" in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert snapshot(self.url) == before, f"{args} changed the database"
        return result

    def answering(self, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a command on a terminal (a pseudo-tty as stdin) and type ``answer`` to it."""
        master, slave = pty.openpty()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", *args],
                cwd=self.cwd, env=self.env, stdin=slave, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
            )
        finally:
            os.close(slave)
        try:
            os.write(master, answer.encode() + b"\n")
            out, err = process.communicate(timeout=120)
        finally:
            os.close(master)
        return subprocess.CompletedProcess(list(args), process.returncode, out, err)


def number(pattern: str, text: str) -> int:
    """The first number captured by ``pattern`` in a command's output."""
    found = re.search(pattern, text)
    assert found, (pattern, text)
    return int(found[1])


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare a database before and after a command."""

    async def read() -> dict[str, list[tuple[Any, ...]]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return {
                    table.name: sorted(
                        (tuple(row) for row in await conn.execute(select(table))), key=repr
                    )
                    for table in Base.metadata.sorted_tables
                }
        finally:
            await engine.dispose()

    return asyncio.run(read())


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of one SQL query (money columns hold cents)."""

    async def read() -> list[tuple[Any, ...]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return [tuple(row) for row in await conn.execute(text(sql), params)]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _example_template(factory: pytest.TempPathFactory) -> Path:
    folder = factory.getbasetemp() / "cli-example-clinic"
    database = folder / "clinic.db"
    if not database.exists():
        folder.mkdir(exist_ok=True)
        loading = folder / "loading.db"
        Clinicbot(f"sqlite:///{loading}", folder).ok("load", str(EXAMPLE_FILE))
        loading.rename(database)  # whole, or not at all: a failed load is not reused
    return database


def example_desk(tmp_path: Path, factory: pytest.TempPathFactory) -> Clinicbot:
    """``clinicbot`` on a fresh SQLite copy of the loaded example clinic."""
    database = tmp_path / "clinic.db"
    shutil.copyfile(_example_template(factory), database)
    return Clinicbot(f"sqlite:///{database}", tmp_path)


def clinic_today() -> date:
    return datetime.now(UTC).astimezone(TORONTO).date()


def next_workday(after: int = 1) -> date:
    """The first day at least ``after`` days ahead on which Ana works at Downtown."""
    day = clinic_today() + timedelta(days=after)
    while day.weekday() not in ANA_DOWNTOWN_DAYS:
        day += timedelta(days=1)
    return day


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TORONTO).astimezone(UTC)


@dataclass(frozen=True)
class PastVisit:
    appointment_id: int
    package_id: int | None
    day: date


def past_appointment(url: str, hour: int = 10, *, with_package: bool = True) -> PastVisit:
    """Maya's physio follow-up with Ana that started in the past (booked before it, by staff).

    With a package: a physio-5 sold and paid that day covers it.
    """
    day = clinic_today() - timedelta(days=1)
    while day.weekday() not in ANA_DOWNTOWN_DAYS:
        day -= timedelta(days=1)

    async def book() -> PastVisit:
        engine = create_engine(url)
        try:
            async with UnitOfWork(engine, FixedClock(local(day, 7))) as uow:
                session = uow.session
                maya = await session.scalar(select(Patient).where(Patient.key == "maya"))
                ana = await session.scalar(select(Practitioner).where(Practitioner.key == "ana"))
                downtown = await session.scalar(select(Location).where(Location.key == "downtown"))
                fee = await session.scalar(select(Fee).where(Fee.key == "physio-follow"))
                assert maya and ana and downtown and fee
                package_id = None
                if with_package:
                    package = await packages.sell_package(
                        uow, maya.id, "physio-5", purchased_on=day
                    )
                    invoice = await uow.session.scalar(
                        select(Invoice).where(Invoice.package_id == package.id)
                    )
                    assert invoice is not None
                    await billing.record_payment(uow, invoice.id, invoice.amount)
                    package_id = package.id
                appointment = await appointments.book(
                    uow, patient_id=maya.id, practitioner_id=ana.id, location_id=downtown.id,
                    fee_id=fee.id, starts_at=local(day, hour), package_id=package_id,
                    booked_by="staff",
                )
                await uow.commit()
                return PastVisit(appointment.id, package_id, day)
        finally:
            await engine.dispose()

    return asyncio.run(book())
