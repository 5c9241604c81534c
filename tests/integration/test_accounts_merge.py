"""Merging a duplicate profile (RULES.md 18): everything moves, nothing is lost or counted twice.

The "twin" is an online registration of maya with a bit of everything: a paid package with a
booked use, a package transferred from maya, a payment, credit, an annual membership and its
invoice, a Telegram link and conversation, a queued message, and family links both ways.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from bot.services import accounts, billing, memberships, outbox, packages
from bot.services.errors import InvalidInput, NotFound, WrongState
from bot.storage.models import (
    Appointment,
    Conversation,
    CreditEntry,
    Invoice,
    Membership,
    OutboxMessage,
    Patient,
    PatientPackage,
    Payment,
    guardianship,
)
from tests.integration._builders import local, patient

pytestmark = pytest.mark.usefixtures("clinic")
OWNED = (
    Appointment, PatientPackage, Invoice, Payment, CreditEntry, Membership, Conversation,
    OutboxMessage,
)


async def _ids(make_uow) -> dict[str, int]:
    async with make_uow() as uow:
        rows = await uow.session.execute(select(Patient.key, Patient.id))
        return {key: pid for key, pid in rows.tuples() if key}


async def _link(uow, guardian_id: int, ward_id: int) -> None:
    await uow.session.execute(
        insert(guardianship).values(guardian_id=guardian_id, ward_id=ward_id)
    )


async def _twin(make_uow) -> dict[str, int]:
    """Create maya's twin profile with everything a profile can own; return the ids."""
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        twin = await accounts.register_online(
            uow, first_name="Maya", last_name="Chen", birth_date=date(1988, 4, 2),
            phone="+14165550177", telegram_user_id=9001, locale="fr",
        )
        sold = await packages.sell_package(uow, twin.id, "physio-5")
        invoice = await uow.session.scalar(select(Invoice).where(Invoice.package_id == sold.id))
        await billing.record_payment(uow, invoice.id, Decimal("400.00"))
        mayas = await uow.session.scalar(
            select(PatientPackage).where(PatientPackage.patient_id == ids["maya"])
            .options(*packages.SCOPE_ROWS)
        )
        uow.session.add(
            PatientPackage(
                patient_id=twin.id, template_id=mayas.template_id, name=mayas.name,
                price=Decimal("0"), patient_pays=Decimal("0"), uses=1, redeemed=0, booked=0,
                available=1, purchased_on=date(2026, 11, 2), expires_on=mayas.expires_on,
                paid_enough=True, transferred_from_id=mayas.id, created_at=uow.clock.now(),
            )
        )
        appointment = Appointment(
            patient_id=twin.id, practitioner_id=mayas.practitioners[0].id,
            location_id=mayas.locations[0].id, fee_id=mayas.fees[0].id,
            starts_at=local(2026, 11, 3, 10), ends_at=local(2026, 11, 3, 10, 30),
            status="booked", booked_by="patient", created_at=uow.clock.now(),
        )
        uow.session.add(appointment)
        await uow.session.flush()
        await packages.reserve_use(uow, sold, appointment)
        uow.session.add(
            CreditEntry(patient_id=twin.id, amount=Decimal("25.00"), source="refund",
                        reason="goodwill", created_at=uow.clock.now())
        )
        member = await memberships.enrol(uow, twin.id, "wellness-annual", date(2026, 10, 1))
        await memberships.invoice_due_periods(uow, date(2026, 11, 2), membership_ids=[member.id])
        uow.session.add(
            Conversation(channel="telegram", address="9001", patient_id=twin.id, state={},
                         updated_at=uow.clock.now())
        )
        await outbox.enqueue(uow, purpose="test:twin", kind="reminder", params={},
                             patient_id=twin.id)
        kid = await accounts.register_online(
            uow, first_name="Kai", last_name="Chen", birth_date=date(2019, 5, 5)
        )
        for guardian_id, ward_id in [
            (twin.id, ids["leo"]),  # leo is maya's ward already: must not be doubled
            (twin.id, kid.id),
            (ids["sofia"], twin.id),
            (ids["maya"], twin.id),  # would become maya -> maya: must be dropped
        ]:
            await _link(uow, guardian_id, ward_id)
        await uow.commit()
        return {**ids, "twin": twin.id, "kid": kid.id, "package": sold.id,
                "transferred_from": mayas.id, "appointment": appointment.id}


