"""Rows read by a hot statement made the session's objects (bot.storage.attach), on both
databases: the same values an ORM query loads, nothing pending, the identity map respected."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.exc import InvalidRequestError

from bot.services.clinic import get_clinic
from bot.storage import attach
from bot.storage.attach import Columns, persistent, written
from bot.storage.hot import Hot
from bot.storage.models import Clinic, Conversation, Patient
from bot.storage.uow import UnitOfWork
from tests.statements import statements

PATIENTS = Columns(Patient)
CONVERSATIONS = Columns(Conversation)
PATIENT_ROW = Hot(select(*PATIENTS.columns).where(Patient.id == bindparam("patient")))
CONVERSATION_ROW = Hot(select(*CONVERSATIONS.columns).where(Conversation.id == bindparam("id")))


async def _patient_and_conversation(make_uow: Any, clock: Any) -> tuple[int, int]:
    async with make_uow() as uow:
        patient = Patient(first_name="Maya", last_name="Lopez", phone="+15145550101",
                          locale="fr", created_at=clock.now())
        uow.session.add(patient)
        await uow.session.flush()
        conversation = Conversation(channel="sms", address="+15145550101", patient_id=patient.id,
                                    dialog="book", step="day",
                                    state={"chosen": {"day": "2025-03-04"}, "shown": [1, 2]},
                                    updated_at=clock.now())
        uow.session.add(conversation)
        await uow.commit()
        return patient.id, conversation.id


def _columns(instance: object, columns: Columns) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in columns.attributes}


async def test_records_are_converted_as_an_orm_query_loads_them(make_uow, clock):
    patient_id, conversation_id = await _patient_and_conversation(make_uow, clock)
    async with make_uow() as uow:
        loaded = _columns(await uow.session.get(Conversation, conversation_id), CONVERSATIONS)
        patient = _columns(await uow.session.get(Patient, patient_id), PATIENTS)
    async with make_uow() as uow:
        (row,) = await CONVERSATION_ROW.records(uow, {"id": conversation_id})
        attached = persistent(uow, CONVERSATIONS, row)
        assert _columns(attached, CONVERSATIONS) == loaded
        assert attached.updated_at.tzinfo is not None and attached.state["shown"] == [1, 2]
        (row,) = await PATIENT_ROW.records(uow, {"patient": patient_id})
        assert _columns(persistent(uow, PATIENTS, row), PATIENTS) == patient


async def test_an_attached_row_is_persistent_clean_and_found_by_get(make_uow, clock):
    patient_id, _ = await _patient_and_conversation(make_uow, clock)
    async with make_uow() as uow:
        (row,) = await PATIENT_ROW.records(uow, {"patient": patient_id})
        attached = persistent(uow, PATIENTS, row)
        session = uow.session
        assert attached in session and not session.new and not session.dirty
        with statements(uow.engine) as seen:
            assert await session.get(Patient, patient_id) is attached
        assert seen == [], "found in the session, not read again"
        with pytest.raises(InvalidRequestError):  # lazy="raise", as when loaded by a query
            _ = attached.wards
        attached.locale = "es"  # a change is flushed as for any loaded row
        await uow.commit()
    async with make_uow() as uow:
        assert (await uow.session.get(Patient, patient_id)).locale == "es"


async def test_the_object_already_in_the_session_wins(make_uow, clock):
    patient_id, _ = await _patient_and_conversation(make_uow, clock)
    async with make_uow() as uow:
        loaded = await uow.session.get(Patient, patient_id)
        loaded.first_name = "Changed, not flushed"
        (row,) = await PATIENT_ROW.records(uow, {"patient": patient_id})
        assert persistent(uow, PATIENTS, row) is loaded
        assert loaded.first_name == "Changed, not flushed"


async def test_a_unit_of_work_that_keeps_what_it_loaded_keeps_attached_rows(engine, clock):
    async with UnitOfWork(engine, clock) as uow:
        patient = Patient(first_name="Omar", last_name="Haddad", created_at=clock.now())
        uow.session.add(patient)
        await uow.commit()
        patient_id = patient.id
    async with UnitOfWork(engine, clock, keep_loaded=True) as uow:
        (row,) = await PATIENT_ROW.records(uow, {"patient": patient_id})
        persistent(uow, PATIENTS, row)  # nothing else refers to it
        with statements(engine) as seen:
            assert (await uow.session.get(Patient, patient_id)).first_name == "Omar"
        assert seen == []


@pytest.mark.usefixtures("clinic")
async def test_the_clinic_row_is_attached_from_the_shared_copy(make_uow, engine):
    async with make_uow() as uow:
        expected = _columns((await uow.session.scalars(select(Clinic))).one(), Columns(Clinic))
    async with make_uow() as uow:
        clinic = await get_clinic(uow)
        assert await get_clinic(uow) is clinic
        assert _columns(clinic, Columns(Clinic)) == expected
        assert not uow.session.dirty
        clinic.name = "Renamed in this transaction"
        await uow.commit()
    async with make_uow() as uow:
        assert (await get_clinic(uow)).name == "Renamed in this transaction"


async def test_written_columns_are_not_flushed_again_but_other_changes_are(make_uow, clock):
    """What a prebuilt statement wrote is taken as the database's (bot.storage.attach.written);
    a change to another column of the same row is still flushed with the commit."""
    patient_id, conversation_id = await _patient_and_conversation(make_uow, clock)
    async with make_uow() as uow:
        (row,) = await CONVERSATION_ROW.records(uow, {"id": conversation_id})
        conversation = persistent(uow, CONVERSATIONS, row)
        conversation.step = "time"
        conversation.address = "+15145550199"
        await (await uow.connection()).execute(
            update(Conversation).where(Conversation.id == conversation_id).values(step="time"))
        written(conversation, ["step"])
        assert conversation in uow.session.dirty, "the address is still to be written"
        with statements(uow.engine) as seen:
            await uow.commit()
        (flushed,) = [s for s in seen if s.startswith("UPDATE")]
        assert "address" in flushed and "step" not in flushed
    async with make_uow() as uow:
        stored = await uow.session.get(Conversation, conversation_id)
        assert (stored.step, stored.address, stored.patient_id) == (
            "time", "+15145550199", patient_id)


async def test_a_row_whose_every_change_was_written_leaves_the_commit_nothing_to_flush(
    make_uow, clock
):
    """Once every change is written by the prebuilt statement, the row is not marked modified:
    the commit runs no flush at all (it ran one with nothing to write, on every message)."""
    _, conversation_id = await _patient_and_conversation(make_uow, clock)
    async with make_uow() as uow:
        (row,) = await CONVERSATION_ROW.records(uow, {"id": conversation_id})
        conversation = persistent(uow, CONVERSATIONS, row)
        conversation.step = "day"
        await (await uow.connection()).execute(
            update(Conversation).where(Conversation.id == conversation_id).values(step="day"))
        written(conversation, ["step"])
        flushes: list[object] = []
        event.listen(uow.session.sync_session, "before_flush",
                     lambda *args: flushes.append(args))
        assert conversation not in uow.session.dirty
        await uow.commit()
        assert flushes == []
    async with make_uow() as uow:
        assert (await uow.session.get(Conversation, conversation_id)).step == "day"


async def test_what_was_expired_on_the_object_in_the_session_is_loaded_from_the_row(
    make_uow, clock
):
    """As a query does: an expired attribute of the object already held takes the row's value
    (without it, reading the attribute would load it outside the async driver and fail)."""
    patient_id, _ = await _patient_and_conversation(make_uow, clock)
    async with make_uow() as uow:
        held = await uow.session.get(Patient, patient_id)
        held.locale = "es"  # changed, not expired: the change wins, as with a query
        await (await uow.connection()).execute(
            update(Patient).where(Patient.id == patient_id).values(first_name="Maia"))
        uow.session.sync_session.expire(held, ["first_name"])
        (row,) = await PATIENT_ROW.records(uow, {"patient": patient_id})
        with statements(uow.engine) as seen:
            assert persistent(uow, PATIENTS, row) is held
            assert (held.first_name, held.locale) == ("Maia", "es")
        assert seen == []


async def test_loaded_flushes_what_the_session_holds_first_as_a_query_would(make_uow, clock):
    patient_id, _ = await _patient_and_conversation(make_uow, clock)
    spanish = Hot(select(*PATIENTS.columns).where(Patient.locale == bindparam("locale")))
    async with make_uow() as uow:
        held = await uow.session.get(Patient, patient_id)
        held.locale = "es"
        assert await attach.loaded(uow, spanish, PATIENTS, {"locale": "es"}) == [held]
        assert await attach.loaded(uow, spanish, PATIENTS, {"locale": "fr"}) == []
        assert not uow.session.dirty
