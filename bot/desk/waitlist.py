"""``/desk/waitlist``: who waits for a time to open, the offers out now, and Remove.

The same services as ``clinicbot staff waitlist`` (:mod:`bot.services.waitlist`): entries in
waitlist order (first come, first offered), each with a Remove button (an offer it holds goes
to the next patient), and the offers out with the time each is held until. Reception and
managers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.web import DESK, desk_of, desk_page, render
from bot.i18n import Translator
from bot.services import audit, waitlist
from bot.services.errors import DomainError
from bot.storage.models import Fee, Location, Patient, Practitioner, WaitlistEntry
from bot.storage.uow import UnitOfWork

PATH = "/desk/waitlist"
A_MONDAY = date(2026, 11, 2)  # weekday names are read off this week


@dataclass(frozen=True)
class EntryRow:
    """One waiting entry as the page shows it (names, not ids)."""

    id: int
    patient_id: int
    patient: str
    treatment: str
    practitioner: str | None
    location: str | None
    days: str  # "Tuesday, Mornings"; empty: any
    until: date
    offer_until: datetime | None


async def _name(uow: UnitOfWork, model: type[Fee] | type[Practitioner] | type[Location],
                ident: int | None) -> str | None:
    if ident is None:
        return None
    return str(getattr(await uow.session.get(model, ident), "name", "?"))


def _days(t: Translator, entry: WaitlistEntry) -> str:
    parts = {"morning": t.gettext("Mornings"), "afternoon": t.gettext("Afternoons"),
             "evening": t.gettext("Evenings")}
    named = [t.date_text(A_MONDAY + timedelta(days=d), "EEEE") for d in entry.weekdays]
    return ", ".join(named + [parts[p] for p in entry.parts if p in parts])


async def _row(uow: UnitOfWork, t: Translator, entry: WaitlistEntry,
               held: dict[int, datetime]) -> EntryRow:
    patient = await uow.session.get(Patient, entry.patient_id)
    return EntryRow(
        id=entry.id, patient_id=entry.patient_id,
        patient=patient.full_name if patient else "?",
        treatment=await _name(uow, Fee, entry.fee_id) or "?",
        practitioner=await _name(uow, Practitioner, entry.practitioner_id),
        location=await _name(uow, Location, entry.location_id),
        days=_days(t, entry), until=entry.until,
        offer_until=held.get(entry.id),
    )


async def _show(request: Request, *, error: str | None = None, status_code: int = 200,
                ) -> Response:
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        offers = await waitlist.open_offers(uow)
        held = {offer.entry_id: offer.expires_at for offer in offers}
        starts = {offer.entry_id: offer.starts_at for offer in offers}
        rows = [await _row(uow, desk.t, entry, held) for entry in await waitlist.waiting(uow)]
        removed = request.query_params.get("removed", "")
        done = (desk.t.gettext("Entry {id} removed from the waitlist.", id=removed)
                if error is None and removed.isdigit() else None)
        return render(request, "waitlist.html", status_code=status_code, rows=rows,
                      starts=starts, error=error, done=done)


@desk_page(roles=DESK)
async def waiting(request: Request) -> Response:
    """The waiting entries in waitlist order, with the offers out."""
    return await _show(request)


@desk_page(roles=DESK)
async def remove(request: Request) -> Response:
    """Take an entry off the list (``clinicbot staff waitlist remove``)."""
    desk = desk_of(request)
    entry_id = int(request.path_params["entry_id"])
    try:
        async with desk.uow() as uow:
            await waitlist.leave(uow, entry_id, actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=400)
    return RedirectResponse(f"{PATH}?removed={entry_id}", status_code=303)


ROUTES = [
    Route(PATH, waiting, methods=["GET"]),
    Route(PATH + "/{entry_id:int}/remove", remove, methods=["POST"]),
]