async def _totals(uow, patient_ids: tuple[int, ...] | None = None) -> dict[str, object]:
    """Row counts per table and money/use sums, overall or for some patients."""
    totals: dict[str, object] = {}
    for model in OWNED:
        stmt = select(func.count()).select_from(model)
        if patient_ids is not None:
            stmt = stmt.where(model.patient_id.in_(patient_ids))
        totals[model.__tablename__] = await uow.session.scalar(stmt)

    def mine(stmt, model):
        return stmt if patient_ids is None else stmt.where(model.patient_id.in_(patient_ids))

    for name, column, model in [
        ("invoiced", Invoice.amount, Invoice),
        ("invoice_paid", Invoice.paid, Invoice),
        ("payments", Payment.amount, Payment),
        ("credit", CreditEntry.amount, CreditEntry),
    ]:
        cents = await uow.session.scalar(mine(select(func.sum(column)), model))
        totals[name] = cents  # raw cents: exact
    for counter in ("uses", "redeemed", "booked", "available"):
        column = getattr(PatientPackage, counter)
        totals[counter] = await uow.session.scalar(
            mine(select(func.sum(column)), PatientPackage)
        )
    return totals


async def test_merge_moves_everything_and_conserves_every_count_and_sum(make_uow):
    ids = await _twin(make_uow)
    maya, twin = ids["maya"], ids["twin"]
    async with make_uow() as uow:
        everything_before = await _totals(uow)
        both_before = await _totals(uow, (maya, twin))
        twin_before = await _totals(uow, (twin,))
    assert twin_before["appointment"] == 1 and twin_before["patient_package"] == 2
    assert twin_before["payment"] == 1 and twin_before["membership"] == 1

    async with make_uow() as uow:
        loaded = await uow.session.get(Appointment, ids["appointment"])  # already in session
        result = await accounts.merge(uow, maya, twin, by="desk:ana", link_channels=True)
        assert loaded.patient_id == maya  # the session sees the move too
        await uow.commit()
    assert result.moved["appointment"] == 1 and result.moved["patient_package"] == 2
    assert result.moved["invoice"] == twin_before["invoice"] and result.by == "desk:ana"

    async with make_uow() as uow:
        assert await _totals(uow) == everything_before  # nothing lost, nothing doubled
        assert await _totals(uow, (maya,)) == both_before
        assert all(not v for v in (await _totals(uow, (twin,))).values())
        gone = await uow.session.get(Patient, twin)
        kept = await uow.session.get(Patient, maya)
        assert gone.merged_into_id == maya
        assert (kept.phone, kept.locale, kept.key) == ("+14165550101", "en_CA", "maya")
        assert kept.telegram_user_id == 9001 and gone.telegram_user_id is None
        transferred = await uow.session.scalar(
            select(PatientPackage).where(PatientPackage.transferred_from_id.is_not(None))
        )
        assert transferred.patient_id == maya
        assert transferred.transferred_from_id == ids["transferred_from"]
        conversation = await uow.session.scalar(select(Conversation))
        assert conversation.patient_id == maya


async def test_after_a_merge_the_old_phone_and_telegram_find_the_kept_profile(make_uow):
    ids = await _twin(make_uow)
    async with make_uow() as uow:
        await accounts.merge(uow, ids["maya"], ids["twin"], by="desk", link_channels=True)
        await uow.commit()
    async with make_uow() as uow:
        assert [p.id for p in await accounts.find_by_phone(uow, "+14165550177")] == [ids["maya"]]
        assert (await accounts.find_by_telegram(uow, 9001)).id == ids["maya"]
        with pytest.raises(NotFound, match="merged into"):
            await accounts.get_patient(uow, ids["twin"])


