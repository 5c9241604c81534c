"""The profile's money forms: enrol in / cancel a membership, pay credit back.

The same services as ``clinicbot staff enrol`` (:func:`bot.services.memberships.enrol`, then
the periods begun by today invoiced at once with
:func:`bot.services.memberships.invoice_due_periods`), ``staff cancel-membership``
(:func:`bot.services.memberships.cancel`) and ``staff pay-back``
(:func:`bot.services.credit.pay_back`). Like the CLI, cancelling a membership always asks
first, and paying back with the amount left blank (all of the credit) asks first; the
confirmation posts again with ``confirmed=yes``. Reception and managers only.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.patient import FIELD_MAX, missing, patient_id_of, profile_url, show
from bot.desk.web import DESK, desk_of, desk_page, render
from bot.services import audit, credit, memberships
from bot.services.clinic import get_clinic, local_today
from bot.services.errors import DomainError, InvalidInput
from bot.services.lookup import as_id
from bot.storage.models import Membership, MembershipPlan
from bot.storage.types import MAX_AMOUNT

AMOUNT = re.compile(r"\d+([.,]\d{1,2})?")


def day_of(text: str) -> date:
    """A day typed as YYYY-MM-DD (what a date input sends)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("give the day as YYYY-MM-DD, e.g. 2026-12-01") from None


def amount_of(text: str) -> Decimal | None:
    """An amount typed like 50, 50.00 or 50,00 (None: left blank)."""
    text = text.strip()
    if not text:
        return None
    if not AMOUNT.fullmatch(text) or Decimal(text.replace(",", ".")) > MAX_AMOUNT:
        raise InvalidInput("give the amount as a number, e.g. 50.00")
    return Decimal(text.replace(",", "."))


def field(form: FormData, name: str) -> str:
    """A text field of the form, trimmed (a file sent instead: blank)."""
    value = form.get(name, "")
    return value.strip()[:FIELD_MAX] if isinstance(value, str) else ""


@desk_page(roles=DESK)
async def enrol(request: Request) -> Response:
    """``plan`` (its key), ``start`` (a day): enrol, and invoice the periods begun by today."""
    desk = desk_of(request)
    patient_id = patient_id_of(request)
    if patient_id is None:
        return await show(request, None)
    form = await request.form()
    plan, start = field(form, "plan"), field(form, "start")
    try:
        async with desk.uow() as uow:
            membership = await memberships.enrol(uow, patient_id, plan, day_of(start),
                                                 actor=audit.Actor(desk.staff.key, "console"))
            today = local_today(await get_clinic(uow), uow.clock.now())
            await memberships.invoice_due_periods(uow, today, membership_ids=[membership.id])
            await uow.commit()
    except DomainError as exc:
        return await show(request, patient_id, error=desk.t.error_text(exc), status_code=400,
                          form={"plan": plan, "start": start})
    return RedirectResponse(profile_url(patient_id, "enrolled"), status_code=303)


@desk_page(roles=DESK)
async def cancel_membership(request: Request) -> Response:
    """``from`` (the first day not billed); asks first, ``confirmed=yes`` cancels."""
    desk = desk_of(request)
    form = await request.form()
    from_text = field(form, "from")
    membership_id = as_id(str(request.path_params.get("membership_id", "")))
    async with desk.uow(readonly=True) as uow:
        found = (await uow.session.execute(
            select_membership(membership_id))).first() if membership_id is not None else None
        if found is None:
            return missing(request, desk.t.gettext(
                "There is no membership {id}.",
                id=request.path_params.get("membership_id", "")))
        patient_id, plan_name = found
    try:
        from_day = day_of(from_text)
        if form.get("confirmed") != "yes":
            return render(request, "patient_confirm.html", heading=desk.t.gettext(
                "Cancel {plan} from {day}?", plan=plan_name,
                day=desk.t.date_text(from_day)),
                explain=desk.t.gettext("Nothing is invoiced for periods starting on or after "
                                       "that day; their unpaid invoices are voided."),
                action=f"/desk/memberships/{membership_id}/cancel",
                fields={"from": from_day.isoformat()}, yes=desk.t.gettext("Yes, cancel it"),
                back=f"/desk/patients/{patient_id}")
        async with desk.uow() as uow:
            await memberships.cancel(uow, membership_id or 0, from_day,
                                     actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await show(request, patient_id, error=desk.t.error_text(exc), status_code=400)
    return RedirectResponse(profile_url(patient_id, "membership-cancelled"), status_code=303)


def select_membership(membership_id: int) -> Select[tuple[int, str]]:
    """Whose membership it is, and its plan's name."""
    return (select(Membership.patient_id, MembershipPlan.name)
            .join(MembershipPlan, MembershipPlan.id == Membership.plan_id)
            .where(Membership.id == membership_id))


@desk_page(roles=DESK)
async def pay_back(request: Request) -> Response:
    """``amount`` (blank: all of the credit, asked first), ``method``."""
    desk = desk_of(request)
    patient_id = patient_id_of(request)
    if patient_id is None:
        return await show(request, None)
    form = await request.form()
    typed, method = field(form, "amount"), field(form, "method")
    try:
        amount = amount_of(typed)
        if amount is None and form.get("confirmed") != "yes":
            async with desk.uow(readonly=True) as uow:
                held = await credit.balance(uow, patient_id)
            if held <= 0:
                raise InvalidInput(f"patient {patient_id} has no credit to pay back")
            return render(request, "patient_confirm.html", heading=desk.t.gettext(
                "Pay back {amount}, all of the credit?",
                amount=desk.t.money(held, desk.currency)),
                explain=None, action=f"/desk/patients/{patient_id}/pay-back",
                fields={"amount": "", "method": method}, yes=desk.t.gettext("Yes, pay it back"),
                back=f"/desk/patients/{patient_id}")
        async with desk.uow() as uow:
            await credit.pay_back(uow, patient_id, amount, method=method, by=desk.staff.key,
                                  actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await show(request, patient_id, error=desk.t.error_text(exc), status_code=400,
                          form={"amount": typed, "method": method})
    return RedirectResponse(profile_url(patient_id, "paid-back"), status_code=303)


ROUTES = [
    Route("/desk/patients/{patient_id}/enrol", enrol, methods=["POST"]),
    Route("/desk/patients/{patient_id}/pay-back", pay_back, methods=["POST"]),
    Route("/desk/memberships/{membership_id}/cancel", cancel_membership, methods=["POST"]),
]
