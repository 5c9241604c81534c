"""Keep separate (issue 17): an online registration staff decided is not the profile it
resembles leaves the registrations queue; undo brings it back; the audit log records both; two
staff keeping the same pair at once both succeed with one row. Both databases; migration 0017
down and up again.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import accounts, audit, desk_queues, kept_apart
from bot.services.errors import InvalidInput, NotFound
from bot.storage.migrate import alembic_config, upgrade
from bot.storage.models import AuditEntry, KeptApart
from tests.integration._builders import patient

pytestmark = pytest.mark.usefixtures("clinic")


async def _look_alike(make_uow) -> tuple[int, int]:
    """Maya Chen on file, and an online registration with her name and birth date."""
    async with make_uow() as uow:
        maya = (await patient(uow, "maya")).id
        new = await accounts.register_online(uow, first_name="Maya", last_name="Chen",
                                             birth_date=date(1988, 4, 2))
        await uow.commit()
        return maya, new.id


async def _queue(make_uow) -> list[tuple[int, list[int]]]:
    async with make_uow() as uow:
        return [(r.patient.id, [p.id for p in r.resembles])
                for r in await desk_queues.registrations_to_merge(uow)]


async def test_keep_separate_takes_the_pair_off_the_queue_and_undo_brings_it_back(make_uow):
    maya, new = await _look_alike(make_uow)
    assert await _queue(make_uow) == [(new, [maya])]
    actor = audit.Actor("desk", "cli")
    async with make_uow() as uow:
        row = await kept_apart.keep_separate(uow, new, maya, by="desk", actor=actor)
        assert (row.low_id, row.high_id, row.kept_by) == (maya, new, "desk")
        assert row.kept_at == uow.clock.now()
        await uow.commit()
    assert await _queue(make_uow) == []
    async with make_uow() as uow:
        assert await accounts.likely_duplicates(uow, new) == []
        assert await accounts.likely_duplicates(uow, maya) == []
        assert await kept_apart.is_kept_apart(uow, maya, new)
        assert await kept_apart.undo(uow, maya, new, actor=actor) is True
        await uow.commit()
    assert await _queue(make_uow) == [(new, [maya])]
    async with make_uow() as uow:
        assert await kept_apart.undo(uow, maya, new, actor=actor) is False
        entries = (await uow.session.execute(
            select(AuditEntry.staff, AuditEntry.face, AuditEntry.action, AuditEntry.patient_id)
            .order_by(AuditEntry.id))).tuples().all()
    assert list(entries) == [
        ("desk", "cli", "patient.keep_separate", new),
        ("desk", "cli", "patient.keep_separate_undo", maya),
    ]


async def test_keeping_a_pair_twice_is_one_decision(make_uow):
    maya, new = await _look_alike(make_uow)
    for first, second in ((new, maya), (maya, new)):
        async with make_uow() as uow:
            await kept_apart.keep_separate(uow, first, second, by="desk")
            await uow.commit()
    async with make_uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(KeptApart)) == 1


async def test_two_staff_keeping_the_same_pair_at_once_both_succeed(make_uow):
    maya, new = await _look_alike(make_uow)

    async def keep(by: str) -> None:
        async with make_uow() as uow:
            await kept_apart.keep_separate(uow, new, maya, by=by,
                                           actor=audit.Actor(by, "console"))
            await uow.commit()

    await asyncio.gather(keep("desk"), keep("mia"))
    async with make_uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(KeptApart)) == 1
    assert await _queue(make_uow) == []


async def test_refusals_change_nothing(make_uow):
    maya, new = await _look_alike(make_uow)
    async with make_uow() as uow:
        with pytest.raises(InvalidInput, match="two different patients"):
            await kept_apart.keep_separate(uow, maya, maya, by="desk")
        with pytest.raises(NotFound, match="no patient 99999"):
            await kept_apart.keep_separate(uow, maya, 99999, by="desk")
        sofia = (await patient(uow, "sofia")).id
        await accounts.merge(uow, maya, sofia, by="desk")
        with pytest.raises(InvalidInput, match=f"was merged into patient {maya}"):
            await kept_apart.keep_separate(uow, new, sofia, by="desk")
        await uow.rollback()
    async with make_uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(KeptApart)) == 0
        assert await uow.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def _migrate(engine: AsyncEngine, revision: str, *, down: bool) -> None:
    async with engine.begin() as conn:
        def go(sync_conn: Any) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync_conn
            (command.downgrade if down else command.upgrade)(config, revision)

        await conn.run_sync(go)


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_migration_0017_goes_down_and_up(engine: AsyncEngine) -> None:
    assert "kept_apart" in await _tables(engine)
    await _migrate(engine, "0016", down=True)
    assert "kept_apart" not in await _tables(engine)
    await upgrade(engine)
    assert "kept_apart" in await _tables(engine)
