"""``/desk/staff`` (managers): the staff members, their console passwords and Telegram chats.

The list: key, name, role, whether a Telegram chat is linked, the phone SMS alerts go to, and
whether a console password is set (:func:`bot.services.desk_auth.roster`). "Set password" is
``clinicbot staff password`` (:func:`bot.services.desk_auth.set_password`: an argon2 hash, the
member's open sessions end, an audit entry ``staff.password``; the password is never logged or
shown again). "Revoke chat" is ``clinicbot staff revoke-chat``
(:func:`bot.services.access.revoke_staff_chat`), asked first on a confirmation page.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.web import LOGIN_PATH, MANAGERS, desk_of, desk_page, render
from bot.services import access, audit, desk_auth
from bot.services.errors import DomainError, NotFound
from bot.storage.models import Staff

PATH = "/desk/staff"


async def _show(request: Request, *, error: str | None = None, status_code: int = 200,
                failed_key: str | None = None) -> Response:
    desk = desk_of(request)
    async with desk.uow(readonly=True) as uow:
        members = await desk_auth.roster(uow)
        done = request.query_params.get("done") if error is None else None
        return render(request, "staff.html", status_code=status_code, members=members,
                      error=error, done=done, who=request.query_params.get("key", ""),
                      failed_key=failed_key, min_password=desk_auth.MIN_PASSWORD)


@desk_page(roles=MANAGERS)
async def staff_list(request: Request) -> Response:
    """Every current staff member, with Set password and Revoke chat."""
    return await _show(request)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


@desk_page(roles=MANAGERS)
async def set_password(request: Request) -> Response:
    """``password`` and ``repeat`` (the same); at least the minimum length."""
    desk = desk_of(request)
    key = request.path_params["key"]
    form = await request.form()
    password, repeat = _text(form.get("password")), _text(form.get("repeat"))
    if password != repeat:
        return await _show(request, status_code=400, failed_key=key, error=desk.t.gettext(
            "The two passwords differ; type the same password twice."))
    try:
        async with desk.uow() as uow:
            await desk_auth.set_password(uow, key, password,
                                         actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await _show(request, status_code=404 if isinstance(exc, NotFound) else 400,
                           failed_key=key, error=desk.t.error_text(exc))
    if key == desk.staff.key:  # their own sessions ended with it, this one too
        return RedirectResponse(LOGIN_PATH, status_code=303)
    return RedirectResponse(f"{PATH}?done=password&key={quote(key)}", status_code=303)


@desk_page(roles=MANAGERS)
async def revoke_chat(request: Request) -> Response:
    """Without ``confirm=yes``: the confirmation page; with it, the chat is taken off."""
    desk = desk_of(request)
    key = request.path_params["key"]
    form = await request.form()
    try:
        async with desk.uow() as uow:
            member = await uow.session.scalar(select(Staff).where(Staff.key == key))
            if member is None:
                raise NotFound(f"there is no staff member {key!r}")
            if form.get("confirm") != "yes":
                return render(request, "revoke_confirm.html", member=member)
            from_file = member.chat_from_file
            chat = await access.revoke_staff_chat(
                uow, member, actor=audit.Actor(desk.staff.key, "console"))
            await uow.commit()
    except DomainError as exc:
        return await _show(request, status_code=404 if isinstance(exc, NotFound) else 400,
                           error=desk.t.error_text(exc))
    done = "none" if chat is None else "revoked-file" if from_file else "revoked"
    return RedirectResponse(f"{PATH}?done={done}&key={quote(key)}", status_code=303)


ROUTES = [
    Route(PATH, staff_list, methods=["GET"]),
    Route(PATH + "/{key}/password", set_password, methods=["POST"]),
    Route(PATH + "/{key}/revoke-chat", revoke_chat, methods=["POST"]),
]
