"""The desk's read of one patient (bot/services/patient_record.py) and the Unpaid list, on both
databases with the example clinic: what the profile shows, in a fixed number of queries
however much the patient has, a merged profile named by the one kept, the guardian found as
typed, and the unpaid invoices walked page by page both ways."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.clock import FixedClock
from bot.services import accounts, credit, memberships
from bot.services.errors import NotFound
from bot.services.patient_record import find_as_typed, patient_record, unpaid_page
from bot.storage.models import Invoice
from bot.storage.uow import UnitOfWork
from tests.integration._builders import book, local, patient
from tests.statements import statements

pytestmark = pytest.mark.usefixtures("clinic")


async def test_the_record_holds_what_the_profile_shows(make_uow, engine) -> None:
    async with UnitOfWork(engine, FixedClock(local(2026, 10, 1, 9))) as uow:
        await book(uow, "maya", local(2026, 10, 20, 10))  # booked back then, past now
        await uow.commit()
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        leo = await patient(uow, "leo")
        await book(uow, "maya", local(2026, 11, 10, 10))
        credit.add(uow, patient_id=maya.id, amount=Decimal("12.00"), source="refund",
                   reason="refund")
        await memberships.enrol(uow, maya.id, "wellness-annual", local(2026, 12, 1, 0).date())
        await uow.commit()
        maya_id, leo_id = maya.id, leo.id
    async with make_uow(readonly=True) as uow:
        record = await patient_record(uow, maya_id)
        assert record.patient.full_name == "Maya Chen" and record.merged_into is None
        assert [w.id for w in record.wards] == [leo_id] and record.guardians == []
        assert [v.fee for v in record.upcoming] == ["Physiotherapy follow-up"]
        assert len(record.past) == 1 and record.past[0].practitioner == "Ana Silva"
        assert [p.name for p in record.packages] == ["Physio 5-pack"]
        assert [(m.plan_key, m.status) for m in record.memberships] == [
            ("wellness-annual", "upcoming")]
        assert record.credit == Decimal("12.00") and len(record.credit_entries) == 1
        assert {p.key for p in record.plans} == {"wellness-monthly", "wellness-annual"}
        leo_record = await patient_record(uow, leo_id)
        assert [(g.id, g.source) for g in leo_record.guardians] == [(maya_id, "file")]


async def test_the_record_costs_the_same_queries_however_much_there_is(make_uow, engine
                                                                       ) -> None:
    async with make_uow() as uow:
        sofia = (await patient(uow, "sofia")).id
    async with make_uow(readonly=True) as uow:
        await patient_record(uow, sofia)  # the clinic's set-up read once, then cached
    async with make_uow(readonly=True) as uow:
        with statements(engine) as few:
            await patient_record(uow, sofia)
    async with make_uow() as uow:
        for day in (3, 4, 5, 10, 11, 12):
            await book(uow, "sofia", local(2026, 11, day, 10))
        for n in range(5):
            credit.add(uow, patient_id=sofia, amount=Decimal(n + 1), source="refund", reason="r")
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        with statements(engine) as many:
            record = await patient_record(uow, sofia)
        assert len(record.credit_entries) == 5
    assert len(many) == len(few) <= 12


async def test_a_merged_profile_names_the_one_kept_and_a_missing_one_is_not_found(
        make_uow) -> None:
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        copy = await accounts.register_online(uow, first_name="Maya", last_name="Chen",
                                              birth_date=maya.birth_date, phone="+14165550199")
        await accounts.merge(uow, maya.id, copy.id, by="desk")
        await uow.commit()
        maya_id, copy_id = maya.id, copy.id
    async with make_uow(readonly=True) as uow:
        record = await patient_record(uow, copy_id)
        assert record.merged_into is not None and record.merged_into.id == maya_id
        with pytest.raises(NotFound):
            await patient_record(uow, 999_999)


async def test_the_guardian_is_found_as_the_desk_types_it(make_uow) -> None:
    async with make_uow(readonly=True) as uow:
        sofia = await patient(uow, "sofia")
        for typed in ("sofia", str(sofia.id), "+14165550102", "(416) 555-0102", "4165550102"):
            assert (await find_as_typed(uow, typed)).id == sofia.id, typed
        with pytest.raises(NotFound):
            await find_as_typed(uow, "(416) 555-0199")


async def test_unpaid_pages_walk_every_open_invoice_oldest_due_first(make_uow, clock) -> None:
    today = clock.now().date()
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        for n in range(7):
            uow.session.add(Invoice(
                patient_id=maya.id, kind="session", description=f"visit {n}",
                amount=Decimal("10.00"), paid=Decimal("0"), status="open" if n != 3 else "paid",
                issued_on=today, due_on=today - timedelta(days=50 - n // 2),
                created_at=clock.now()))
        await uow.commit()
    async with make_uow(readonly=True) as uow:
        every = (await unpaid_page(uow, size=1000)).rows
        keys = [(r.invoice.due_on, r.invoice.id) for r in every]
        assert keys == sorted(keys) and "visit 3" not in [r.invoice.description for r in every]
        walked, page = [], await unpaid_page(uow, size=2)
        assert page.older is None
        while True:
            walked += page.rows
            if page.newer is None:
                break
            page = await unpaid_page(uow, after=page.newer, size=2)
        assert [r.invoice.id for r in walked] == [r.invoice.id for r in every]
        assert every[0].invoice.days_overdue == 50
        back = await unpaid_page(uow, before=(every[4].invoice.due_on, every[4].invoice.id),
                                 size=2)
        assert [r.invoice.id for r in back.rows] == [every[2].invoice.id, every[3].invoice.id]
        assert back.older == (every[2].invoice.due_on, every[2].invoice.id)
        assert back.newer == (every[3].invoice.due_on, every[3].invoice.id)
