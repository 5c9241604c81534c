"""``/desk/packages/{id}/series``: book a package's remaining uses as a series (issue 19).

The same service as ``clinicbot staff series`` (:mod:`bot.services.series`). The form (GET)
offers what the package covers (treatment, practitioner, location), the first clinic-local
time and the rhythm in days; the first POST shows every date (a time that does not fit is
replaced by the nearest free one, marked) and books nothing; only ``confirmed=yes`` books the
dates shown, all at once. A date taken meanwhile books nothing: the fresh proposal is shown
with the reason. Refusals are said in the staff member's language (:func:`refusal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.packages import missing, number
from bot.desk.web import DESK, desk_of, desk_page, render
from bot.i18n import Translator
from bot.services import audit, availability, catalog, packages, series
from bot.services.clinic import get_clinic, zone
from bot.services.errors import (
    DomainError,
    InvalidInput,
    NotFound,
    NoUsesLeft,
    PackageEnded,
    PackageExpired,
    PackageNotPaid,
    PackageNotUsable,
    PastExpiry,
)
from bot.services.package_scope import scope_of
from bot.storage.uow import UnitOfWork


@dataclass(frozen=True)
class Choice:
    """One treatment with one practitioner at one location the package covers."""

    key: str  # "fee-practitioner-location"
    label: str


async def choices(uow: UnitOfWork, package_id: int) -> list[Choice]:
    """What the package can be booked for, in the clinic's order."""
    scope = await scope_of(uow, package_id)
    found = []
    for fee in await catalog.fees(uow):
        if not scope.covers_fee(fee.id):
            continue
        for practitioner, location in await availability.allowed_pairs(uow, fee.id, scope):
            found.append(Choice(f"{fee.id}-{practitioner.id}-{location.id}",
                                f"{fee.name}, {practitioner.name}, {location.name}"))
    return found


def refusal(t: Translator, exc: DomainError) -> str:
    """A series refusal in the staff member's language (the services say it in English)."""
    if isinstance(exc, series.SeriesChanged):
        return t.gettext("A date was taken or no longer fits meanwhile, so nothing was booked. "
                         "The dates below are a fresh proposal.")
    if isinstance(exc, NoUsesLeft):
        return t.gettext("This package has no uses left to book.")
    if isinstance(exc, PackageExpired | PastExpiry):
        return t.gettext("This package has expired by then: extend its expiry to book these "
                         "sessions.")
    if isinstance(exc, PackageEnded):
        return t.gettext("This package was refunded: it can no longer be booked.")
    if isinstance(exc, PackageNotPaid):
        return t.gettext("This package can be booked once it is paid.")
    if isinstance(exc, PackageNotUsable):
        return t.gettext("This package does not cover that treatment, practitioner or location.")
    if isinstance(exc, InvalidInput) and "repeats every" in exc.message:
        return t.gettext("A series repeats every 1 to {days} days.", days=series.MAX_EVERY_DAYS)
    if isinstance(exc, InvalidInput):
        return t.gettext("Choose the treatment, the first time and the number of days between "
                         "sessions.")
    return t.error_text(exc)


def _ids(key: object) -> tuple[int, int, int] | None:
    parts = key.split("-") if isinstance(key, str) else []
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def _wall(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


async def _page(request: Request, package_id: int, *, form: dict[str, str],
                error: str | None = None, status_code: int = 200) -> Response:
    """The form, and (when the form is complete) the proposal for it."""
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        try:
            package = await packages.get_package(uow, package_id)
        except NotFound as exc:
            return missing(request, exc)
        offered = await choices(uow, package.id)
        proposal = None
        ids, wall = _ids(form.get("what")), _wall(form.get("first"))
        every = number(form.get("every"))
        if error is None and form and (ids is None or wall is None or every is None):
            error, status_code = desk.t.gettext(
                "Choose the treatment, the first time and the number of days between "
                "sessions."), 400
        elif ids is not None and wall is not None and every is not None:
            try:
                tz = zone(await get_clinic(uow))
                proposal = await series.propose(
                    uow, package_id=package.id, fee_id=ids[0], practitioner_id=ids[1],
                    location_id=ids[2], first_start=availability.first_moment_at(wall, tz),
                    every_days=every, booked_by="staff",
                )
            except DomainError as exc:
                error, status_code = refusal(desk.t, exc), 400
        return render(request, "series.html", status_code=status_code, package=package,
                      choices=offered, form=form, proposal=proposal, error=error)


@desk_page(roles=DESK)
async def series_form(request: Request) -> Response:
    """The form (nothing chosen yet)."""
    return await _page(request, int(request.path_params["package_id"]), form={})


@desk_page(roles=DESK)
async def series_post(request: Request) -> Response:
    """``what``, ``first`` (clinic time), ``every``; ``confirmed=yes`` and the ``start``s
    shown to book."""
    desk = desk_of(request)
    package_id = int(request.path_params["package_id"])
    posted = await request.form()
    form = {name: str(posted.get(name) or "") for name in ("what", "first", "every")}
    if posted.get("confirmed") != "yes":
        return await _page(request, package_id, form=form)
    ids, every = _ids(form["what"]), number(form["every"])
    try:
        starts = [datetime.fromisoformat(str(s)) for s in posted.getlist("start")]
    except ValueError:
        starts = []
    if ids is None or every is None or not starts:
        return await _page(request, package_id, form=form)
    try:
        async with desk.uow() as uow:
            made = await series.book_series(
                uow, package_id=package_id, fee_id=ids[0], practitioner_id=ids[1],
                location_id=ids[2], every_days=every, starts=starts, booked_by="staff",
                actor=audit.Actor(desk.staff.key, "console"),
            )
            count = len(await series.series_appointments(uow, made.id))
            await uow.commit()
    except NotFound as exc:
        return missing(request, exc)
    except (series.SeriesChanged, InvalidInput) as exc:
        return await _page(request, package_id, form=form, status_code=409,
                           error=refusal(desk.t, exc))
    return RedirectResponse(f"/desk/packages/{package_id}?done=series&n={count}",
                            status_code=303)


ROUTES = [
    Route("/desk/packages/{package_id:int}/series", series_form, methods=["GET"]),
    Route("/desk/packages/{package_id:int}/series", series_post, methods=["POST"]),
]
