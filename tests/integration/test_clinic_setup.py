"""The shared copy of the clinic's set-up: read once, and never out of date (clinic_setup)."""

from __future__ import annotations

from datetime import time

import pytest

from bot.clinicfile import read_clinic_file
from bot.services.clinic import get_clinic
from bot.services.clinic_setup import clinic_setup
from bot.services.setup import load_clinic
from bot.storage.db import create_engine
from bot.storage.models import Fee, WorkingHours
from bot.storage.uow import UnitOfWork
from tests.booking_support import Ids, load_ids
from tests.conftest import EXAMPLE_FILE
from tests.statements import statements

SUNDAY = 6  # nobody works on Sundays in the example clinic


@pytest.fixture
async def ids(clinic, make_uow) -> Ids:
    async with make_uow() as uow:
        return await load_ids(uow)


async def version(make_uow) -> int:
    async with make_uow() as uow:
        return (await get_clinic(uow)).setup_version


async def sunday_blocks(make_uow, practitioner: int, location: int) -> list[tuple[time, time]]:
    async with make_uow() as uow:
        setup = await clinic_setup(uow)
        return [(b.start, b.end) for b in setup.week.get((practitioner, location), [])
                if b.weekday == SUNDAY]


async def add_sunday(make_uow, ids: Ids, *, commit: bool = True) -> None:
    async with make_uow() as uow:
        uow.session.add(WorkingHours(practitioner_id=ids.ana, location_id=ids.east,
                                     weekday=SUNDAY, start=time(9), end=time(12)))
        if commit:
            await uow.commit()


async def test_the_set_up_is_read_once_and_shared(ids, make_uow, engine):
    async with make_uow() as uow:
        first = await clinic_setup(uow)
    with statements(engine) as seen:
        async with make_uow() as uow:
            again = await clinic_setup(uow)
    assert again is first
    selects = [s for s in seen if s.split()[0] == "SELECT"]
    assert len(selects) == 1 and "FROM clinic" in selects[0]  # the clinic row alone
    assert first.fee(ids.physio_follow).practitioner_ids == {ids.ana}
    assert first.practitioner(ids.ben).key == "ben"
    assert first.location(ids.east).key == "east"


async def test_a_change_is_seen_by_the_next_unit_of_work(ids, make_uow):
    before = await version(make_uow)
    assert await sunday_blocks(make_uow, ids.ana, ids.east) == []
    await add_sunday(make_uow, ids)
    assert await version(make_uow) == before + 1
    assert await sunday_blocks(make_uow, ids.ana, ids.east) == [(time(9), time(12))]


async def test_a_change_not_yet_flushed_counts_in_its_own_transaction(ids, make_uow):
    async with make_uow() as uow:
        await clinic_setup(uow)
        fee = await uow.session.get(Fee, ids.massage)
        assert fee is not None
        fee.minutes = 45
        assert (await clinic_setup(uow)).fee(ids.massage).minutes == 45
    # rolled back: neither the change nor the copy read inside that transaction stays
    async with make_uow() as uow:
        assert (await clinic_setup(uow)).fee(ids.massage).minutes == 60


async def test_a_rolled_back_change_leaves_the_version_and_the_copy(ids, make_uow):
    before = await version(make_uow)
    await add_sunday(make_uow, ids, commit=False)
    assert await version(make_uow) == before
    assert await sunday_blocks(make_uow, ids.ana, ids.east) == []


async def test_another_process_change_is_seen(ids, make_uow, clock, database_url):
    """Another engine (as another process, or `clinicbot load`) changes the hours."""
    assert await sunday_blocks(make_uow, ids.ana, ids.east) == []
    other = create_engine(database_url)
    try:
        await add_sunday(lambda: UnitOfWork(other, clock), ids)
    finally:
        await other.dispose()
    assert await sunday_blocks(make_uow, ids.ana, ids.east) == [(time(9), time(12))]


async def test_loading_the_same_file_again_changes_nothing(ids, make_uow):
    before = await version(make_uow)
    async with make_uow() as uow:
        await load_clinic(uow, read_clinic_file(EXAMPLE_FILE))
        await uow.commit()
    assert await version(make_uow) == before


async def test_loading_a_changed_file_is_seen(ids, make_uow, tmp_path):
    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    changed = text.replace('minutes = 60\nprice = "110.00"', 'minutes = 50\nprice = "110.00"')
    assert changed != text
    path = tmp_path / "clinic.toml"
    path.write_text(changed, encoding="utf-8")
    async with make_uow() as uow:
        assert (await clinic_setup(uow)).fee(ids.massage).minutes == 60
    async with make_uow() as uow:
        await load_clinic(uow, read_clinic_file(path))
        await uow.commit()
    async with make_uow() as uow:
        assert (await clinic_setup(uow)).fee(ids.massage).minutes == 50


async def test_setting_a_value_to_itself_is_no_change(ids, make_uow):
    before = await version(make_uow)
    async with make_uow() as uow:
        fee = await uow.session.get(Fee, ids.massage)
        assert fee is not None
        fee.minutes = fee.minutes
        await uow.commit()
    assert await version(make_uow) == before
