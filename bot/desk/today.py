"""``/desk/today?day=YYYY-MM-DD``: each practitioner's day, and the arrival / no-show buttons.

Reads :func:`bot.services.day_sheet.day_sheet`; the buttons call the services behind
``clinicbot staff arrive``, ``undo-arrival`` and ``no-show`` (:mod:`bot.services.arrivals`,
:mod:`bot.services.noshows`). A practitioner sees only their own practitioner's columns and may
only mark their own appointments arrived or no-show (checked here, on the server); undoing an
arrival is the desk's (reception, manager). After an action the page is shown again with what
happened (``?done=...&appointment=ID``: POST, redirect, GET).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.web import DESK, EVERYONE, PRACTITIONER, Desk, desk_of, desk_page, refuse, render
from bot.services import arrivals, audit, day_sheet, noshows
from bot.services.appointments import get_appointment
from bot.services.clinic import get_clinic, local_today
from bot.services.errors import DomainError, NotFound
from bot.storage.uow import UnitOfWork

Action = Callable[[UnitOfWork, int, audit.Actor, Desk], Awaitable[object]]


def _parse_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _done_text(desk: Desk, done: str | None, appointment: str | None) -> str | None:
    texts = {
        "arrived": desk.t.gettext("Appointment {id} marked arrived.", id=appointment),
        "undone": desk.t.gettext("Arrival of appointment {id} undone: it is booked again.",
                                 id=appointment),
        "no-show": desk.t.gettext(
            "Appointment {id} marked no-show: decide it on the No-shows page.", id=appointment),
    }
    return texts.get(done or "") if appointment and appointment.isdigit() else None


async def _show(request: Request, day_text: str | None, *, error: str | None = None,
                status_code: int = 200) -> Response:
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        clinic = await get_clinic(uow)
        today = local_today(clinic, uow.clock.now())
        day = _parse_day(day_text)
        if day is None:
            if day_text and error is None:
                error = desk.t.gettext(
                    "{text} is not a date: write it as YYYY-MM-DD, for example {today}.",
                    text=day_text[:40], today=today.isoformat())
                status_code = 400
            day = today
        own = desk.staff.practitioner_id if desk.staff.role == PRACTITIONER else None
        if desk.staff.role == PRACTITIONER and own is None:
            return refuse(request, desk.t.gettext(
                "Your login is not linked to a practitioner: ask a manager to link it."))
        columns = await day_sheet.day_sheet(uow, day, practitioner_id=own)
        done = _done_text(desk, request.query_params.get("done"),
                          request.query_params.get("appointment"))
        return render(request, "today.html", status_code=status_code, day_shown=day,
                      today=today, previous=day - timedelta(days=1),
                      following=day + timedelta(days=1), columns=columns, error=error,
                      done=None if error else done, now=uow.clock.now())


@desk_page(roles=EVERYONE)
async def today(request: Request) -> Response:
    """The day's columns (``?day=``: another day)."""
    return await _show(request, request.query_params.get("day"))


async def _act(request: Request, action: Action, done: str) -> Response:
    desk = desk_of(request)
    form = await request.form()
    day_text = form.get("day")
    day_value = day_text if isinstance(day_text, str) else None
    appointment_id = int(request.path_params["appointment_id"])
    actor = audit.Actor(desk.staff.key, "console")
    try:
        async with desk.uow() as uow:
            appointment = await get_appointment(uow, appointment_id)
            if (desk.staff.role == PRACTITIONER
                    and appointment.practitioner_id != desk.staff.practitioner_id):
                return refuse(request, desk.t.gettext(
                    "Appointment {id} is another practitioner's: only the desk or that "
                    "practitioner can mark it.", id=appointment_id))
            await action(uow, appointment_id, actor, desk)
            await uow.commit()
    except NotFound as exc:
        return await _show(request, day_value, error=desk.t.error_text(exc), status_code=404)
    except DomainError as exc:
        return await _show(request, day_value, error=desk.t.error_text(exc), status_code=400)
    query = {"done": done, "appointment": str(appointment_id)}
    if _parse_day(day_value) is not None:
        query["day"] = str(_parse_day(day_value))
    return RedirectResponse(f"/desk/today?{urlencode(query)}", status_code=303)


async def _arrive(uow: UnitOfWork, appointment_id: int, actor: audit.Actor, desk: Desk) -> None:
    await arrivals.arrive(uow, appointment_id, actor=actor)


async def _undo(uow: UnitOfWork, appointment_id: int, actor: audit.Actor, desk: Desk) -> None:
    await arrivals.undo_arrival(uow, appointment_id, actor=actor)


async def _no_show(uow: UnitOfWork, appointment_id: int, actor: audit.Actor, desk: Desk
                   ) -> None:
    await noshows.mark_no_show(uow, appointment_id, by=desk.staff.key, actor=actor)


@desk_page(roles=EVERYONE)
async def arrive(request: Request) -> Response:
    """Mark arrived (``clinicbot staff arrive``)."""
    return await _act(request, _arrive, "arrived")


@desk_page(roles=DESK)
async def undo_arrival(request: Request) -> Response:
    """Undo an arrival (``clinicbot staff undo-arrival``)."""
    return await _act(request, _undo, "undone")


@desk_page(roles=EVERYONE)
async def no_show(request: Request) -> Response:
    """Mark no-show (``clinicbot staff no-show``)."""
    return await _act(request, _no_show, "no-show")


ROUTES = [
    Route("/desk/today", today, methods=["GET"]),
    Route("/desk/today/{appointment_id:int}/arrive", arrive, methods=["POST"]),
    Route("/desk/today/{appointment_id:int}/undo-arrival", undo_arrival, methods=["POST"]),
    Route("/desk/today/{appointment_id:int}/no-show", no_show, methods=["POST"]),
]
