"""The console's export of a patient's data (``POST /desk/patients/{id}/export``, issue 21) over
HTTP on SQLite and PostgreSQL: the JSON file and the readable copy, each audited; a
practitioner, a form without its CSRF token and an unknown patient are refused, unaudited."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.services import patient_export
from bot.storage.models import AuditEntry
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.e2e.test_desk_patient import ids


async def _exports(console: Console) -> list[tuple[str, str, int | None]]:
    async with console.uow(readonly=True) as uow:
        rows = await uow.session.execute(
            select(AuditEntry.staff, AuditEntry.face, AuditEntry.patient_id)
            .where(AuditEntry.action == patient_export.ACTION).order_by(AuditEntry.id))
        return [(staff, face, pid) for staff, face, pid in rows.tuples()]


async def test_the_desk_downloads_a_patients_data_and_others_are_refused(
        console: Console) -> None:
    who = await ids(console)
    maya = f"/desk/patients/{who['maya']}"
    async with console.client() as http:
        await log_in(http, "ana")
        page = await http.get("/desk/", follow_redirects=True)
        refused = await http.post(f"{maya}/export",
                                  data={"csrf_token": csrf_of(page), "copy": "json"})
        assert refused.status_code == 403
    async with console.client() as http:
        await log_in(http, "desk")
        profile = await http.get(maya)
        assert f'action="{maya}/export"' in profile.text
        token = csrf_of(profile)
        assert (await http.post(f"{maya}/export", data={"copy": "json"})).status_code == 403
        file = await http.post(f"{maya}/export", data={"csrf_token": token, "copy": "json"})
        assert file.status_code == 200
        assert file.headers["content-disposition"] == (
            f'attachment; filename="patient-{who["maya"]}-export.json"')
        doc = json.loads(file.content)
        assert doc["patient"]["key"] == "maya" and "ward_exports" not in doc
        copy = await http.post(f"{maya}/export",
                               data={"csrf_token": token, "copy": "html", "wards": "1"})
        assert copy.status_code == 200 and copy.headers["content-type"].startswith("text/html")
        assert "Data held about Leo Chen" in copy.text
        assert "default-src 'none'" in copy.headers["content-security-policy"]
        gone = await http.post("/desk/patients/999999/export",
                               data={"csrf_token": token, "copy": "json"})
        assert gone.status_code == 404
    assert await _exports(console) == [("desk", "console", who["maya"])] * 2
