"""Shared fixtures: real databases (SQLite file, PostgreSQL), a fixed clock, units of work.

``database_url`` is parametrised over ``sqlite`` and ``postgresql``; a test that takes it (or
``engine``/``uow``/``clinic``) runs on both. Without ``CLINICBOT_TEST_POSTGRES_URL`` the
PostgreSQL cases are skipped locally; ``.ci/run`` sets it so they always run in CI.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FixedClock
from bot.storage.db import create_engine
from bot.storage.uow import UnitOfWork
from tests.databases import (
    PostgresDatabases,
    make_sqlite_template,
    postgres_admin_url,
    sqlite_copy,
)

# The commented example shipped in the package (what `clinicbot init` writes); identical to
# ../shared/spec/clinic.example.toml (tests/unit/test_example_file.py).
EXAMPLE_FILE = Path(__file__).resolve().parents[1] / "bot" / "clinicfile" / "clinic.example.toml"
# No test may reach a real provider: unless a test points them at its local stand-in, the
# Twilio and Telegram API bases (inherited by every subprocess) are a closed local port.
os.environ.setdefault("TWILIO_API_BASE_URL", "http://127.0.0.1:9")
os.environ.setdefault("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/bot")
# A Monday morning in November 2026, clinic time (America/Toronto, EST = UTC-5).
START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many PostgreSQL cases ran, so a CI log shows they were not skipped."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for outcome in counts:
        for report in terminalreporter.stats.get(outcome, []):
            if "postgresql" in getattr(report, "nodeid", "") and report.when in ("call", "setup"):
                if outcome == "passed" and report.when != "call":
                    continue
                counts[outcome] += 1
    terminalreporter.write_line(
        "postgresql cases: {passed} passed, {failed} failed, {skipped} skipped".format(**counts)
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases | None]:
    admin = postgres_admin_url()
    if admin is None:
        if os.environ.get("CLINICBOT_REQUIRE_POSTGRES"):
            pytest.fail("CLINICBOT_REQUIRE_POSTGRES is set but CLINICBOT_TEST_POSTGRES_URL is not")
        yield None
        return
    databases = PostgresDatabases(admin)
    databases.setup()
    yield databases
    databases.teardown()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres: PostgresDatabases | None,
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield sqlite_copy(sqlite_template, tmp_path)
        return
    if postgres is None:
        pytest.skip("set CLINICBOT_TEST_POSTGRES_URL to run the PostgreSQL cases")
    url = await postgres.create()
    yield url
    await postgres.drop(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def make_uow(engine: AsyncEngine, clock: FixedClock) -> Callable[..., UnitOfWork]:
    """A factory of units of work on the test database, sharing the test's clock."""

    def factory(*, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(engine, clock, readonly=readonly)

    return factory


@pytest.fixture
def uow(make_uow: Callable[..., UnitOfWork]) -> UnitOfWork:
    return make_uow()


@pytest.fixture
async def clinic(make_uow: Callable[..., UnitOfWork]) -> None:
    """The example clinic of bot/clinicfile/clinic.example.toml, loaded as `clinicbot load` does."""
    from bot.clinicfile import read_clinic_file
    from bot.services.setup import load_clinic

    spec = read_clinic_file(EXAMPLE_FILE)
    async with make_uow() as uow:
        await load_clinic(uow, spec)
        await uow.commit()
