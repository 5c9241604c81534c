"""``/desk/invoices/{id}/pay``: record a payment on an invoice, or pay it from credit.

The same services as ``clinicbot staff pay`` (:func:`bot.services.billing.record_payment`,
:func:`bot.services.credit.pay_from_credit`): at most what is still owed, by one of
:data:`bot.services.billing.PAYMENT_METHODS`; from credit, at most what the credit holds (an
empty amount: as much as both allow). The invoice's row lock makes two staff paying the last
of an invoice at once record it once; the other is refused.

The form carries ``back``, the console page it came from; after the payment the browser goes
there with ``paid={invoice id}`` (the package's page says so). Only a ``/desk/`` path is
followed, never another site: anything else goes to the invoice's package or patient.
Reception and managers only.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.package_changes import amount_of, text_of
from bot.desk.packages import missing
from bot.desk.web import DESK, desk_of, desk_page, render
from bot.services import audit, billing, credit, package_desk
from bot.services.errors import DomainError, NotFound
from bot.storage.models import Invoice


def safe_back(value: object) -> str | None:
    """``value`` when it is a path inside the console (``/desk/...``), else None."""
    if not isinstance(value, str) or "\\" in value or any(ord(c) < 32 for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/desk/"):
        return None
    if "/../" in parts.path or parts.path.endswith("/..") or parts.path.startswith("//"):
        return None
    return urlunsplit(("", "", parts.path, parts.query, ""))


def _default_back(invoice: Invoice) -> str:
    if invoice.package_id is not None:
        return f"/desk/packages/{invoice.package_id}"
    return f"/desk/patients/{invoice.patient_id}"


def _with_paid(back: str, invoice_id: int) -> str:
    parts = urlsplit(back)
    query = "&".join(q for q in (parts.query, urlencode({"paid": invoice_id})) if q)
    return urlunsplit(("", "", parts.path, query, ""))


async def _show(request: Request, invoice_id: int, *, error: str | None = None,
                status_code: int = 200, kept: dict[str, str] | None = None) -> Response:
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        try:
            page = await package_desk.invoice_page(uow, invoice_id)
        except NotFound as exc:
            return missing(request, exc)
        kept = kept or {}
        back = (safe_back(kept.get("back")) or safe_back(request.query_params.get("back"))
                or _default_back(page.invoice))
        return render(request, "invoice_pay.html", status_code=status_code, page=page,
                      inv=page.invoice, methods=billing.PAYMENT_METHODS, back=back,
                      error=error, kept=kept)


@desk_page(roles=DESK)
async def pay_form(request: Request) -> Response:
    """The invoice, what is owed, the patient's credit, and the form."""
    return await _show(request, int(request.path_params["invoice_id"]))


@desk_page(roles=DESK)
async def pay(request: Request) -> Response:
    """``amount`` and ``method``, or ``source=credit`` (``amount`` optional); ``back``."""
    desk = desk_of(request)
    form = await request.form()
    invoice_id = int(request.path_params["invoice_id"])
    typed = text_of(form.get("amount")).strip()
    amount = amount_of(typed)
    from_credit = form.get("source") == "credit"
    method = text_of(form.get("method")) or "desk"
    kept = {"amount": typed, "method": method, "source": "credit" if from_credit else "",
            "back": text_of(form.get("back"))}
    problem = None
    if typed and amount is None:
        problem = desk.t.gettext("Give the amount as a number, like 120.00.")
    elif not from_credit and amount is None:
        problem = desk.t.gettext("Give the amount received.")
    elif not from_credit and method not in billing.PAYMENT_METHODS:
        problem = desk.t.gettext("Choose how the money was received.")
    if problem is not None:
        return await _show(request, invoice_id, error=problem, status_code=400, kept=kept)
    actor = audit.Actor(desk.staff.key, "console")
    try:
        async with desk.uow() as uow:
            if from_credit:
                paid = await credit.pay_from_credit(uow, invoice_id, amount, actor=actor)
                invoice = paid.invoice
            else:
                assert amount is not None
                await billing.record_payment(uow, invoice_id, amount, method=method,
                                             actor=actor)
                invoice = await billing.lock_invoice(uow, invoice_id)
            back = safe_back(kept["back"]) or _default_back(invoice)
            await uow.commit()
    except NotFound as exc:
        return missing(request, exc)
    except DomainError as exc:
        return await _show(request, invoice_id, error=desk.t.error_text(exc), status_code=400,
                           kept=kept)
    return RedirectResponse(_with_paid(back, invoice_id), status_code=303)


ROUTES = [
    Route("/desk/invoices/{invoice_id:int}/pay", pay_form, methods=["GET"]),
    Route("/desk/invoices/{invoice_id:int}/pay", pay, methods=["POST"]),
]
