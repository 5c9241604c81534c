"""Erase on the console (``/desk/patients/ID/erase``, managers): the page says what to settle
first or what erasing does; the confirmed POST erases and the audit log names the console;
reception, a practitioner, a forged form and an unconfirmed POST change nothing. Over HTTP
against the real app on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import AuditEntry, Patient
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.e2e.test_desk_registrations import registered as registered  # the fixture


async def _erased(console: Console, patient_id: int) -> bool:
    async with console.uow(readonly=True) as uow:
        found = await uow.session.get(Patient, patient_id)
        assert found is not None
        return found.erased_at is not None


async def test_only_a_manager_erases_and_only_once_confirmed(
        console: Console, registered: tuple[int, int]) -> None:
    maya, copy = registered
    path = f"/desk/patients/{copy}/erase"
    for who in ("desk", "ana"):
        async with console.client() as http:
            await log_in(http, who)
            assert "Erase personal data" not in (await http.get(f"/desk/patients/{maya}")).text
            assert (await http.get(path)).status_code == 403
            token = csrf_of(await http.get("/desk/", follow_redirects=True))
            refused = await http.post(path, data={"csrf_token": token, "confirmed": "yes"})
            assert refused.status_code == 403
    async with console.client() as http:
        await log_in(http, "mia")
        settle = await http.get(f"/desk/patients/{maya}/erase")
        assert "This patient cannot be erased yet. Settle these first:" in settle.text
        assert "ward patient 2 (managed by this patient alone): invoice" in settle.text
        page = await http.get(path)
        assert "Erase Maya Chen (patient" in page.text and "Yes, erase" in page.text
        forged = await http.post(path, data={"csrf_token": "forged", "confirmed": "yes"})
        assert forged.status_code == 403
        unconfirmed = await http.post(path, data={"csrf_token": csrf_of(page)})
        assert unconfirmed.status_code == 200 and "Yes, erase" in unconfirmed.text
        assert not await _erased(console, copy)
        done = await http.post(path, data={"csrf_token": csrf_of(page), "confirmed": "yes"})
        assert done.status_code == 303
        assert done.headers["location"] == f"/desk/patients/{copy}?done=erased"
        shown = await http.get(done.headers["location"])
        assert f"Erased patient #{copy}" in shown.text and "Personal data erased." in shown.text
        again = await http.post(path, data={"csrf_token": csrf_of(shown), "confirmed": "yes"})
        assert again.status_code == 400 and "was erased" in again.text
    assert await _erased(console, copy)
    async with console.uow(readonly=True) as uow:
        rows = (await uow.session.execute(select(
            AuditEntry.staff, AuditEntry.face, AuditEntry.patient_id)
            .where(AuditEntry.action == "patient.erase"))).all()
    assert [tuple(r) for r in rows] == [("mia", "console", copy)]
