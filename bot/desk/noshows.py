"""``/desk/no-shows``: the no-shows to decide, and the recent decisions to undo.

The same services as ``clinicbot staff no-shows``, ``resolve`` and ``undo``
(:mod:`bot.services.noshows`, read through :mod:`bot.services.no_show_queue`). Each form sends
the no-show's ``version`` as the page showed it, the check the Telegram buttons use: when two
staff decide at once one wins and the other is told it was already decided. Reception and
managers only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.web import DESK, desk_of, desk_page, render
from bot.services import audit, no_show_queue, noshows
from bot.services.errors import DomainError

PATH = "/desk/no-shows"


async def _show(request: Request, *, error: str | None = None, status_code: int = 200,
                kept: dict[str, str] | None = None) -> Response:
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        cases = await no_show_queue.no_show_cases(uow)
        fees = await no_show_queue.no_show_fees(uow)
        done = _done_text(request) if error is None else None
        return render(request, "no_shows.html", status_code=status_code, cases=cases,
                      fees=fees, error=error, done=done, kept=kept or {})


def _done_text(request: Request) -> str | None:
    t = desk_of(request).t
    number = request.query_params.get("no_show", "")
    if not number.isdigit():
        return None
    texts = {
        "redeemed": t.gettext("No-show {id} resolved: a package use was redeemed.", id=number),
        "fee": t.gettext("No-show {id} resolved: a no-show fee was charged.", id=number),
        "undone": t.gettext("No-show {id}: the decision was undone; it waits for a decision "
                            "again.", id=number),
    }
    return texts.get(request.query_params.get("done", ""))


@desk_page(roles=DESK)
async def no_shows(request: Request) -> Response:
    """Open no-shows, oldest first, and those decided in the last week."""
    return await _show(request)


def _version(form_value: object) -> int | None:
    return int(form_value) if isinstance(form_value, str) and form_value.isdigit() else None


@desk_page(roles=DESK)
async def resolve(request: Request) -> Response:
    """``choice=redeem`` or ``choice=fee`` with ``fee=KEY`` (``clinicbot staff resolve``)."""
    desk = desk_of(request)
    form = await request.form()
    no_show_id = int(request.path_params["no_show_id"])
    choice, fee_key = form.get("choice"), form.get("fee")
    kept = {"no_show": str(no_show_id), "fee": fee_key if isinstance(fee_key, str) else ""}
    if choice not in ("redeem", "fee"):
        return await _show(request, status_code=400, kept=kept, error=desk.t.gettext(
            "Choose Redeem package use or No-show fee."))
    try:
        async with desk.uow() as uow:
            resolved = await noshows.resolve(
                uow, no_show_id, "redeem" if choice == "redeem" else "fee",
                no_show_fee_key=fee_key if choice == "fee" and isinstance(fee_key, str)
                and fee_key else None,
                by=desk.staff.key, expected_version=_version(form.get("version")),
                actor=audit.Actor(desk.staff.key, "console"))
            done = "redeemed" if resolved.resolution == "redeemed" else "fee"
            await uow.commit()
    except DomainError as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=400, kept=kept)
    return RedirectResponse(f"{PATH}?done={done}&no_show={no_show_id}", status_code=303)


@desk_page(roles=DESK)
async def undo(request: Request) -> Response:
    """Undo a decision (``clinicbot staff undo``)."""
    desk = desk_of(request)
    form = await request.form()
    no_show_id = int(request.path_params["no_show_id"])
    try:
        async with desk.uow() as uow:
            await noshows.undo(uow, no_show_id, by=desk.staff.key,
                               expected_version=_version(form.get("version")),
                               actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await _show(request, error=desk.t.error_text(exc), status_code=400)
    return RedirectResponse(f"{PATH}?done=undone&no_show={no_show_id}", status_code=303)


ROUTES = [
    Route(PATH, no_shows, methods=["GET"]),
    Route(PATH + "/{no_show_id:int}/resolve", resolve, methods=["POST"]),
    Route(PATH + "/{no_show_id:int}/undo", undo, methods=["POST"]),
]
