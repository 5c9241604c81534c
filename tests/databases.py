"""Real databases for tests: a SQLite file per test, and a PostgreSQL database per test.

PostgreSQL runs when ``CLINICBOT_TEST_POSTGRES_URL`` names a server (an admin URL such as
``postgresql://postgres@127.0.0.1:5432/postgres``); ``.ci/run`` always sets it, and then a server
that does not answer is an error, not a skip. Each test gets a database cloned from a migrated
template (``CREATE DATABASE ... TEMPLATE``), so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bot.storage.db import create_engine
from bot.storage.migrate import upgrade

POSTGRES_ENV = "CLINICBOT_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def make_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    asyncio.run(_migrate(f"sqlite:///{path}"))
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    path = directory / "clinic.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


class PostgresDatabases:
    """Creates the migrated template once, then one throw-away database per test."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.template = f"cbt_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(self.admin_url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def setup(self) -> None:
        asyncio.run(self._admin(f'CREATE DATABASE "{self.template}"'))
        asyncio.run(_migrate(self.url_for(self.template)))

    def url_for(self, database: str) -> str:
        return _asyncpg_dsn(self.admin_url, database)

    async def create(self) -> str:
        name = f"cbt_{uuid.uuid4().hex[:12]}"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self.url_for(name)

    async def drop(self, url: str) -> None:
        name = make_url(url).database
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def teardown(self) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
