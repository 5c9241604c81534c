"""The built clinic, cached between runs, and a fresh working copy of it for each run.

SQLite: ``benchmarks/.cache/clinic-<tag>.db`` (gitignored; ``<tag>`` is the scale and any
membership count: :attr:`benchmarks.build.Scale.tag`). PostgreSQL: the database
``clinicbot_bench_<checkout>_<tag>`` on the server of ``CLINICBOT_BENCH_POSTGRES_URL`` (an admin
URL; default ``postgresql://postgres@127.0.0.1:5432/postgres``), ``<checkout>`` a short hash of
this checkout's path, as every checkout on the machine shares the server. A JSON file next to
the SQLite one records what each cache was built from (scale, memberships, schema revision,
builder version, the clinic's "now"); when any of that changes the cache is rebuilt.
Measurements change the data (bookings, invoices, outbox rows), so each run works on a copy: a
file copy, or ``CREATE DATABASE ... TEMPLATE``; the copy is dropped afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from benchmarks.build import Scale, anchor_for, build
from benchmarks.common import Stopwatch
from bot.storage.db import create_engine
from bot.storage.migrate import head_revision, upgrade

CACHE = Path(__file__).resolve().parent / ".cache"
POSTGRES_ENV = "CLINICBOT_BENCH_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
BUILDER_VERSION = 4  # bump when benchmarks.build changes what it builds


@dataclass
class Prepared:
    """A working copy ready to measure, and how the cache behind it was obtained."""

    kind: str
    url: str
    anchor: datetime
    build_seconds: float | None  # None: the cache was reused
    counts: dict[str, int] = field(default_factory=dict)


def admin_url() -> str:
    return os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES


def checkout_prefix() -> str:
    """``clinicbot_bench_<hash>``: the PostgreSQL server is shared by every checkout on the
    machine, each of which may build another clinic (another builder, schema or scale), so the
    cache's name carries a short hash of this checkout's path."""
    digest = hashlib.sha256(str(Path(__file__).resolve().parents[1]).encode()).hexdigest()
    return f"clinicbot_bench_{digest[:8]}"


def _pg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


class Cache:
    """Where the built clinics live (``directory`` for SQLite and the records)."""

    def __init__(self, directory: Path = CACHE, *, postgres_admin: str | None = None,
                 postgres_prefix: str | None = None) -> None:
        self.directory = directory
        self.postgres_admin = postgres_admin or admin_url()
        self.prefix = postgres_prefix or checkout_prefix()

    def _record(self, kind: str, scale: Scale) -> Path:
        return self.directory / f"{kind}-{scale.tag}.json"

    @staticmethod
    def _wanted(scale: Scale) -> dict[str, object]:
        return {"scale": scale.factor, "memberships": scale.memberships,
                "schema": head_revision(), "builder": BUILDER_VERSION}

    def _cached(self, kind: str, scale: Scale) -> dict[str, object] | None:
        path = self._record(kind, scale)
        if not path.exists():
            return None
        record: dict[str, object] = json.loads(path.read_text())
        wanted = self._wanted(scale)
        return record if all(record.get(k) == v for k, v in wanted.items()) else None

    async def prepare(self, kind: str, scale: Scale, copy: str = "") -> Prepared:
        """Build the cache unless it is current, then make a working copy of it (``copy``
        names one more copy, for a measurement that wants the clinic as built)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        record = self._cached(kind, scale)
        if record is not None and not await self._exists(kind, scale):
            record = None
        seconds: float | None = None
        if record is None:
            with Stopwatch() as watch:
                record = await self._build(kind, scale)
            seconds = watch.seconds
        anchor = datetime.fromisoformat(str(record["anchor"]))
        counts = {str(k): int(v) for k, v in dict(record["counts"]).items()}  # type: ignore[call-overload]
        url = await self._copy(kind, scale, copy)
        return Prepared(kind, url, anchor, seconds, counts)

    async def _build(self, kind: str, scale: Scale) -> dict[str, object]:
        self._record(kind, scale).unlink(missing_ok=True)
        url = await self._fresh(kind, self._name(kind, scale))
        anchor = anchor_for(datetime.now(UTC).date())
        engine = create_engine(url)
        try:
            await upgrade(engine)
            built = await build(engine, scale, anchor)
        finally:
            await engine.dispose()
        record = {**self._wanted(scale), "anchor": anchor.isoformat(), "counts": built.counts}
        self._record(kind, scale).write_text(json.dumps(record, indent=2))
        return record

    def _name(self, kind: str, scale: Scale, *, run: bool = False, copy: str = "") -> str:
        """The cache's name, or this process's working copy's (two runs at once never clash)."""
        if kind == "sqlite":
            run_tag = f"-run{os.getpid()}{copy}" if run else ""
            return str(self.directory / f"clinic-{scale.tag}{run_tag}.db")
        return f"{self.prefix}_{scale.tag}{f'_run{os.getpid()}{copy}' if run else ''}"

    async def _fresh(self, kind: str, name: str, template: str | None = None) -> str:
        """An empty (or copied) database called ``name``; its URL."""
        if kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(name + suffix).unlink(missing_ok=True)  # noqa: ASYNC240 - a CLI, not a server
            if template is not None:
                shutil.copyfile(template, name)
            return f"sqlite:///{name}"
        like = f' TEMPLATE "{template}"' if template else ""
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                          f'CREATE DATABASE "{name}"{like}')
        return _pg_dsn(self.postgres_admin, name)

    async def _copy(self, kind: str, scale: Scale, copy: str = "") -> str:
        return await self._fresh(kind, self._name(kind, scale, run=True, copy=copy),
                                 self._name(kind, scale))

    async def _exists(self, kind: str, scale: Scale) -> bool:
        name = self._name(kind, scale)
        if kind == "sqlite":
            return Path(name).exists()  # noqa: ASYNC240 - one stat
        conn = await asyncpg.connect(_pg_dsn(self.postgres_admin))
        try:
            found = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        finally:
            await conn.close()
        return found is not None

    async def discard(self, prepared: Prepared) -> None:
        """Drop the working copy."""
        name = make_url(prepared.url).database
        assert name is not None
        if prepared.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(name + suffix).unlink(missing_ok=True)  # noqa: ASYNC240 - a CLI, not a server
        else:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def forget(self, kind: str, scale: Scale) -> None:
        """Drop the cache of ``scale`` on ``kind``, so the next run builds it again."""
        self._record(kind, scale).unlink(missing_ok=True)
        if kind == "sqlite":
            Path(self._name(kind, scale)).unlink(missing_ok=True)  # noqa: ASYNC240 - a CLI, not a server
        else:
            await self._admin(f'DROP DATABASE IF EXISTS "{self._name(kind, scale)}" WITH (FORCE)')

    async def _admin(self, *statements: str) -> None:
        conn = await asyncpg.connect(_pg_dsn(self.postgres_admin))
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()
