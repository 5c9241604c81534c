"""No-shows (RULES.md 8): raised when marked or overdue, resolved once, undone exactly."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.services import billing, noshows, package_admin
from bot.services.errors import (
    InvalidInput,
    NotFound,
    PackageNotUsable,
    WrongState,
)
from bot.storage.models import (
    Appointment,
    Invoice,
    NoShow,
    OutboxMessage,
    PackageRedemption,
    Staff,
)
from tests.integration._builders import book, counters, local, package_of, state

pytestmark = pytest.mark.usefixtures("clinic")
STARTS = local(2026, 11, 3, 10)  # Tuesday 10:00-10:30 with Ana downtown
ENDS = STARTS + timedelta(minutes=30)
GRACE = timedelta(minutes=15)
LEO_STARTS = local(2026, 11, 4, 9)  # Wednesday 09:00-10:00 with Ben at the East End
LEO = {"fee": "massage-60", "practitioner": "ben", "location": "east"}


async def _booked(make_uow, patient_key: str = "maya", *, package: bool = True) -> tuple[int, int]:
    """(appointment id, package id) of a committed appointment, its use reserved if package."""
    async with make_uow() as uow:
        owned = await package_of(uow, "leo" if patient_key == "leo" else "maya")
        extra = LEO if patient_key == "leo" else {}
        when = LEO_STARTS if patient_key == "leo" else STARTS
        appointment = await book(
            uow, patient_key, when, package_id=owned.id if package else None, **extra
        )
        await uow.commit()
        return appointment.id, owned.id


async def _raised(make_uow, clock, reason: str, patient_key: str = "maya") -> tuple[int, int, int]:
    """(no-show id, appointment id, package id) of a raised, open no-show."""
    appointment_id, package_id = await _booked(make_uow, patient_key)
    async with make_uow() as uow:
        appointment = await uow.session.get(Appointment, appointment_id)
        clock.set(appointment.ends_at + GRACE)
        if reason == "marked":
            no_show = await noshows.mark_no_show(uow, appointment_id, by="desk")
        else:
            assert await noshows.raise_overdue(uow, clock.now()) == 1
            no_show = await uow.session.scalar(select(NoShow))
        await uow.commit()
        return no_show.id, appointment_id, package_id


async def _alerts(uow) -> list[OutboxMessage]:
    return list((await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_marking_a_no_show_raises_it_to_staff_once(make_uow, clock):
    appointment_id, package_id = await _booked(make_uow)
    async with make_uow() as uow:
        with pytest.raises(WrongState, match="has not started"):
            await noshows.mark_no_show(uow, appointment_id, by="desk")
        clock.set(STARTS + timedelta(minutes=10))
        no_show = await noshows.mark_no_show(uow, appointment_id, by="desk")
        await uow.commit()
    async with make_uow() as uow:
        appointment = await uow.session.get(Appointment, appointment_id)
        assert appointment.status == "no_show" and appointment.package_use == "reserved"
        assert (no_show.reason, no_show.resolution) == ("marked", None)
        assert no_show.raised_at == clock.now()
        alerts = await _alerts(uow)
        staff = {s.key: s.id for s in (await uow.session.scalars(select(Staff))).all()}
        assert {(a.kind, a.staff_id, a.purpose) for a in alerts} == {
            ("no_show", staff[key], f"noshow:{no_show.id}:staff:{staff[key]}")
            for key in ("desk", "ana")
        }
        assert alerts[0].params == {
            "no_show_id": no_show.id, "appointment_id": appointment_id,
            "patient_id": appointment.patient_id, "package_id": package_id, "reason": "marked",
        }
        assert "Maya" not in str(alerts[0].params) and "Chen" not in str(alerts[0].params)
        with pytest.raises(WrongState, match="no-show"):
            await noshows.mark_no_show(uow, appointment_id, by="desk")


@pytest.mark.parametrize("status", ["arrived", "cancelled"])
async def test_only_a_booked_appointment_can_be_marked_no_show(make_uow, clock, status):
    appointment_id, _ = await _booked(make_uow)
    clock.set(ENDS)
    async with make_uow() as uow:
        appointment = await uow.session.get(Appointment, appointment_id)
        appointment.status = status
        with pytest.raises(WrongState, match=status):
            await noshows.mark_no_show(uow, appointment_id, by="desk")
        assert appointment.status == status
        assert (await uow.session.scalars(select(NoShow))).all() == []
        assert await _alerts(uow) == []


async def test_a_no_show_without_a_package_is_raised_too(make_uow, clock):
    appointment_id, _ = await _booked(make_uow, "maya", package=False)
    clock.set(ENDS)
    async with make_uow() as uow:
        no_show = await noshows.mark_no_show(uow, appointment_id, by="desk")
        alerts = await _alerts(uow)
        assert len(alerts) == 2 and alerts[0].params["package_id"] is None
        with pytest.raises(PackageNotUsable, match="no-show fee"):
            await noshows.resolve(uow, no_show.id, "redeem", by="desk")
        resolved = await noshows.resolve(
            uow, no_show.id, "fee", no_show_fee_key="late-cancel", by="desk"
        )
        invoice = await uow.session.get(Invoice, resolved.invoice_id)
        assert (invoice.kind, invoice.amount, invoice.package_id) == (
            "no_show", Decimal("30.00"), None,
        )


async def test_the_sweep_raises_after_the_grace_period_once_and_leaves_it_booked(make_uow, clock):
    appointment_id, _ = await _booked(make_uow)
    async with make_uow() as uow:
        assert await noshows.raise_overdue(uow, ENDS + GRACE - timedelta(seconds=1)) == 0
        assert await noshows.raise_overdue(uow, ENDS + GRACE) == 1
        await uow.commit()
    async with make_uow() as uow:
        assert await noshows.raise_overdue(uow, ENDS + timedelta(days=3)) == 0
        await uow.commit()
    async with make_uow() as uow:
        [no_show] = (await uow.session.scalars(select(NoShow))).all()
        assert (no_show.appointment_id, no_show.reason, no_show.raised_at) == (
            appointment_id, "not_arrived", ENDS + GRACE,
        )
        assert (await uow.session.get(Appointment, appointment_id)).status == "booked"
        assert len(await _alerts(uow)) == 2
        assert [n.id for n in await noshows.open_no_shows(uow)] == [no_show.id]


async def test_the_sweep_skips_arrived_and_cancelled_appointments(make_uow, clock):
    async with make_uow() as uow:
        for hour, status in ((9, "arrived"), (10, "cancelled"), (11, "no_show")):
            appointment = await book(uow, "sofia", local(2026, 11, 3, hour))
            appointment.status = status
        await uow.commit()
    async with make_uow() as uow:
        assert await noshows.raise_overdue(uow, local(2026, 11, 4, 9)) == 0
        assert await _alerts(uow) == []


async def test_marking_an_overdue_no_show_keeps_the_one_alert(make_uow, clock):
    no_show_id, appointment_id, _ = await _raised(make_uow, clock, "not_arrived")
    async with make_uow() as uow:
        no_show = await noshows.mark_no_show(uow, appointment_id, by="ana")
        assert (no_show.id, no_show.reason) == (no_show_id, "marked")
        assert (await uow.session.get(Appointment, appointment_id)).status == "no_show"
        assert len(await _alerts(uow)) == 2


async def test_an_overdue_no_show_later_arrived_is_no_longer_open(make_uow, clock):
    no_show_id, appointment_id, _ = await _raised(make_uow, clock, "not_arrived")
    async with make_uow() as uow:
        (await uow.session.get(Appointment, appointment_id)).status = "arrived"
        assert await noshows.open_no_shows(uow) == []
        with pytest.raises(WrongState, match="arrived"):
            await noshows.resolve(uow, no_show_id, "fee", no_show_fee_key="missed", by="desk")


@pytest.mark.parametrize("reason", ["marked", "not_arrived"])
async def test_redeeming_a_no_show_uses_the_package_like_an_arrival(make_uow, clock, reason):
    no_show_id, appointment_id, package_id = await _raised(make_uow, clock, reason)
    async with make_uow() as uow:
        no_show = await noshows.resolve(uow, no_show_id, "redeem", by="desk")
        await uow.commit()
    async with make_uow() as uow:
        assert await counters(uow, package_id) == (5, 3, 0, 2)
        redemption = await uow.session.scalar(select(PackageRedemption).where(
            PackageRedemption.appointment_id == appointment_id))
        assert redemption.kind == "no_show" and redemption.invoice_id is None  # pays 0.00
        appointment = await uow.session.get(Appointment, appointment_id)
        assert (appointment.status, appointment.package_use) == ("no_show", "redeemed")
        assert (no_show.resolution, no_show.resolved_by, no_show.resolved_at, no_show.version) == (
            "redeemed", "desk", clock.now(), 1,
        )
        assert await noshows.open_no_shows(uow) == []


async def test_redeeming_bills_patient_pays(make_uow, clock):
    no_show_id, appointment_id, package_id = await _raised(make_uow, clock, "marked", "leo")
    async with make_uow() as uow:
        await noshows.resolve(uow, no_show_id, "redeem", by="desk")
        sessions = await uow.session.scalars(select(Invoice).where(Invoice.kind == "session"))
        [session] = sessions.all()
        assert (session.amount, session.appointment_id) == (Decimal("10.00"), appointment_id)
        assert await counters(uow, package_id) == (10, 1, 0, 9)


async def test_charging_a_fee_keeps_the_use_and_invoices_the_fee(make_uow, clock):
    no_show_id, appointment_id, package_id = await _raised(make_uow, clock, "not_arrived")
    async with make_uow() as uow:
        no_show = await noshows.resolve(uow, no_show_id, "fee", no_show_fee_key="missed", by="ana")
        await uow.commit()
    async with make_uow() as uow:
        assert await counters(uow, package_id) == (5, 2, 0, 3)
        appointment = await uow.session.get(Appointment, appointment_id)
        assert (appointment.status, appointment.package_id, appointment.package_use) == (
            "no_show", None, None,
        )
        invoice = await uow.session.get(Invoice, no_show.invoice_id)
        assert (invoice.kind, invoice.amount, invoice.description, invoice.appointment_id) == (
            "no_show", Decimal("45.00"), "Missed appointment fee", appointment_id,
        )
        assert invoice.package_id == package_id and invoice.status == "open"
        assert (no_show.resolution, no_show.resolved_by) == ("fee", "ana")


async def test_a_resolved_no_show_cannot_be_resolved_again(make_uow, clock):
    no_show_id, _, package_id = await _raised(make_uow, clock, "marked")
    async with make_uow() as uow:
        await noshows.resolve(uow, no_show_id, "fee", no_show_fee_key="missed", by="ana")
        await uow.commit()
    async with make_uow() as uow:
        with pytest.raises(WrongState, match=r"Missed appointment fee by ana"):
            await noshows.resolve(uow, no_show_id, "redeem", by="desk")
        assert await counters(uow, package_id) == (5, 2, 0, 3)


async def test_a_stale_version_is_refused(make_uow, clock):
    no_show_id, _, package_id = await _raised(make_uow, clock, "marked")
    async with make_uow() as uow:
        await noshows.resolve(uow, no_show_id, "redeem", by="desk", expected_version=0)
        await noshows.undo(uow, no_show_id, by="desk")
        await uow.commit()
    async with make_uow() as uow:
        with pytest.raises(WrongState, match="changed since you looked"):
            await noshows.resolve(uow, no_show_id, "redeem", by="desk", expected_version=0)
        assert await counters(uow, package_id) == (5, 2, 1, 2)
        again = await noshows.resolve(uow, no_show_id, "redeem", by="desk", expected_version=2)
        assert again.version == 3


async def test_bad_choices_are_refused(make_uow, clock):
    no_show_id, _, _ = await _raised(make_uow, clock, "marked")
    async with make_uow() as uow:
        with pytest.raises(InvalidInput, match="which no-show fee"):
            await noshows.resolve(uow, no_show_id, "fee", by="desk")
        with pytest.raises(NotFound, match=r"missed, late-cancel|late-cancel, missed"):
            await noshows.resolve(uow, no_show_id, "fee", no_show_fee_key="nope", by="desk")
        with pytest.raises(InvalidInput):
            await noshows.resolve(uow, no_show_id, "waive", by="desk")  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            await noshows.resolve(uow, 999, "redeem", by="desk")
        with pytest.raises(WrongState, match="nothing to undo"):
            await noshows.undo(uow, no_show_id, by="desk")


@pytest.mark.parametrize("patient_key", ["maya", "leo"])
@pytest.mark.parametrize("reason", ["marked", "not_arrived"])
@pytest.mark.parametrize("choice", ["redeem", "fee"])
async def test_undo_restores_the_exact_state_before(make_uow, clock, patient_key, reason, choice):
    no_show_id, appointment_id, package_id = await _raised(make_uow, clock, reason, patient_key)
    async with make_uow() as uow:
        before = await state(uow, package_id, appointment_id)
        await noshows.resolve(uow, no_show_id, choice, no_show_fee_key="missed", by="desk")
        await uow.commit()
    async with make_uow() as uow:
        assert await state(uow, package_id, appointment_id) != before
        clock.advance(timedelta(hours=1))
        await noshows.undo(uow, no_show_id, by="ana")
        await uow.commit()
    async with make_uow() as uow:
        assert await state(uow, package_id, appointment_id) == before
        no_show = await noshows.get_no_show(uow, no_show_id)
        assert (no_show.version, no_show.resolved_at) == (2, None)
        assert [n.id for n in await noshows.open_no_shows(uow)] == [no_show_id]
        voided = (await uow.session.scalars(select(Invoice).where(Invoice.status == "void"))).all()
        expected_void = {"fee": 1, "redeem": 1 if patient_key == "leo" else 0}[choice]
        assert len(voided) == expected_void


async def test_undoing_a_paid_fee_is_refused_and_changes_nothing(make_uow, clock):
    no_show_id, appointment_id, package_id = await _raised(make_uow, clock, "marked")
    async with make_uow() as uow:
        no_show = await noshows.resolve(uow, no_show_id, "fee", no_show_fee_key="missed", by="desk")
        await billing.record_payment(uow, no_show.invoice_id, Decimal("20.00"))
        await uow.commit()
    async with make_uow() as uow:
        after = await state(uow, package_id, appointment_id)
        with pytest.raises(WrongState, match=r"20\.00 was already paid"):
            await noshows.undo(uow, no_show_id, by="desk")
        assert await state(uow, package_id, appointment_id) == after


async def test_undoing_a_paid_session_charge_is_refused(make_uow, clock):
    no_show_id, appointment_id, package_id = await _raised(make_uow, clock, "marked", "leo")
    async with make_uow() as uow:
        await noshows.resolve(uow, no_show_id, "redeem", by="desk")
        session = await uow.session.scalar(select(Invoice).where(Invoice.kind == "session"))
        await billing.record_payment(uow, session.id, Decimal("10.00"))
        await uow.commit()
    async with make_uow() as uow:
        after = await state(uow, package_id, appointment_id)
        with pytest.raises(WrongState, match="refund"):
            await noshows.undo(uow, no_show_id, by="desk")
        assert await state(uow, package_id, appointment_id) == after


async def test_undoing_a_fee_when_the_use_is_gone_is_refused_and_changes_nothing(make_uow, clock):
    no_show_id, appointment_id, package_id = await _raised(make_uow, clock, "marked")
    async with make_uow() as uow:
        await noshows.resolve(uow, no_show_id, "fee", no_show_fee_key="missed", by="desk")
        for hour in (9, 10, 11):  # the returned use and the other two are booked again
            await book(uow, "maya", local(2026, 11, 5, hour), package_id=package_id)
        await uow.commit()
    async with make_uow() as uow:
        after = await state(uow, package_id, appointment_id)
        assert after.counters == (5, 2, 3, 0)
        with pytest.raises(WrongState, match="no uses left; nothing was changed"):
            await noshows.undo(uow, no_show_id, by="desk")
        await uow.commit()
    async with make_uow() as uow:
        assert await state(uow, package_id, appointment_id) == after
        assert (await noshows.get_no_show(uow, no_show_id)).resolution == "fee"


@pytest.mark.parametrize("choice", ["redeem", "fee"])
async def test_undo_after_the_package_was_refunded_is_refused(make_uow, clock, choice):
    no_show_id, appointment_id, package_id = await _raised(make_uow, clock, "marked")
    async with make_uow() as uow:
        await noshows.resolve(uow, no_show_id, choice, no_show_fee_key="missed", by="desk")
        await package_admin.refund(uow, package_id, Decimal("0"), by="desk")
        await uow.commit()
    async with make_uow() as uow:
        after = await state(uow, package_id, appointment_id)
        with pytest.raises(WrongState, match="refunded"):
            await noshows.undo(uow, no_show_id, by="desk")
        await uow.commit()
    async with make_uow() as uow:
        assert await state(uow, package_id, appointment_id) == after
