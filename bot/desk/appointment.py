"""``/desk/appointments/{id}``: one appointment and what can be done to it.

Reception and managers see every appointment; a practitioner only their own, and may only mark
it arrived or no-show (checked here, on the server). The actions call the services behind
``clinicbot staff cancel``, ``add-package``, ``remove-package``, ``arrive``, ``undo-arrival``
and ``no-show`` (:mod:`bot.services.appointments`, :mod:`bot.services.arrivals`,
:mod:`bot.services.noshows`); cancelling asks for a confirmation first. Moving is in
:mod:`bot.desk.booking`. After an action the page is shown again with what happened
(``?done=...``: POST, redirect, GET); a refusal shows the page with the reason (400).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.slots import number
from bot.desk.web import DESK, EVERYONE, PRACTITIONER, Desk, desk_of, desk_page, refuse, render
from bot.services import appointments, arrivals, audit, booking_views, noshows
from bot.services.errors import DomainError, NotFound
from bot.storage.uow import UnitOfWork

Action = Callable[[UnitOfWork, int, Desk, dict[str, str]], Awaitable[object]]


def _others(desk: Desk, shown: booking_views.AppointmentView) -> bool:
    """A practitioner looking at another practitioner's appointment."""
    return desk.staff.role == PRACTITIONER and shown.practitioner_id != desk.staff.practitioner_id


def _done_text(desk: Desk, done: str) -> str | None:
    texts = {
        "booked": desk.t.gettext("Booked."),
        "moved": desk.t.gettext("Moved to the new time."),
        "cancelled": desk.t.gettext("Cancelled. A package use it held went back to the "
                                    "package."),
        "package-added": desk.t.gettext("The package now covers this appointment."),
        "package-removed": desk.t.gettext("The package no longer covers this appointment; its "
                                          "use went back."),
        "arrived": desk.t.gettext("Marked arrived."),
        "undone": desk.t.gettext("Arrival undone: it is booked again."),
        "no-show": desk.t.gettext("Marked no-show: decide it on the No-shows page."),
    }
    return texts.get(done)


async def _show(request: Request, *, template: str = "appointment.html",
                error: str | None = None, status_code: int = 200) -> Response:
    desk = desk_of(request)
    appointment_id = int(request.path_params["appointment_id"])
    async with desk.uow(readonly=True) as uow:
        try:
            shown = await booking_views.appointment_view(uow, appointment_id)
        except NotFound as exc:
            return render(request, "refused.html", status_code=404,
                          message=desk.t.error_text(exc))
        if _others(desk, shown):
            return refuse(request, desk.t.gettext(
                "Appointment {id} is another practitioner's: you can open only your own.",
                id=appointment_id))
        choices = []
        desk_role = desk.staff.role != PRACTITIONER
        if shown.status == "booked" and shown.package_id is None and desk_role:
            choices = await appointments.applicable_packages(
                uow, shown.patient_id, fee_id=shown.fee_id,
                practitioner_id=shown.practitioner_id, location_id=shown.location_id,
                starts_at=shown.starts_at)
        done = None if error else _done_text(desk, request.query_params.get("done", ""))
        return render(request, template, status_code=status_code, shown=shown,
                      choices=choices, error=error, done=done, now=uow.clock.now())


@desk_page(roles=EVERYONE)
async def appointment_page(request: Request) -> Response:
    """The appointment: patient, practitioner, place, fee, time, status, package; actions."""
    return await _show(request)


@desk_page(roles=DESK)
async def cancel_confirm(request: Request) -> Response:
    """Are you sure? (a form that posts the cancellation)."""
    return await _show(request, template="cancel_confirm.html")


