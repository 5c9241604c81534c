"""Logging in and out of the console: ``GET``/``POST /desk/login``, ``POST /desk/logout``.

Before login there is no session, so the form's CSRF token is a double-submit one: a random
value in the ``desk_login_csrf`` cookie (HttpOnly, SameSite=Lax) that the form's hidden field
must repeat. A wrong username or password answers the form again with one error that does not
say which was wrong; the lock-outs are :mod:`bot.services.desk_auth`'s (in the database).
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.desk.web import (
    CSRF_FIELD,
    EVERYONE,
    LOGIN_CSRF_COOKIE,
    LOGIN_PATH,
    SESSION_COOKIE,
    desk_of,
    desk_page,
    language_cookie,
    refuse,
    render,
    runtime_of,
    secure_cookies,
    speaking,
)
from bot.i18n import SHIPPED
from bot.services import desk_auth
from bot.storage.uow import UnitOfWork

HOME = "/desk/"
USERNAME_MAX = 64
PASSWORD_MAX = desk_auth.MAX_PASSWORD


async def login_form(request: Request) -> Response:
    """The login form, with a fresh login CSRF token in the form and its cookie."""
    request.state.speaking = await speaking(runtime_of(request))
    return _form(request)


def _form(request: Request, *, error: str | None = None, username: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", error=error, username=username, csrf_token=token)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path=LOGIN_PATH, httponly=True,
                        samesite="lax", secure=secure_cookies(runtime_of(request)))
    return response


async def login(request: Request) -> Response:
    """Check the login CSRF token, the lock-outs and the password; open a session."""
    runtime = runtime_of(request)
    request.state.speaking = t, _, _ = await speaking(runtime)
    form = await request.form()
    sent, expected = form.get(CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE)
    if not isinstance(sent, str) or not expected or not secrets.compare_digest(
            sent.encode(), expected.encode()):
        return refuse(request, t.gettext(
            "This login form has expired or did not come from the console. Reload the login "
            "page and try again (the browser must accept cookies)."))
    username = str(form.get("username") or "").strip()[:USERNAME_MAX]
    password = str(form.get("password") or "")
    client = request.client.host if request.client else "unknown"
    staff_id = None
    if username and password and len(password) <= PASSWORD_MAX:
        async with UnitOfWork(runtime.db, runtime.clock, readonly=True) as uow:
            member = await desk_auth.check_password(uow, username, password)
            staff_id = None if member is None else member.id
    async with UnitOfWork(runtime.db, runtime.clock) as uow:
        verdict = await desk_auth.login_attempt(uow, username, client,
                                                correct=staff_id is not None)
        opened = (await desk_auth.open_session(uow, staff_id)
                  if verdict.accepted and staff_id is not None else None)
        await uow.commit()
    if opened is None:
        minutes = int(desk_auth.LOCKOUT.total_seconds() // 60)
        error = (t.ngettext(
            "Too many failed logins: try again in {n} minute, or ask a manager.",
            "Too many failed logins: try again in {n} minutes, or ask a manager.", minutes)
            if verdict.locked else t.gettext("Wrong username or password."))
        return _form(request, error=error, username=username)
    response = RedirectResponse(HOME, status_code=303)
    response.set_cookie(SESSION_COOKIE, opened.token, path="/desk",
                        max_age=int(desk_auth.ABSOLUTE.total_seconds()), httponly=True,
                        samesite="lax", secure=secure_cookies(runtime))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


@desk_page(roles=EVERYONE)
async def logout(request: Request) -> Response:
    """End the session and go back to the login page."""
    runtime = runtime_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    async with UnitOfWork(runtime.db, runtime.clock) as uow:
        await desk_auth.close_session(uow, token)
        await uow.commit()
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/desk")
    return response


@desk_page(roles=EVERYONE)
async def choose_language(request: Request) -> Response:
    """The staff member's console language (``language``: en, es or fr), kept in a cookie of
    theirs for a year; back to the page it was chosen on (``back``, a ``/desk/`` path)."""
    desk = desk_of(request)
    form = await request.form()
    chosen, back = form.get("language"), form.get("back")
    target = back if isinstance(back, str) and back.startswith("/desk/") and "//" not in back \
        and "\\" not in back else "/desk/"
    response = RedirectResponse(target, status_code=303)
    if chosen in SHIPPED:
        response.set_cookie(language_cookie(desk.staff.id), str(chosen), max_age=365 * 86400,
                            path="/desk", httponly=True, samesite="lax",
                            secure=secure_cookies(desk.runtime))
    return response


ROUTES = [
    Route("/desk/language", choose_language, methods=["POST"]),
    Route("/desk/login", login_form, methods=["GET"]),
    Route("/desk/login", login, methods=["POST"]),
    Route("/desk/logout", logout, methods=["POST"]),
]
