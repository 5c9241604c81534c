"""The console's first pages: ``/desk/`` (the dashboard's four queues) and ``/desk/patients``.

Both only read, through the services the CLI uses (:mod:`bot.services.desk_queues`); each row
links to the page where it is handled. A practitioner's start page is their day
(``/desk/today``), so ``/desk/`` sends them there.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.web import DESK, EVERYONE, PRACTITIONER, desk_of, desk_page, render
from bot.services import desk_queues
from bot.services.errors import InvalidInput

SEARCH_MAX = 100


@desk_page(roles=EVERYONE)
async def dashboard(request: Request) -> Response:
    """No-shows to decide, registrations to merge, unpaid invoices, failed deliveries."""
    desk = desk_of(request)
    if desk.staff.role == PRACTITIONER:
        return RedirectResponse("/desk/today", status_code=303)
    async with desk.uow(readonly=True) as uow:
        no_shows = await desk_queues.no_shows_to_decide(uow)
        registrations = await desk_queues.registrations_to_merge(uow)
        unpaid = await desk_queues.unpaid(uow)
        failed = await desk_queues.failed_deliveries(uow)
        return render(request, "dashboard.html", no_shows=no_shows,
                      registrations=registrations, unpaid=unpaid, failed=failed)


@desk_page(roles=DESK)
async def patients(request: Request) -> Response:
    """``?q=TEXT``: patients by name, phone as typed, or id; each links to their page."""
    desk = desk_of(request)
    query = request.query_params.get("q", "").strip()[:SEARCH_MAX]
    async with desk.uow(readonly=True) as uow:
        found, error = [], None
        if query:
            try:
                found = await desk_queues.search_patients(uow, query)
            except InvalidInput as exc:
                error = desk.t.error_text(exc)
        return render(request, "patients.html", query=query, found=found, error=error)


ROUTES = [
    Route("/desk/", dashboard, methods=["GET"]),
    Route("/desk/patients", patients, methods=["GET"]),
]
