"""``/desk/patients/{id}/book`` and ``/desk/appointments/{id}/reschedule``: choose a free time
and book it, or move an appointment there (reception, managers).

The same services as ``clinicbot staff slots``, ``book`` and ``reschedule``
(:mod:`bot.services.appointments`, with ``booked_by="staff"``): the same hours, closures, time
off, other bookings and package rules as chat. A package the patient can use for the fee is
pre-selected, as in chat; its practitioners, locations and expiry narrow the times offered.
Two staff booking the same time at once: the booking service serialises them on the
practitioner, one wins and the other sees "that time has just been taken" (409) with the
times still free.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.slots import later, number, parse_moment, pick
from bot.desk.web import DESK, desk_of, desk_page, render
from bot.services import appointments, audit, booking_views, catalog, packages
from bot.services.errors import ClosedThen, DomainError, NotFound, SlotTaken
from bot.services.package_scope import scope_of

NO_PACKAGE = "none"


def _taken_text(request: Request, exc: DomainError) -> str:
    t = desk_of(request).t
    if isinstance(exc, SlotTaken) and not isinstance(exc, ClosedThen):
        return t.gettext("That time has just been taken: choose another time below.")
    return t.error_text(exc)


async def _book_page(request: Request, query: Mapping[str, str], *, error: str | None = None,
                     status_code: int = 200) -> Response:
    desk = desk_of(request)
    patient_id = int(request.path_params["patient_id"])
    async with desk.uow(readonly=True) as uow:
        patient = await booking_views.live_patient(uow, patient_id)
        fees = await catalog.fees(uow)
        fee = next((f for f in fees if str(f.id) == query.get("fee")), fees[0])
        choices = await booking_views.packages_for_fee(uow, patient.id, fee.id)
        wanted = query.get("package")
        if query.get("shown", str(fee.id)) != str(fee.id):
            wanted = None  # another fee was chosen: pre-select its package again
        chosen = next((c for c in choices if str(c.package.id) == wanted), None)
        if chosen is None and wanted != NO_PACKAGE and choices:
            chosen = choices[0]  # pre-selected, as in chat
        picker = await pick(
            uow, desk, query, fee, scope=chosen.scope if chosen else None,
            expires_on=chosen.package.expires_on if chosen else None)
        return render(request, "book.html", status_code=status_code, patient=patient,
                      fees=fees, fee=fee, choices=choices, chosen=chosen, picker=picker,
                      later=later(picker), error=error)


@desk_page(roles=DESK)
async def book_form(request: Request) -> Response:
    """Fee, package, practitioner and location, first day; then the free times."""
    try:
        return await _book_page(request, request.query_params)
    except NotFound as exc:
        return render(request, "refused.html", status_code=404,
                      message=desk_of(request).t.error_text(exc))


@desk_page(roles=DESK)
async def book(request: Request) -> Response:
    """Book one of the free times (``clinicbot staff book``); to the appointment's page."""
    desk = desk_of(request)
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    patient_id = int(request.path_params["patient_id"])
    package = values.get("package", NO_PACKAGE)
    kept = {"fee": values.get("fee", ""), "package": package,
            "where": f"{values.get('practitioner', '')}-{values.get('location', '')}"}
    try:
        starts_at = parse_moment(values.get("at"))
        kept["day"] = starts_at.astimezone(desk.zone).date().isoformat()
        fee_id, practitioner_id = number(values.get("fee")), number(values.get("practitioner"))
        location_id = number(values.get("location"))
        if fee_id is None or practitioner_id is None or location_id is None:
            raise NotFound("choose a fee, a practitioner and a location")
        async with desk.uow() as uow:
            appointment = await appointments.book(
                uow, patient_id=patient_id, practitioner_id=practitioner_id,
                location_id=location_id, fee_id=fee_id, starts_at=starts_at,
                package_id=number(package), booked_by="staff",
                actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        status = 409 if isinstance(exc, SlotTaken) and not isinstance(exc, ClosedThen) else 400
        try:
            return await _book_page(request, kept, error=_taken_text(request, exc),
                                    status_code=status)
        except NotFound as missing:
            return render(request, "refused.html", status_code=404,
                          message=desk.t.error_text(missing))
    return RedirectResponse(f"/desk/appointments/{appointment.id}?done=booked", status_code=303)


async def _move_page(request: Request, query: Mapping[str, str], *, error: str | None = None,
                     status_code: int = 200) -> Response:
    desk = desk_of(request)
    appointment_id = int(request.path_params["appointment_id"])
    async with desk.uow(readonly=True) as uow:
        shown = await booking_views.appointment_view(uow, appointment_id)
        fee = await catalog.get_fee(uow, shown.fee_id)
        scope = await scope_of(uow, shown.package_id) if shown.package_id else None
        expires_on = None
        if shown.package_id is not None:
            expires_on = (await packages.get_package(uow, shown.package_id)).expires_on
        query = {"where": f"{shown.practitioner_id}-{shown.location_id}", **query}
        picker = await pick(uow, desk, query, fee, scope=scope, expires_on=expires_on,
                            exclude_appointment_id=shown.id)
        return render(request, "reschedule.html", status_code=status_code, shown=shown,
                      picker=picker, later=later(picker), error=error)


@desk_page(roles=DESK)
async def reschedule_form(request: Request) -> Response:
    """Another practitioner or location (where the fee and package allow), and a free time."""
    try:
        return await _move_page(request, request.query_params)
    except NotFound as exc:
        return render(request, "refused.html", status_code=404,
                      message=desk_of(request).t.error_text(exc))


@desk_page(roles=DESK)
async def reschedule(request: Request) -> Response:
    """Move the appointment (``clinicbot staff reschedule``); back to its page."""
    desk = desk_of(request)
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    appointment_id = int(request.path_params["appointment_id"])
    kept = {"where": f"{values.get('practitioner', '')}-{values.get('location', '')}"}
    try:
        starts_at = parse_moment(values.get("at"))
        kept["day"] = starts_at.astimezone(desk.zone).date().isoformat()
        async with desk.uow() as uow:
            await appointments.reschedule(
                uow, appointment_id, starts_at, by="staff",
                new_practitioner_id=number(values.get("practitioner")),
                new_location_id=number(values.get("location")),
                actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        status = 409 if isinstance(exc, SlotTaken) and not isinstance(exc, ClosedThen) else 400
        try:
            return await _move_page(request, kept, error=_taken_text(request, exc),
                                    status_code=status)
        except NotFound as missing:
            return render(request, "refused.html", status_code=404,
                          message=desk.t.error_text(missing))
    return RedirectResponse(f"/desk/appointments/{appointment_id}?done=moved", status_code=303)


ROUTES = [
    Route("/desk/patients/{patient_id:int}/book", book_form, methods=["GET"]),
    Route("/desk/patients/{patient_id:int}/book", book, methods=["POST"]),
    Route("/desk/appointments/{appointment_id:int}/reschedule", reschedule_form,
          methods=["GET"]),
    Route("/desk/appointments/{appointment_id:int}/reschedule", reschedule, methods=["POST"]),
]
