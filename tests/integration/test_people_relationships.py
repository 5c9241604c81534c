"""Guardians and wards load when a query asks for them, never as a side effect of a patient."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import selectinload

from bot.storage.models import Patient


async def test_guardians_and_wards_load_when_asked_for_in_async_sessions(clinic, make_uow):
    async with make_uow() as uow:
        maya = await uow.session.scalar(
            select(Patient).where(Patient.key == "maya").options(selectinload(Patient.wards)))
        leo = await uow.session.scalar(
            select(Patient).where(Patient.key == "leo").options(selectinload(Patient.guardians)))
        assert [w.key for w in maya.wards] == ["leo"]
        assert [g.key for g in leo.guardians] == ["maya"]
        got = await uow.session.get(Patient, maya.id)
        assert got.wards[0].first_name == "Leo"
        await uow.session.refresh(leo, ["wards"])
        assert leo.wards == []


async def test_a_patient_alone_does_not_load_the_family(clinic, make_uow):
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        with pytest.raises(InvalidRequestError, match="lazy='raise'"):
            _ = maya.wards
