"""``/desk/patients/{id}``: a patient's profile, and adding or removing a guardian.

The page reads :func:`bot.services.patient_record.patient_record` (contact, channels,
guardians and wards, appointments, packages and memberships, open invoices, credit); the
membership and credit forms post to :mod:`bot.desk.patient_money`. Guardians are added and
removed with the services of ``clinicbot staff add-guardian`` / ``remove-guardian``
(:mod:`bot.services.access`); the guardian is found by id, key or phone as typed. A missing
patient answers a 404 page; a merged-away profile says which profile it was merged into.
Reception and managers only.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.web import DESK, desk_of, desk_page, render
from bot.i18n import language_name, normalise_locale
from bot.services import access, audit, invitations
from bot.services.errors import DomainError, NotFound
from bot.services.lookup import as_id
from bot.services.patient_record import find_as_typed, patient_record

FIELD_MAX = 100


def done_text(request: Request, code: str) -> str | None:
    """The line a redirect's ``?done=CODE`` shows (None: no known code)."""
    t = desk_of(request).t
    texts = {
        "guardian-added": t.gettext("Guardian added."),
        "guardian-removed": t.gettext("Guardian removed."),
        "enrolled": t.gettext("Enrolled in the membership."),
        "membership-cancelled": t.gettext("Membership cancelled."),
        "paid-back": t.gettext("Credit paid back."),
        "invitation-revoked": t.gettext("Invitation revoked: its code no longer works."),
        "erased": t.gettext("Personal data erased."),
    }
    paid = request.query_params.get("paid", "")
    if paid.isdigit() and len(paid) < 12:  # back from the payment form (/desk/invoices/ID/pay)
        return t.gettext("Payment recorded on invoice {id}.", id=paid)
    return texts.get(code)


async def show(request: Request, patient_id: int | None, *, error: str | None = None,
               status_code: int = 200, form: dict[str, str] | None = None,
               issued: dict[str, object] | None = None) -> Response:
    """The profile of ``patient_id``, with ``error`` above it (or the 404 page); ``issued``:
    an invitation's code and link, shown this once (:mod:`bot.desk.invitations`)."""
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        try:
            if patient_id is None:
                raise NotFound("there is no such patient")
            record = await patient_record(uow, patient_id)
        except NotFound:
            return missing(request, desk.t.gettext(
                "There is no patient {id}.", id=request.path_params.get("patient_id", "")))
        locale = normalise_locale(record.patient.locale)
        speaks = language_name(locale.split("_")[0]) if locale else None
        invited = await invitations.invitations_of(uow, record.patient.id)
        return render(request, "patient.html", status_code=status_code, r=record,
                      p=record.patient, speaks=speaks, error=error, form=form or {},
                      done=done_text(request, request.query_params.get("done", "")),
                      invitations=invited, issued=issued, once=secrets.token_urlsafe(16))


def missing(request: Request, message: str) -> Response:
    """The 404 page: ``message`` and a link back to Patients."""
    t = desk_of(request).t
    return render(request, "patient_missing.html", status_code=404,
                  heading=t.gettext("Not found"), message=message)


def patient_id_of(request: Request) -> int | None:
    return as_id(str(request.path_params.get("patient_id", "")))


def profile_url(patient_id: int, done: str) -> str:
    return f"/desk/patients/{patient_id}?done={done}"


@desk_page(roles=DESK)
async def profile(request: Request) -> Response:
    """The patient's profile."""
    return await show(request, patient_id_of(request))


@desk_page(roles=DESK)
async def add_guardian(request: Request) -> Response:
    """``guardian``: the id, key or phone of the patient who may act for this one."""
    desk = desk_of(request)
    ward_id = patient_id_of(request)
    form = await request.form()
    typed = str(form.get("guardian", "")).strip()[:FIELD_MAX]
    if ward_id is None:
        return await show(request, None)
    try:
        async with desk.uow() as uow:
            guardian = await find_as_typed(uow, typed)
            await access.add_guardian(uow, guardian.id, ward_id,
                                      actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await show(request, ward_id, error=desk.t.error_text(exc), status_code=400,
                          form={"guardian": typed})
    return RedirectResponse(profile_url(ward_id, "guardian-added"), status_code=303)


@desk_page(roles=DESK)
async def remove_guardian(request: Request) -> Response:
    """Stop the guardian in the path acting for the patient."""
    desk = desk_of(request)
    ward_id = patient_id_of(request)
    guardian_id = as_id(str(request.path_params.get("guardian_id", "")))
    if ward_id is None:
        return await show(request, None)
    try:
        if guardian_id is None:
            raise NotFound("there is no such guardian")
        async with desk.uow() as uow:
            await access.remove_guardian(uow, guardian_id, ward_id,
                                         actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await show(request, ward_id, error=desk.t.error_text(exc), status_code=400)
    return RedirectResponse(profile_url(ward_id, "guardian-removed"), status_code=303)


ROUTES = [
    Route("/desk/patients/{patient_id}", profile, methods=["GET"]),
    Route("/desk/patients/{patient_id}/guardians", add_guardian, methods=["POST"]),
    Route("/desk/patients/{patient_id}/guardians/{guardian_id}/remove", remove_guardian,
          methods=["POST"]),
]
