"""The console's registrations page (``/desk/registrations``): an online registration beside
the profile it resembles, with the evidence, and Merge asked first like ``clinicbot staff
merge``, over HTTP against the real app on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from bot.services import accounts
from bot.storage.models import AuditEntry, Patient
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.integration._builders import patient

PATH = "/desk/registrations"


@pytest.fixture
async def registered(console: Console) -> tuple[int, int]:
    """(maya's id, the id of an online registration as Maya from another phone)."""
    async with console.uow() as uow:
        maya = await patient(uow, "maya")
        maya_id, born = maya.id, maya.birth_date
        copy = await accounts.register_online(uow, first_name="Maya", last_name="Chen",
                                              birth_date=born, phone="+14165550199")
        await uow.commit()
        return maya_id, copy.id


async def merged_into(console: Console, patient_id: int) -> int | None:
    async with console.uow(readonly=True) as uow:
        found = await uow.session.get(Patient, patient_id)
        assert found is not None
        return found.merged_into_id


async def post(http: httpx.AsyncClient, **data: str) -> httpx.Response:
    token = csrf_of(await http.get(PATH))
    return await http.post(f"{PATH}/merge", data={"csrf_token": token, **data})


async def test_the_pair_shows_the_evidence_and_merging_asks_first(
        console: Console, registered: tuple[int, int]) -> None:
    maya, copy = registered
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(PATH)
        assert page.status_code == 200
        assert "Maya Chen looks like Maya Chen" in page.text
        assert "+1 ••••••0199" in page.text and "name and birth date" in page.text
        asked = await post(http, keep=str(maya), merge=str(copy))
        assert asked.status_code == 200
        assert f"Merge patient {copy} into patient {maya}?" in asked.text
        assert await merged_into(console, copy) is None  # the trial was rolled back
        done = await http.post(f"{PATH}/merge", data={
            "csrf_token": csrf_of(asked), "keep": str(maya), "merge": str(copy),
            "confirmed": "yes"})
        assert done.status_code == 303
        shown = await http.get(done.headers["location"])
        assert f"Merged patient {copy} into the profile kept." in shown.text
        assert "No registrations to merge." in shown.text
    assert await merged_into(console, copy) == maya
    async with console.uow(readonly=True) as uow:
        actions = (await uow.session.scalars(select(AuditEntry.action).where(
            AuditEntry.staff == "desk", AuditEntry.face == "console"))).all()
    assert len(actions) == 1


async def test_bad_merges_are_refused_and_change_nothing(
        console: Console, registered: tuple[int, int]) -> None:
    maya, copy = registered
    async with console.client() as http:
        await log_in(http, "desk")
        missing = await post(http, keep=str(maya))
        assert missing.status_code == 400 and "Choose the two profiles" in missing.text
        itself = await post(http, keep=str(maya), merge=str(maya), confirmed="yes")
        assert itself.status_code == 400
        nobody = await post(http, keep=str(maya), merge="999999", confirmed="yes")
        assert nobody.status_code == 400 and "999999" in nobody.text
    assert await merged_into(console, copy) is None


async def test_a_practitioner_may_not_see_or_merge_registrations(
        console: Console, registered: tuple[int, int]) -> None:
    maya, copy = registered
    async with console.client() as http:
        await log_in(http, "ana")
        assert (await http.get(PATH)).status_code == 403
        token = csrf_of(await http.get("/desk/today"))
        refused = await http.post(f"{PATH}/merge", data={
            "csrf_token": token, "keep": str(maya), "merge": str(copy), "confirmed": "yes"})
        assert refused.status_code == 403
    assert await merged_into(console, copy) is None