async def _act(request: Request, action: Action, done: str) -> Response:
    desk = desk_of(request)
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    appointment_id = int(request.path_params["appointment_id"])
    try:
        async with desk.uow() as uow:
            if desk.staff.role == PRACTITIONER:
                found = await appointments.get_appointment(uow, appointment_id)
                if found.practitioner_id != desk.staff.practitioner_id:
                    return refuse(request, desk.t.gettext(
                        "Appointment {id} is another practitioner's: only the desk or that "
                        "practitioner can mark it.", id=appointment_id))
            await action(uow, appointment_id, desk, values)
            await uow.commit()
    except NotFound as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=404)
    except DomainError as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=400)
    return RedirectResponse(f"/desk/appointments/{appointment_id}?done={done}",
                            status_code=303)


def _actor(desk: Desk) -> audit.Actor:
    return audit.Actor(desk.staff.key, "console")


async def _cancel(uow: UnitOfWork, appointment_id: int, desk: Desk, form: dict[str, str]
                  ) -> None:
    await appointments.cancel(uow, appointment_id, by="staff", actor=_actor(desk))


async def _add_package(uow: UnitOfWork, appointment_id: int, desk: Desk, form: dict[str, str]
                       ) -> None:
    package_id = number(form.get("package"))
    if package_id is None:
        raise NotFound("choose the package that should cover it")
    await appointments.attach_package(uow, appointment_id, package_id, actor=_actor(desk))


async def _remove_package(uow: UnitOfWork, appointment_id: int, desk: Desk,
                          form: dict[str, str]) -> None:
    await appointments.remove_package(uow, appointment_id, actor=_actor(desk))


async def _arrive(uow: UnitOfWork, appointment_id: int, desk: Desk, form: dict[str, str]
                  ) -> None:
    await arrivals.arrive(uow, appointment_id, actor=_actor(desk))


async def _undo(uow: UnitOfWork, appointment_id: int, desk: Desk, form: dict[str, str]) -> None:
    await arrivals.undo_arrival(uow, appointment_id, actor=_actor(desk))


async def _no_show(uow: UnitOfWork, appointment_id: int, desk: Desk, form: dict[str, str]
                   ) -> None:
    await noshows.mark_no_show(uow, appointment_id, by=desk.staff.key, actor=_actor(desk))


@desk_page(roles=DESK)
async def cancel(request: Request) -> Response:
    """Cancel (``clinicbot staff cancel``): a package use returns."""
    return await _act(request, _cancel, "cancelled")


@desk_page(roles=DESK)
async def add_package(request: Request) -> Response:
    """``package=ID`` covers it (``clinicbot staff add-package``)."""
    return await _act(request, _add_package, "package-added")


@desk_page(roles=DESK)
async def remove_package(request: Request) -> Response:
    """Take the package off (``clinicbot staff remove-package``)."""
    return await _act(request, _remove_package, "package-removed")


@desk_page(roles=EVERYONE)
async def arrive(request: Request) -> Response:
    """Mark arrived (``clinicbot staff arrive``)."""
    return await _act(request, _arrive, "arrived")


@desk_page(roles=DESK)
async def undo_arrival(request: Request) -> Response:
    """Undo the arrival (``clinicbot staff undo-arrival``)."""
    return await _act(request, _undo, "undone")


@desk_page(roles=EVERYONE)
async def no_show(request: Request) -> Response:
    """Mark no-show (``clinicbot staff no-show``)."""
    return await _act(request, _no_show, "no-show")


PATH = "/desk/appointments/{appointment_id:int}"
ROUTES = [
    Route(PATH, appointment_page, methods=["GET"]),
    Route(PATH + "/cancel", cancel_confirm, methods=["GET"]),
    Route(PATH + "/cancel", cancel, methods=["POST"]),
    Route(PATH + "/add-package", add_package, methods=["POST"]),
    Route(PATH + "/remove-package", remove_package, methods=["POST"]),
    Route(PATH + "/arrive", arrive, methods=["POST"]),
    Route(PATH + "/undo-arrival", undo_arrival, methods=["POST"]),
    Route(PATH + "/no-show", no_show, methods=["POST"]),
]
