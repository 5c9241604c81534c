from sqlalchemy import select

from bot.storage.models import Patient


async def test_guardians_and_wards_load_in_async_sessions(clinic, make_uow):
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.key == "maya"))
        leo = await uow.session.scalar(select(Patient).where(Patient.key == "leo"))
        assert [w.key for w in maya.wards] == ["leo"]
        assert [g.key for g in leo.guardians] == ["maya"]
        got = await uow.session.get(Patient, maya.id)
        assert got.wards[0].first_name == "Leo"
