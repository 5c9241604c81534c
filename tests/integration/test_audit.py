"""The audit log's service (issue 17): an entry commits or rolls back with its action, a
patient acting records nothing, and the listing pages newest first by keyset with filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services import audit, package_admin
from bot.services.errors import InvalidInput
from bot.storage.models import AuditEntry
from tests.integration._builders import package_of

pytestmark = pytest.mark.usefixtures("clinic")
DESK = audit.Actor("desk", "console")


async def _count(make_uow) -> int:
    async with make_uow(readonly=True) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(AuditEntry)))


async def test_an_entry_commits_or_rolls_back_with_its_action(make_uow):
    async with make_uow() as uow:
        package = await package_of(uow, "maya")
        package_id, owner, bought = package.id, package.patient_id, package.purchased_on
        await package_admin.change_expiry(uow, package_id, None, actor=DESK)
        # left without commit: the change and its entry are both rolled back
    assert await _count(make_uow) == 0
    async with make_uow() as uow:
        changed = await package_admin.change_expiry(uow, package_id, None)  # no actor
        assert changed.expires_on is None
        await uow.commit()
    assert await _count(make_uow) == 0
    day = bought + timedelta(days=400)
    async with make_uow() as uow:
        await package_admin.change_expiry(uow, package_id, day, actor=DESK)
        await uow.commit()
    key = f"package {package_id}"
    async with make_uow(readonly=True) as uow:
        [entry] = (await audit.entries(uow)).entries
        assert (entry.staff, entry.face, entry.action) == ("desk", "console", "package.expiry")
        assert entry.patient_id == owner and entry.package_id == package_id
        assert (entry.before[key]["expires_on"], entry.after[key]["expires_on"]) == (
            None, day.isoformat())
        assert entry.after[key]["uses"] == 5 and entry.after["currency"] == "CAD"


async def test_entries_page_newest_first_with_filters(make_uow, clock):
    async with make_uow() as uow:
        maya, leo = await package_of(uow, "maya"), await package_of(uow, "leo")
        packages = {"maya": (maya.id, maya.patient_id), "leo": (leo.id, leo.patient_id)}
    for n in range(7):
        if n % 2:  # the others share their moment with the entry before
            clock.advance(timedelta(minutes=1))
        owned, _ = packages["maya" if n < 5 else "leo"]
        actor = audit.Actor("ana" if n % 3 == 0 else "desk", "cli")
        async with make_uow() as uow:
            await package_admin.change_expiry(uow, owned, None, actor=actor)
            await uow.commit()

    async with make_uow(readonly=True) as uow:
        every = (await audit.entries(uow, limit=500)).entries
        assert [e.id for e in every] == sorted((e.id for e in every), reverse=True)
        assert [(e.at, e.id) for e in every] == sorted(
            ((e.at, e.id) for e in every), reverse=True)
        seen, after = [], None
        while True:
            page = await audit.entries(uow, after=after, limit=2)
            seen += [e.id for e in page.entries]
            if page.after is None:
                break
            after = page.after
        assert seen == [e.id for e in every] and len(seen) == 7

        mine = await audit.entries(uow, audit.Filters(patient_id=packages["maya"][1]))
        assert len(mine.entries) == 5 and mine.after is None
        by_ana = await audit.entries(uow, audit.Filters(staff="ana"))
        assert {e.staff for e in by_ana.entries} == {"ana"} and len(by_ana.entries) == 3
        newest = every[0].at
        last = await audit.entries(uow, audit.Filters(since=newest))
        assert {e.at for e in last.entries} == {newest}
        older = await audit.entries(uow, audit.Filters(until=newest, action="package.expiry"))
        assert all(e.at < newest for e in older.entries) and older.entries
        with pytest.raises(InvalidInput, match="1 to 500 entries"):
            await audit.entries(uow, limit=0)
