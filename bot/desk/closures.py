"""``/desk/closures``: clinic closures and practitioners' time off still to come; add or remove
one, and tell the patients booked in one (reception, managers).

The services behind ``clinicbot staff closed`` and ``time-off`` (:mod:`bot.services.closures`):
nothing is offered or booked in closed time, in chat or at the desk. Days are whole days
(through the last one); with times, from the first day's time to the last day's (clinic time).
Adding one over booked appointments leaves them booked and lists them, to move or cancel.
"""

from __future__ import annotations

from datetime import date, datetime, time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.slots import number, parse_day
from bot.desk.web import DESK, Desk, desk_of, desk_page, render
from bot.services import audit, booking_views, closures
from bot.services.availability import first_moment_at
from bot.services.clinic_setup import clinic_setup
from bot.services.errors import DomainError, InvalidInput

PATH = "/desk/closures"


async def _show(request: Request, *, error: str | None = None, status_code: int = 200,
                kept: dict[str, str] | None = None) -> Response:
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        found = await booking_views.closed_times(uow, uow.clock.now())
        setup = await clinic_setup(uow)
        done = None
        what = request.query_params.get("closure", "")
        if error is None and what.isdigit():
            counts = {key: request.query_params.get(key, "0") for key in
                      ("told", "already", "unreachable")}
            if not all(value.isdigit() for value in counts.values()):
                counts = dict.fromkeys(counts, "0")
            done = {"added": desk.t.gettext("Added {id}.", id=what),
                    "removed": desk.t.gettext("Removed {id}: its time can be booked again.",
                                              id=what),
                    "told": desk.t.gettext(
                        "Told {told} patient(s) (sent by the next delivery run); "
                        "{already} had been told already; {unreachable} cannot be reached "
                        "by message: call them.", **counts),
                    }.get(request.query_params.get("done", ""))
        return render(request, "closures.html", status_code=status_code,
                      closures=[c for c in found if not c.time_off],
                      time_off=[c for c in found if c.time_off],
                      locations=list(setup.locations.values()),
                      practitioners=list(setup.practitioners.values()),
                      error=error, done=done, kept=kept or {})


@desk_page(roles=DESK)
async def closures_page(request: Request) -> Response:
    """Closures and time off still to come, and the forms to add one."""
    return await _show(request)


def _time(value: str | None) -> time | None:
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"write the time as HH:MM, not {value[:20]!r}") from None


def _span(desk: Desk, values: dict[str, str]) -> tuple[datetime, datetime]:
    first, last = parse_day(values.get("from")), parse_day(values.get("to"))
    if first is None:
        raise InvalidInput("give the first day (YYYY-MM-DD)")
    begins, ends = _time(values.get("from_time")), _time(values.get("to_time"))
    if begins is None and ends is None:
        return closures.span(first, last, desk.zone)
    if begins is None or ends is None:
        raise InvalidInput("give both times, or neither for whole days")
    end_day: date = last or first
    return (first_moment_at(datetime.combine(first, begins), desk.zone),
            first_moment_at(datetime.combine(end_day, ends), desk.zone))


@desk_page(roles=DESK)
async def add(request: Request) -> Response:
    """``kind=closure`` (``location`` empty: everywhere) or ``kind=time-off`` (``practitioner``):
    ``clinicbot staff closed add`` / ``time-off add``."""
    desk = desk_of(request)
    form = await request.form()
    values = {key: value.strip() for key, value in form.items() if isinstance(value, str)}
    time_off = values.get("kind") == "time-off"
    try:
        starts_at, ends_at = _span(desk, values)
        practitioner_id = number(values.get("practitioner")) if time_off else None
        if time_off and practitioner_id is None:
            raise InvalidInput("choose the practitioner who is away")
        location_id = None if time_off else number(values.get("location"))
        async with desk.uow() as uow:
            rows, _booked = await closures.add(
                uow, starts_at=starts_at, ends_at=ends_at, practitioner_id=practitioner_id,
                location_ids=[location_id], reason=values.get("reason") or None,
                actor=audit.Actor(desk.staff.key, "console"))
            added = rows[0].id
            await uow.commit()
    except DomainError as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=400, kept=values)
    return RedirectResponse(f"{PATH}?done=added&closure={added}#closed-{added}", status_code=303)


@desk_page(roles=DESK)
async def remove(request: Request) -> Response:
    """Remove a closure or time off (``clinicbot staff closed remove`` / ``time-off remove``)."""
    desk = desk_of(request)
    form = await request.form()
    closure_id = int(request.path_params["closure_id"])
    try:
        async with desk.uow() as uow:
            await closures.remove(uow, closure_id, time_off=form.get("kind") == "time-off",
                                  actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=400)
    return RedirectResponse(f"{PATH}?done=removed&closure={closure_id}", status_code=303)


@desk_page(roles=DESK)
async def notify(request: Request) -> Response:
    """Tell each patient booked in it, once each, in their language (``clinicbot staff closed
    notify`` / ``time-off notify``)."""
    desk = desk_of(request)
    form = await request.form()
    closure_id = int(request.path_params["closure_id"])
    try:
        async with desk.uow() as uow:
            closure = await closures.get(uow, closure_id, time_off=form.get("kind") == "time-off")
            done = await closures.notify_patients(
                uow, closure, actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=400)
    query = f"done=told&closure={closure_id}&told={len(done.told)}"
    query += f"&already={len(done.already)}&unreachable={len(done.unreachable)}"
    return RedirectResponse(f"{PATH}?{query}", status_code=303)


ROUTES = [
    Route(PATH, closures_page, methods=["GET"]),
    Route(PATH, add, methods=["POST"]),
    Route(PATH + "/{closure_id:int}/remove", remove, methods=["POST"]),
    Route(PATH + "/{closure_id:int}/notify", notify, methods=["POST"]),
]