async def test_without_confirmation_the_registrations_channels_are_taken_off(make_uow):
    """A name and birth date prove nothing: the twin's phone and Telegram reach nobody."""
    ids = await _twin(make_uow)
    async with make_uow() as uow:
        result = await accounts.merge(uow, ids["maya"], ids["twin"], by="desk")
        await uow.commit()
    assert sorted(result.left_off) == ["+14165550177", "telegram"]
    assert not result.channels_linked and result.moved["conversation"] == 0
    async with make_uow() as uow:
        assert await accounts.find_by_phone(uow, "+14165550177") == []
        assert await accounts.find_by_telegram(uow, 9001) is None
        kept = await uow.session.get(Patient, ids["maya"])
        gone = await uow.session.get(Patient, ids["twin"])
        assert (kept.phone, kept.telegram_user_id) == ("+14165550101", None)
        assert (gone.phone, gone.telegram_user_id, gone.merged_into_id) == (
            None, None, ids["maya"])
        chat = await uow.session.scalar(select(Conversation))
        assert (chat.patient_id, chat.dialog, chat.state) == (None, None, {})
        # Everything else moved all the same.
        assert (await _totals(uow, (ids["maya"],)))["patient_package"] == 3


async def test_keeping_a_registration_takes_its_own_channel_off_without_confirmation(make_uow):
    """Merging a file profile into a stranger's registration must not give the stranger it."""
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        stranger = await accounts.register_online(
            uow, first_name="Maya", last_name="Chen", birth_date=date(1988, 4, 2),
            phone="+14165550177")
        await uow.commit()
        stranger_id = stranger.id
    async with make_uow() as uow:
        result = await accounts.merge(uow, stranger_id, ids["maya"], by="desk")
        await uow.commit()
    assert result.left_off == ("+14165550177",)
    async with make_uow() as uow:
        kept = await uow.session.get(Patient, stranger_id)
        assert kept.phone == "+14165550101" and not kept.online_registration
        assert await accounts.find_by_phone(uow, "+14165550177") == []


async def test_family_links_are_joined_without_duplicates_or_self_guardianship(make_uow):
    ids = await _twin(make_uow)
    async with make_uow() as uow:
        result = await accounts.merge(uow, ids["maya"], ids["twin"], by="desk")
        await uow.commit()
    assert result.moved["guardianships"] == 2  # kid as ward, sofia as guardian
    async with make_uow() as uow:
        rows = set((await uow.session.execute(
            select(guardianship.c.guardian_id, guardianship.c.ward_id))).tuples().all())
        assert rows == {
            (ids["maya"], ids["leo"]),
            (ids["maya"], ids["kid"]),
            (ids["sofia"], ids["maya"]),
        }
        people = [p.id for p in await accounts.acting_for(uow, ids["maya"])]
        assert people[0] == ids["maya"] and sorted(people[1:]) == sorted([ids["leo"], ids["kid"]])


