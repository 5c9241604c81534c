"""``POST /desk/patients/{id}/export``: everything held about a patient, from their profile page.

The form on the profile (:mod:`bot.desk.patient`) posts ``copy`` = ``json`` (the export of
:mod:`bot.services.patient_export` as a file to download, ``patient-{id}-export.json``) or
``html`` (its readable copy, :mod:`bot.services.export_html`, in the patient's language,
opened in a new tab to read, print or save); ``wards`` adds the full data of the family
members they manage. A POST, so the CSRF token is checked, and each export is recorded in the
audit log (who, which patient; never the data) in the same transaction. Reception and
managers only, like the profile itself.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.desk.patient import missing, patient_id_of
from bot.desk.web import DESK, desk_of, desk_page
from bot.i18n import translator
from bot.services import audit, export_html, patient_export
from bot.services.clinic import get_clinic
from bot.services.errors import NotFound
from bot.storage.models import Patient

HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# The readable copy is a whole document of its own: no script, no outside resource, no frame.
READABLE_HEADERS = {**HEADERS, "X-Frame-Options": "DENY",
                    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


@desk_page(roles=DESK)
async def export(request: Request) -> Response:
    """The patient's data as a JSON file, or its readable copy."""
    desk = desk_of(request)
    patient_id = patient_id_of(request)
    form = await request.form()
    readable = form.get("copy") == "html"
    wards = form.get("wards") == "1"
    async with desk.uow() as uow:
        found = await uow.session.get(Patient, patient_id) if patient_id is not None else None
        if found is None or found.merged_into_id is not None:
            return missing(request, desk.t.gettext(
                "There is no patient {id}.", id=request.path_params.get("patient_id", "")))
        pid = found.id
        try:
            doc = await patient_export.export(uow, pid, include_wards=wards)
        except NotFound as exc:
            return missing(request, desk.t.error_text(exc))
        locale = found.locale or (await get_clinic(uow)).locale
        await patient_export.record(uow, pid, audit.Actor(desk.staff.key, "console"),
                                    include_wards=wards)
        await uow.commit()
    if readable:
        return Response(export_html.render(doc, translator(locale)), media_type="text/html",
                        headers=READABLE_HEADERS)
    body = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    name = f"patient-{pid}-export.json"
    return Response(body.encode(), media_type="application/json",
                    headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})


ROUTES = [Route("/desk/patients/{patient_id}/export", export, methods=["POST"])]
