"""What a package covers, read as ids in one query (package_scope), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError

from bot.services import package_admin, package_scope, packages
from bot.services.package_scope import PackageScope
from bot.storage.models import Fee, Location, Practitioner
from tests.integration._builders import package_of, patient
from tests.statements import statements

pytestmark = pytest.mark.usefixtures("clinic")


async def _ids(uow, model, *keys: str) -> frozenset[int]:
    rows = await uow.session.scalars(select(model.id).where(model.key.in_(keys)))
    return frozenset(rows.all())


async def test_scopes_of_several_packages_take_one_query(make_uow, engine):
    async with make_uow() as uow:
        maya, leo = await package_of(uow, "maya"), await package_of(uow, "leo")
        with statements(engine) as seen:
            scopes = await package_scope.scopes_of(uow, [leo.id, maya.id, maya.id])
            again = await package_scope.scopes_of(uow, [maya.id, leo.id])  # remembered
        assert len(seen) == 1
        assert scopes[maya.id] == PackageScope(
            fee_ids=await _ids(uow, Fee, "physio-follow"),
            practitioner_ids=await _ids(uow, Practitioner, "ana"),
            location_ids=await _ids(uow, Location, "downtown"),
        )
        assert again == scopes
        massage = await _ids(uow, Fee, "massage-60")
        assert scopes[leo.id] == PackageScope(fee_ids=massage)  # any practitioner, location
        (ana,) = await _ids(uow, Practitioner, "ana")
        assert scopes[leo.id].covers_practitioner(ana) and scopes[leo.id].covers_location(-1)
        assert not scopes[maya.id].covers_location(-1)
        assert await package_scope.scopes_of(uow, []) == {}


async def test_one_packages_scope_is_what_the_query_for_several_reads(make_uow, engine):
    """One package (booking's question) goes by a statement of its own: the same scope."""
    async with make_uow() as uow:
        ids = [(await package_of(uow, name)).id for name in ("maya", "leo")]
        together = await package_scope.scopes_of(uow, ids)
    for package_id in ids:
        async with make_uow() as uow:
            with statements(engine) as seen:
                assert await package_scope.scope_of(uow, package_id) == together[package_id]
                assert await package_scope.scope_of(uow, package_id) == together[package_id]
            assert len(seen) == 1, "remembered for the transaction"


async def test_a_package_that_does_not_exist_covers_nothing(make_uow):
    async with make_uow() as uow:
        nothing = await package_scope.scope_of(uow, 999_999)
        assert nothing == PackageScope()
        assert not any(nothing.covers_fee(fee_id) for fee_id in await _ids(uow, Fee, "massage-60"))


async def test_loading_a_package_loads_none_of_its_scope_rows(make_uow, engine):
    async with make_uow() as uow:
        maya_id = (await package_of(uow, "maya")).id
    async with make_uow() as uow:
        with statements(engine) as seen:
            package = await packages.get_package(uow, maya_id)
        assert len([s for s in seen if "package_fee" in s or "package_location" in s]) == 0
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            _ = package.fees  # rows only on purpose:
        loaded = await packages.get_package(uow, maya_id, scope_rows=True)
        assert [fee.key for fee in loaded.fees] == ["physio-follow"]
        assert [p.key for p in loaded.practitioners] == ["ana"]


async def test_a_transferred_package_is_read_with_its_new_scope_in_the_same_transaction(make_uow):
    async with make_uow() as uow:
        source = await package_of(uow, "maya")
        before = await package_scope.scope_of(uow, source.id)
        leo = await patient(uow, "leo")  # Maya's ward
        gift = await package_admin.transfer(uow, source.id, leo.id, 1, by="desk")
        assert await package_scope.scope_of(uow, gift.id) == before
        await uow.rollback()
