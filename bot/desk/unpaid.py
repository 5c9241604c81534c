"""``/desk/unpaid``: every unpaid invoice, oldest due first, 50 a page.

Membership periods, installments, package, session and no-show invoices alike, read with
:func:`bot.services.patient_record.unpaid_page` (one query on the ``(status, due_on)`` index,
a keyset on due day and id, so a deep page is as fast as the first). ``?after=DAY.ID`` pages
on ("Newer"), ``?before=DAY.ID`` back ("Older"). Each row links to the patient and to
``/desk/invoices/{id}/pay``. Reception and managers only.
"""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.desk.web import DESK, desk_of, desk_page, render
from bot.services.lookup import as_id
from bot.services.patient_record import unpaid_page

PATH = "/desk/unpaid"


def key_of(text: str | None) -> tuple[date, int] | None:
    """``2026-11-02.17`` as (due day, invoice id); anything else: None (the first page)."""
    if not text or "." not in text:
        return None
    day, _, number = text.partition(".")
    invoice_id = as_id(number)
    try:
        return (date.fromisoformat(day), invoice_id) if invoice_id is not None else None
    except ValueError:
        return None


def key_text(key: tuple[date, int] | None) -> str | None:
    return f"{key[0].isoformat()}.{key[1]}" if key is not None else None


@desk_page(roles=DESK)
async def unpaid(request: Request) -> Response:
    """A page of open invoices with links to the pages before and after it."""
    desk = desk_of(request)
    after = key_of(request.query_params.get("after"))
    before = key_of(request.query_params.get("before"))
    async with desk.uow(readonly=True) as uow:
        found = await unpaid_page(uow, after=after, before=before)
        return render(request, "unpaid.html", page=found, older=key_text(found.older),
                      newer=key_text(found.newer))


ROUTES = [Route(PATH, unpaid, methods=["GET"])]
