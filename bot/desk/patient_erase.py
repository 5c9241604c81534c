"""``/desk/patients/{id}/erase`` (managers): erasing a patient's personal data (issue 21).

The page first says either why the patient cannot be erased yet (what to settle first) or what
erasing does, with a "Yes, erase" button; the POST erases with the service of ``clinicbot staff
erase`` (:mod:`bot.services.erasure`) and goes back to the (now anonymous) profile.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.patient import missing, patient_id_of, profile_url
from bot.desk.web import MANAGERS, desk_of, desk_page, render
from bot.services import audit, erasure
from bot.services.errors import DomainError, NotFound


async def _confirm(request: Request, patient_id: int | None, *, error: str | None = None,
                   status_code: int = 200) -> Response:
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        try:
            if patient_id is None:
                raise NotFound("there is no such patient")
            patient, reasons = await erasure.erasable(uow, patient_id)
        except NotFound:
            return missing(request, desk.t.gettext(
                "There is no patient {id}.", id=request.path_params.get("patient_id", "")))
        except DomainError as exc:
            error, reasons = desk.t.error_text(exc), []
            patient = None
        return render(request, "erase_confirm.html", status_code=status_code, p=patient,
                      patient_id=patient_id, reasons=reasons, error=error)


@desk_page(roles=MANAGERS)
async def confirm_erase(request: Request) -> Response:
    """Why the patient cannot be erased yet, or what erasing does, and the button."""
    return await _confirm(request, patient_id_of(request))


@desk_page(roles=MANAGERS)
async def erase(request: Request) -> Response:
    """Erase the patient's personal data (confirmed on the page before)."""
    desk = desk_of(request)
    patient_id = patient_id_of(request)
    form = await request.form()
    if patient_id is None or form.get("confirmed") != "yes":
        return await _confirm(request, patient_id)
    try:
        async with desk.uow() as uow:
            await erasure.erase(uow, patient_id, actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await _confirm(request, patient_id, error=desk.t.error_text(exc), status_code=400)
    return RedirectResponse(profile_url(patient_id, "erased"), status_code=303)


ROUTES = [
    Route("/desk/patients/{patient_id}/erase", confirm_erase, methods=["GET"]),
    Route("/desk/patients/{patient_id}/erase", erase, methods=["POST"]),
]
