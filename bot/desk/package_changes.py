"""``/desk/packages/{id}/expiry``, ``/transfer`` and ``/refund``: changing a sold package.

The same services as ``clinicbot staff expiry``, ``transfer`` and ``refund``
(:mod:`bot.services.package_admin`). Expiry and refund are for managers; transfer for
reception and managers, to the family the service allows (the page lists it). A refund asks
first, like the CLI: the first POST shows the figures (:func:`bot.services.package_desk.
refund_preview`) and tries the refund in a transaction it rolls back, so an amount out of
range is refused before anything is written; only ``confirmed=yes`` refunds. Two managers
refunding at once: the package's row lock lets one refund and the other is told it was already
refunded.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.packages import missing, number, show_package
from bot.desk.web import DESK, MANAGERS, desk_of, desk_page, render
from bot.services import audit, package_admin, package_desk
from bot.services.errors import DomainError, NotFound


def amount_of(value: object) -> Decimal | None:
    """An amount as typed (``12.50`` or ``12,50``), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        found = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


@desk_page(roles=MANAGERS)
async def expiry(request: Request) -> Response:
    """``expires`` (YYYY-MM-DD), or ``clear=yes`` for no expiry (``clinicbot staff expiry``)."""
    desk = desk_of(request)
    form = await request.form()
    package_id = int(request.path_params["package_id"])
    new_date = _day(form.get("expires"))
    kept = {"expires": text_of(form.get("expires"))}
    if form.get("clear") != "yes" and new_date is None:
        return await show_package(request, package_id, status_code=400, kept=kept,
                                  error=desk.t.gettext("Give the new expiry date, or clear it."))
    try:
        async with desk.uow() as uow:
            await package_admin.change_expiry(
                uow, package_id, None if form.get("clear") == "yes" else new_date,
                actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except NotFound as exc:
        return missing(request, exc)
    except DomainError as exc:
        return await show_package(request, package_id, error=desk.t.error_text(exc),
                                  status_code=400, kept=kept)
    return RedirectResponse(f"/desk/packages/{package_id}?done=expiry", status_code=303)


@desk_page(roles=DESK)
async def transfer(request: Request) -> Response:
    """``to`` (a family member's patient id) and ``uses`` (``clinicbot staff transfer``)."""
    desk = desk_of(request)
    form = await request.form()
    package_id = int(request.path_params["package_id"])
    to, uses = number(form.get("to")), number(form.get("uses"))
    kept = {"to": text_of(form.get("to")), "uses": text_of(form.get("uses"))}
    if to is None or uses is None:
        return await show_package(request, package_id, status_code=400, kept=kept,
                                  error=desk.t.gettext(
                                      "Choose the family member and the number of uses."))
    try:
        async with desk.uow() as uow:
            gift = await package_admin.transfer(
                uow, package_id, to, uses, by=desk.staff.key,
                actor=audit.Actor(desk.staff.key, "console"))
            gift_id = gift.id
            await uow.commit()
    except DomainError as exc:
        return await show_package(request, package_id, error=desk.t.error_text(exc),
                                  status_code=400, kept=kept)
    return RedirectResponse(f"/desk/packages/{package_id}?done=transferred&to={gift_id}",
                            status_code=303)


@desk_page(roles=MANAGERS)
async def refund(request: Request) -> Response:
    """``amount`` (empty: the suggested one); ``confirmed=yes`` to refund."""
    desk = desk_of(request)
    form = await request.form()
    package_id = int(request.path_params["package_id"])
    typed = text_of(form.get("amount")).strip()
    amount = amount_of(typed)
    kept = {"amount": typed}
    if typed and amount is None:
        return await show_package(request, package_id, status_code=400, kept=kept,
                                  error=desk.t.gettext("Give the amount as a number, like 120.00."))
    actor = audit.Actor(desk.staff.key, "console")
    try:
        if form.get("confirmed") != "yes":
            async with desk.uow() as uow:  # a trial refund, rolled back: refused early
                preview = await package_desk.refund_preview(uow, package_id)
                await package_admin.refund(uow, package_id, amount, by=desk.staff.key,
                                           actor=actor)
                return render(request, "refund_confirm.html", p=preview,
                              amount=preview.suggested if amount is None else amount)
        async with desk.uow() as uow:
            await package_admin.refund(uow, package_id, amount, by=desk.staff.key, actor=actor)
            await uow.commit()
    except NotFound as exc:
        return missing(request, exc)
    except DomainError as exc:
        return await show_package(request, package_id, error=desk.t.error_text(exc),
                                  status_code=400, kept=kept)
    return RedirectResponse(f"/desk/packages/{package_id}?done=refunded", status_code=303)


ROUTES = [
    Route("/desk/packages/{package_id:int}/expiry", expiry, methods=["POST"]),
    Route("/desk/packages/{package_id:int}/transfer", transfer, methods=["POST"]),
    Route("/desk/packages/{package_id:int}/refund", refund, methods=["POST"]),
]