async def test_the_kept_profile_takes_what_it_lacks_and_an_opt_out(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        twin = await accounts.register_online(
            uow, first_name="Leo", last_name="Chen", birth_date=date(2015, 6, 12),
            phone="+14165550188", telegram_user_id=55, locale="es",
        )
        twin.email = "leo@example.com"
        await accounts.opt_out(uow, twin.id)
        await uow.commit()
        twin_id = twin.id
    async with make_uow() as uow:
        await accounts.merge(uow, ids["leo"], twin_id, by="desk", link_channels=True)
        await uow.commit()
    async with make_uow() as uow:
        leo = await patient(uow, "leo")
        assert (leo.phone, leo.email, leo.locale, leo.telegram_user_id) == (
            "+14165550188", "leo@example.com", "es", 55
        )
        assert leo.birth_date == date(2015, 6, 11)  # his own is kept
        assert leo.opted_out


async def test_when_both_have_telegram_each_account_still_finds_the_kept_profile(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        await accounts.link_telegram(uow, ids["maya"], 1)
        await accounts.link_telegram(uow, ids["sofia"], 2)
        await uow.commit()
    async with make_uow() as uow:
        await accounts.merge(uow, ids["maya"], ids["sofia"], by="desk")
        await uow.commit()
    async with make_uow() as uow:
        assert (await patient(uow, "maya")).telegram_user_id == 1
        assert (await accounts.find_by_telegram(uow, 1)).id == ids["maya"]
        assert (await accounts.find_by_telegram(uow, 2)).id == ids["maya"]
        assert [p.id for p in await accounts.find_by_phone(uow, "+14165550102")] == [ids["maya"]]


async def test_a_profile_merged_into_one_later_merged_follows_to_the_last(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        await accounts.merge(uow, ids["sofia"], ids["leo"], by="desk")
        await accounts.merge(uow, ids["maya"], ids["sofia"], by="desk")
        await uow.commit()
    async with make_uow() as uow:
        assert (await uow.session.get(Patient, ids["leo"])).merged_into_id == ids["maya"]
        assert (await uow.session.get(Patient, ids["sofia"])).merged_into_id == ids["maya"]
        assert [p.id for p in await accounts.find_by_phone(uow, "+14165550102")] == [ids["maya"]]


@pytest.mark.parametrize(
    ("keep", "gone", "error", "message"),
    [
        ("maya", "maya", InvalidInput, "into itself"),
        ("maya", "merged", WrongState, "already merged"),
        ("merged", "maya", WrongState, "already merged"),
        ("maya", "nobody", NotFound, "no patient"),
        ("nobody", "maya", NotFound, "no patient"),
    ],
)
async def test_impossible_merges_are_refused_and_change_nothing(
    make_uow, keep, gone, error, message
):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        await accounts.merge(uow, ids["sofia"], ids["leo"], by="desk")
        await uow.commit()
    ids |= {"merged": ids["leo"], "nobody": 999_999}
    async with make_uow() as uow:
        before = await _totals(uow, (ids["maya"],))
        with pytest.raises(error, match=message):
            await accounts.merge(uow, ids[keep], ids[gone], by="desk")
    async with make_uow() as uow:
        assert await _totals(uow, (ids["maya"],)) == before
        assert (await patient(uow, "maya")).merged_into_id is None


async def test_two_copies_of_the_same_membership_are_refused(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        twin = await accounts.register_online(
            uow, first_name="Sofia", last_name="Ramirez", birth_date=date(1980, 1, 1)
        )
        await memberships.enrol(uow, twin.id, "wellness-monthly", date(2026, 9, 1))
        await uow.commit()
        twin_id = twin.id
    async with make_uow() as uow:
        with pytest.raises(WrongState, match="same membership starting 2026-09-01"):
            await accounts.merge(uow, ids["sofia"], twin_id, by="desk")
    async with make_uow() as uow:
        assert (await uow.session.get(Patient, twin_id)).merged_into_id is None


async def test_the_merged_profiles_queued_messages_go_to_the_kept_one(make_uow):
    ids = await _twin(make_uow)
    async with make_uow() as uow:
        await accounts.merge(uow, ids["maya"], ids["twin"], by="desk")
        await uow.commit()
    async with make_uow() as uow:
        queued = await uow.session.scalar(
            select(OutboxMessage).where(OutboxMessage.purpose == "test:twin")
        )
        assert queued.patient_id == ids["maya"]
        # The appointment's reserved use is still counted once on the moved package.
        sold = await packages.get_package(uow, ids["package"])
        assert (sold.patient_id, sold.booked, sold.available) == (ids["maya"], 1, 4)
        appointment = await uow.session.get(Appointment, ids["appointment"])
        assert (appointment.patient_id, appointment.package_id) == (ids["maya"], sold.id)


async def test_keeping_the_new_profile_takes_the_set_up_key_so_a_reload_finds_it(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        fresh = await accounts.register_online(
            uow, first_name="Maya", last_name="Chen", birth_date=date(1988, 4, 2)
        )
        await uow.commit()
        fresh_id = fresh.id
    async with make_uow() as uow:
        await accounts.merge(uow, fresh_id, ids["maya"], by="desk")
        await uow.commit()
    async with make_uow() as uow:
        assert (await patient(uow, "maya")).id == fresh_id
        kept = await uow.session.get(Patient, fresh_id)
        assert (kept.phone, kept.email) == ("+14165550101", "maya@example.com")
        assert (await uow.session.get(Patient, ids["maya"])).key is None
        # maya's ward came along
        assert [p.id for p in await accounts.acting_for(uow, fresh_id)] == [fresh_id, ids["leo"]]
