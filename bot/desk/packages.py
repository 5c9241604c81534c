"""``/desk/patients/{id}/sell`` and ``/desk/packages/{id}``: sell a package, and its page.

The same services as ``clinicbot staff sell`` and ``staff package``
(:func:`bot.services.packages.sell_package`, read through :mod:`bot.services.package_desk`).
Selling shows every template of the set-up file (name, price, uses, expiry, what it covers);
the sale may be credited to the staff member selling it (the CLI's ``--by``), and leads to the
package's page with its invoice to pay (``/desk/invoices/{id}/pay``). The package's page shows
what RULES.md 11 promises, with its payments, refund and transfers, and the forms of
:mod:`bot.desk.package_changes`. Reception and managers only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.web import DESK, MANAGER, desk_of, desk_page, render
from bot.services import audit, package_desk, packages
from bot.services.errors import DomainError, NotFound
from bot.storage.models import Patient


def number(value: object) -> int | None:
    """A form's or query's positive whole number, else None."""
    return int(value) if isinstance(value, str) and value.isdigit() else None


def missing(request: Request, exc: DomainError) -> Response:
    """The 404 page saying what was not found."""
    return render(request, "package_missing.html", status_code=404,
                  message=desk_of(request).t.error_text(exc))


async def _show_sale(request: Request, patient_id: int, *, error: str | None = None,
                     status_code: int = 200, chosen: str = "") -> Response:
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        patient = await uow.session.get(Patient, patient_id)
        if patient is None or patient.merged_into_id is not None:
            return missing(request, NotFound(f"there is no patient {patient_id}"))
        templates = await package_desk.desk_templates(uow)
        return render(request, "package_sell.html", status_code=status_code, patient=patient,
                      templates=templates, error=error, chosen=chosen)


@desk_page(roles=DESK)
async def sell_form(request: Request) -> Response:
    """The templates to choose from."""
    return await _show_sale(request, int(request.path_params["patient_id"]))


@desk_page(roles=DESK)
async def sell(request: Request) -> Response:
    """``template`` (its id); ``credit_me=yes`` credits the sale to the seller."""
    desk = desk_of(request)
    form = await request.form()
    patient_id = int(request.path_params["patient_id"])
    template_id = number(form.get("template"))
    if template_id is None:
        return await _show_sale(request, patient_id, status_code=400,
                                error=desk.t.gettext("Choose a package to sell."))
    try:
        async with desk.uow() as uow:
            package = await packages.sell_package(
                uow, patient_id, template_id,
                sold_by_staff_id=desk.staff.id if form.get("credit_me") == "yes" else None,
                actor=audit.Actor(desk.staff.key, "console"))
            package_id = package.id
            await uow.commit()
    except DomainError as exc:  # an unknown patient: _show_sale answers 404
        return await _show_sale(request, patient_id, error=desk.t.error_text(exc),
                                status_code=400, chosen=str(template_id))
    return RedirectResponse(f"/desk/packages/{package_id}?done=sold", status_code=303)


def _done_text(request: Request) -> str | None:
    t = desk_of(request).t
    query = request.query_params
    texts = {
        "sold": t.gettext("Package sold. Record the payment of its invoice below."),
        "expiry": t.gettext("The expiry was changed."),
        "refunded": t.gettext("The package was refunded; the amount is the patient's credit."),
    }
    if query.get("done") == "transferred" and number(query.get("to")) is not None:
        return t.gettext("Uses moved to package {id}.", id=query["to"])
    if query.get("done") == "series" and number(query.get("n")) is not None:
        return t.gettext("Booked {n} sessions as a series.", n=query["n"])
    if number(query.get("paid")) is not None:
        return t.gettext("Payment recorded on invoice {id}.", id=query["paid"])
    return texts.get(query.get("done", ""))


async def show_package(request: Request, package_id: int, *, error: str | None = None,
                       status_code: int = 200, kept: dict[str, str] | None = None) -> Response:
    """The package's page (``error``: a refused change, shown above the page)."""
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        try:
            page = await package_desk.package_page(uow, package_id)
        except NotFound as exc:
            return missing(request, exc)
        return render(request, "package.html", status_code=status_code, page=page,
                      d=page.details, error=error,
                      done=_done_text(request) if error is None else None,
                      kept=kept or {}, manager=desk.staff.role == MANAGER)


@desk_page(roles=DESK)
async def package(request: Request) -> Response:
    """One package in full."""
    return await show_package(request, int(request.path_params["package_id"]))


ROUTES = [
    Route("/desk/patients/{patient_id:int}/sell", sell_form, methods=["GET"]),
    Route("/desk/patients/{patient_id:int}/sell", sell, methods=["POST"]),
    Route("/desk/packages/{package_id:int}", package, methods=["GET"]),
]
