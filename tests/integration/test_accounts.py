"""People and accounts (RULES.md 17-19) on the example clinic, on both databases.

maya (+14165550101) is leo's guardian; sofia (+14165550102) manages nobody; staff "desk" takes
registration alerts, staff "ana" does not.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, insert, select

from bot.services import accounts
from bot.services.errors import InvalidInput, NotAllowed, NotFound, WrongState
from bot.storage.models import OutboxMessage, Patient, Staff, guardianship
from tests.integration._builders import patient

pytestmark = pytest.mark.usefixtures("clinic")


async def _ids(make_uow) -> dict[str, int]:
    async with make_uow() as uow:
        rows = await uow.session.execute(select(Patient.key, Patient.id))
        return {key: pid for key, pid in rows.tuples() if key}


async def _register(make_uow, **fields) -> int:
    values = {"first_name": "Nora", "last_name": "Park", "birth_date": date(1990, 1, 1)}
    values.update(fields)
    async with make_uow() as uow:
        new = await accounts.register_online(uow, **values)
        await uow.commit()
        return new.id


async def _alerts(make_uow) -> list[tuple[int | None, str, dict]]:
    """(staff id, purpose, params) of every registration alert queued."""
    async with make_uow() as uow:
        rows = await uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "registration")
            .order_by(OutboxMessage.id)
        )
        return [(a.staff_id, a.purpose, dict(a.params)) for a in rows.all()]


# --- who a channel proves (RULES.md 19) -------------------------------------------------


async def test_a_phone_finds_its_owner_and_an_unknown_phone_nobody(make_uow):
    async with make_uow() as uow:
        assert [p.key for p in await accounts.find_by_phone(uow, "+14165550101")] == ["maya"]
        assert [p.key for p in await accounts.find_by_phone(uow, "+14165550102")] == ["sofia"]
        assert await accounts.find_by_phone(uow, "+14165550199") == []


async def test_a_shared_phone_finds_every_live_owner(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        leo = await uow.session.get(Patient, ids["leo"])
        leo.phone = "+14165550101"
        await uow.commit()
    async with make_uow() as uow:
        found = await accounts.find_by_phone(uow, "+14165550101")
        assert [p.id for p in found] == [ids["maya"], ids["leo"]]
        # families come loaded, so a chat can tell the guardian from the ward
        assert [[w.id for w in p.wards] for p in found] == [[ids["leo"]], []]
        assert [[g.id for g in p.guardians] for p in found] == [[], [ids["maya"]]]


async def test_telegram_links_by_shared_contact_and_moves_if_shared_again(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        assert await accounts.find_by_telegram(uow, 777) is None
        await accounts.link_telegram(uow, ids["maya"], 777)
        await uow.commit()
    async with make_uow() as uow:
        found = await accounts.find_by_telegram(uow, 777)
        assert found is not None and found.id == ids["maya"]
        # The same Telegram account proves another phone: one account, one profile.
        await accounts.link_telegram(uow, ids["sofia"], 777)
        await uow.commit()
    async with make_uow() as uow:
        assert (await accounts.find_by_telegram(uow, 777)).id == ids["sofia"]
        assert (await uow.session.get(Patient, ids["maya"])).telegram_user_id is None


async def test_a_merged_profile_cannot_be_linked(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        await accounts.merge(uow, ids["maya"], ids["sofia"], by="desk")
        await uow.commit()
    async with make_uow() as uow:
        with pytest.raises(NotFound, match="merged into"):
            await accounts.link_telegram(uow, ids["sofia"], 5)


# --- guardians act for their wards, and only for them (RULES.md 17) ------------------------


async def test_acting_for_lists_the_account_first_then_its_wards(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        assert [p.key for p in await accounts.acting_for(uow, ids["maya"])] == ["maya", "leo"]
        assert [p.key for p in await accounts.acting_for(uow, ids["sofia"])] == ["sofia"]
        assert [p.key for p in await accounts.acting_for(uow, ids["leo"])] == ["leo"]


async def test_a_guardian_may_act_for_herself_and_her_ward(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        assert (await accounts.require_may_act(uow, ids["maya"], ids["leo"])).key == "leo"
        assert (await accounts.require_may_act(uow, ids["maya"], ids["maya"])).key == "maya"
        assert (await accounts.require_may_act(uow, ids["sofia"], ids["sofia"])).key == "sofia"


@pytest.mark.parametrize(
    ("account", "target"),
    [("sofia", "leo"), ("leo", "maya"), ("maya", "sofia"), ("sofia", "maya")],
)
async def test_nobody_acts_for_a_profile_they_do_not_own_or_manage(make_uow, account, target):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        with pytest.raises(NotAllowed, match="only for its own profile"):
            await accounts.require_may_act(uow, ids[account], ids[target])


async def test_an_id_that_does_not_exist_is_refused_like_any_other(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        with pytest.raises(NotAllowed):
            await accounts.require_may_act(uow, ids["maya"], 999_999)
        with pytest.raises(NotAllowed):
            await accounts.require_may_act(uow, ids["maya"], -1)


async def test_a_ward_merged_away_is_no_longer_acted_for(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        kid = await accounts.register_online(
            uow, first_name="Kai", last_name="Chen", birth_date=date(2019, 5, 5)
        )
        await uow.session.execute(
            insert(guardianship).values(guardian_id=ids["maya"], ward_id=kid.id)
        )
        await uow.commit()
        kid_id = kid.id
    async with make_uow() as uow:
        assert kid_id in [p.id for p in await accounts.acting_for(uow, ids["maya"])]
        await accounts.merge(uow, ids["sofia"], kid_id, by="desk")
        await uow.commit()
    async with make_uow() as uow:
        assert kid_id not in [p.id for p in await accounts.acting_for(uow, ids["maya"])]
        with pytest.raises(NotAllowed):
            await accounts.require_may_act(uow, ids["maya"], kid_id)


# --- online registration and duplicates (RULES.md 18) --------------------------------------


async def test_online_registration_is_cleaned_and_marked(make_uow):
    new_id = await _register(
        make_uow, first_name="  nora  ", last_name=" Park  Lee ", phone="+1 416 555 0150",
        telegram_user_id=4242, locale="es-MX",
    )
    async with make_uow() as uow:
        new = await uow.session.get(Patient, new_id)
        assert (new.first_name, new.last_name) == ("nora", "Park Lee")
        assert new.phone == "+14165550150" and new.telegram_user_id == 4242
        assert new.locale == "es_MX" and new.online_registration and not new.opted_out
        assert (await accounts.find_by_telegram(uow, 4242)).id == new_id
    assert await _alerts(make_uow) == []  # resembles nobody: no alert


async def test_same_name_and_birth_date_alert_the_desk_with_ids_only(make_uow):
    ids = await _ids(make_uow)
    new_id = await _register(
        make_uow, first_name="MÁYA", last_name="chen", birth_date=date(1988, 4, 2)
    )
    async with make_uow() as uow:
        dupes = await accounts.likely_duplicates(uow, new_id)
        assert [p.id for p in dupes] == [ids["maya"]]
        desk = await uow.session.scalar(select(Staff.id).where(Staff.key == "desk"))
    params = {"patient_id": new_id, "duplicate_ids": [ids["maya"]]}
    # Only the desk takes registration alerts (ana's alerts are no-shows only).
    assert await _alerts(make_uow) == [(desk, f"registration:{new_id}:staff:{desk}", params)]


async def test_accents_and_case_on_the_stored_side_match_too(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        (await uow.session.get(Patient, ids["sofia"])).birth_date = date(1975, 12, 1)
        await uow.commit()
    new_id = await _register(
        make_uow, first_name="sofia", last_name="RAMIREZ", birth_date=date(1975, 12, 1)
    )
    async with make_uow() as uow:
        assert [p.id for p in await accounts.likely_duplicates(uow, new_id)] == [ids["sofia"]]
    assert len(await _alerts(make_uow)) == 1


async def test_same_phone_is_a_likely_duplicate(make_uow):
    ids = await _ids(make_uow)
    new_id = await _register(make_uow, phone="+14165550101")
    async with make_uow() as uow:
        assert [p.id for p in await accounts.likely_duplicates(uow, new_id)] == [ids["maya"]]
    assert (await _alerts(make_uow))[0][2]["duplicate_ids"] == [ids["maya"]]


@pytest.mark.parametrize(
    ("first", "last", "born"),
    [
        ("Maya", "Chen", date(1988, 4, 3)),  # same name, other birth date
        ("Mara", "Chen", date(1988, 4, 2)),  # same birth date, other name
        ("Maya", "Cheng", date(1988, 4, 2)),
    ],
)
async def test_near_misses_are_not_duplicates(make_uow, first, last, born):
    new_id = await _register(make_uow, first_name=first, last_name=last, birth_date=born)
    async with make_uow() as uow:
        assert await accounts.likely_duplicates(uow, new_id) == []
    assert await _alerts(make_uow) == []


async def test_a_merged_profile_is_not_a_duplicate(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        await accounts.merge(uow, ids["sofia"], ids["maya"], by="desk")
        await uow.commit()
    new_id = await _register(
        make_uow, first_name="Maya", last_name="Chen", birth_date=date(1988, 4, 2)
    )
    async with make_uow() as uow:
        # maya's row is merged away; the kept profile (sofia) has another name.
        assert await accounts.likely_duplicates(uow, new_id) == []


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"first_name": "   "}, InvalidInput, "first name is empty"),
        ({"last_name": "<script>"}, InvalidInput, "last name may contain"),
        ({"first_name": "x" * 101}, InvalidInput, "too long"),
        ({"birth_date": date(2026, 11, 3)}, InvalidInput, "future"),
        ({"birth_date": date(1890, 1, 1)}, InvalidInput, "130 years"),
        ({"phone": "not a phone"}, InvalidInput, "not a phone number"),
        ({"locale": "zz-top"}, InvalidInput, "not a language"),
    ],
)
async def test_bad_registrations_are_refused_and_write_nothing(make_uow, fields, error, message):
    async with make_uow() as uow:
        before = await uow.session.scalar(select(func.count()).select_from(Patient))
    with pytest.raises(error, match=message):
        await _register(make_uow, **fields)
    async with make_uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Patient)) == before


async def test_a_telegram_account_with_a_profile_cannot_register_again(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        await accounts.link_telegram(uow, ids["maya"], 31337)
        await uow.commit()
    with pytest.raises(WrongState, match="already has a profile"):
        await _register(make_uow, telegram_user_id=31337)


# --- language and opt-out -----------------------------------------------------------------


async def test_locale_is_set_validated_and_cleared(make_uow):
    async with make_uow() as uow:
        sofia = await patient(uow, "sofia")
        await accounts.set_locale(uow, sofia.id, "en")
        await uow.commit()
    async with make_uow() as uow:
        assert (await patient(uow, "sofia")).locale == "en"
        with pytest.raises(InvalidInput):
            await accounts.set_locale(uow, (await patient(uow, "sofia")).id, "qq")
        await accounts.set_locale(uow, (await patient(uow, "sofia")).id, None)
        await uow.commit()
    async with make_uow() as uow:
        assert (await patient(uow, "sofia")).locale is None


async def test_opt_out_and_back_in(make_uow):
    ids = await _ids(make_uow)
    async with make_uow() as uow:
        await accounts.opt_out(uow, ids["maya"])
        await uow.commit()
    async with make_uow() as uow:
        assert (await uow.session.get(Patient, ids["maya"])).opted_out
        assert not (await uow.session.get(Patient, ids["sofia"])).opted_out
        await accounts.opt_in(uow, ids["maya"])
        await uow.commit()
    async with make_uow() as uow:
        assert not (await uow.session.get(Patient, ids["maya"])).opted_out
