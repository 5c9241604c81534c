"""Invitations on the patient's page (issue 18): create, resend, revoke; the code shown once.

The same services as ``clinicbot staff invite`` / ``invite-resend`` / ``invite-revoke``
(:mod:`bot.services.invitations`). Creating or resending answers the patient's page itself
(not a redirect) with the new code and its Telegram link: only the code's hash is kept, so this
is the one time it can be shown ("Get the link": a resend gives a fresh one). The invitee's
phone, when typed, gets the invitation by SMS through the outbox. The form carries a one-time
token (``once``), so sending it again (reloading the page that shows the code) creates nothing
and says so. Reception and managers only.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.patient import FIELD_MAX, missing, patient_id_of, profile_url, show
from bot.desk.web import DESK, desk_of, desk_page
from bot.handlers.telegram_link import bot_username, deep_link
from bot.services import audit, invitations
from bot.services.errors import DomainError, NotFound, WrongState
from bot.services.lookup import as_id

TOKEN_MAX = 40


async def _issued_view(request: Request, issued: invitations.Issued) -> dict[str, object]:
    """What the page shows of a new code: the code, the link (or why none), the SMS."""
    settings = desk_of(request).runtime.settings
    username = await bot_username(settings)
    return {
        "id": issued.invitation_id, "code": issued.code, "expires_at": issued.expires_at,
        "link": deep_link(username, issued.code) if username else None,
        "telegram": "ok" if username else (
            "off" if settings.telegram_bot_token is None else "unreachable"),
        "sms": issued.sms_queued,
    }


def _typed_phone(form: FormData) -> str:
    return str(form.get("phone", "") or "").strip()[:FIELD_MAX]


async def _refused(request: Request, patient_id: int | None, exc: DomainError) -> Response:
    """The patient's page with the reason (400), or the 404 page for an unknown invitation."""
    t = desk_of(request).t
    if patient_id is None:
        return missing(request, t.gettext(
            "There is no invitation {id}.", id=request.path_params.get("invitation_id", "")))
    return await show(request, patient_id, error=t.error_text(exc), status_code=400)


@desk_page(roles=DESK)
async def create(request: Request) -> Response:
    """A new invitation to manage the patient; ``phone``: also text it there."""
    desk = desk_of(request)
    patient_id = patient_id_of(request)
    if patient_id is None:
        return await show(request, None)
    form = await request.form()
    phone = _typed_phone(form)
    once = str(form.get("once", "") or "")[:TOKEN_MAX] or None
    try:
        async with desk.uow() as uow:
            issued = await invitations.create(
                uow, patient_id, actor=audit.Actor(desk.staff.key, "console"),
                sms_phone=phone or None, form_token=once)
            await uow.commit()
    except IntegrityError:  # the same form sent twice at once: the other one created it
        return await show(request, patient_id, status_code=400, error=desk.t.error_text(
            WrongState("this form created an invitation already; Resend gives it a new code")))
    except DomainError as exc:
        return await show(request, patient_id, error=desk.t.error_text(exc), status_code=400,
                          form={"invite_phone": phone})
    return await show(request, patient_id, issued=await _issued_view(request, issued))


@desk_page(roles=DESK)
async def resend(request: Request) -> Response:
    """The invitation in the path gets a new code and expiry (and an SMS when a phone is
    typed)."""
    desk = desk_of(request)
    phone = _typed_phone(await request.form())
    invitation_id = as_id(str(request.path_params.get("invitation_id", "")))
    patient_id: int | None = None
    try:
        if invitation_id is None:
            raise NotFound("there is no such invitation")
        async with desk.uow() as uow:
            patient_id = (await invitations.get(uow, invitation_id)).patient_id
            issued = await invitations.resend(
                uow, invitation_id, actor=audit.Actor(desk.staff.key, "console"),
                sms_phone=phone or None)
            await uow.commit()
    except DomainError as exc:
        return await _refused(request, patient_id, exc)
    return await show(request, issued.patient_id, issued=await _issued_view(request, issued))


@desk_page(roles=DESK)
async def revoke(request: Request) -> Response:
    """Withdraw the invitation in the path."""
    desk = desk_of(request)
    invitation_id = as_id(str(request.path_params.get("invitation_id", "")))
    patient_id: int | None = None
    try:
        if invitation_id is None:
            raise NotFound("there is no such invitation")
        async with desk.uow() as uow:
            patient_id = (await invitations.get(uow, invitation_id)).patient_id
            await invitations.revoke(uow, invitation_id,
                                     actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await _refused(request, patient_id, exc)
    return RedirectResponse(profile_url(patient_id, "invitation-revoked"), status_code=303)


ROUTES = [
    Route("/desk/patients/{patient_id}/invitations", create, methods=["POST"]),
    Route("/desk/invitations/{invitation_id}/resend", resend, methods=["POST"]),
    Route("/desk/invitations/{invitation_id}/revoke", revoke, methods=["POST"]),
]
