"""What every console page is built from: the logged-in staff member, roles, CSRF, rendering.

* :func:`desk_page` -- the decorator every ``/desk/`` route uses (see :mod:`bot.desk` for the
  whole pattern). It finds the session from the ``desk_session`` cookie (none or expired: a
  redirect to ``/desk/login``), refuses a staff member whose role is not in ``roles`` (403
  page), and refuses any POST whose ``csrf_token`` field is not the session's (403 page).
  Inside the page, :func:`desk_of` gives the :class:`Desk`.
* :func:`render` -- one template, with the base layout's context: ``_`` (gettext in the staff
  member's locale), ``money``, ``day``, ``when`` (clinic time), ``phone`` (national format),
  ``role_name``, ``desk`` and ``csrf_token``.
* :func:`refuse` -- the 403 page with a message saying what to do.

Staff locale: the console speaks the clinic's locale (``[clinic] locale``) until a staff member
picks another language (en, es or fr) from the header; their choice is a cookie of their own
(:func:`language_cookie`, so staff sharing a desk computer each keep theirs, and no server
keeps it in memory). Dates and times are in the clinic's time zone.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.i18n import SHIPPED, Translator, language_name, negotiate, phone_text, translator
from bot.services import desk_auth
from bot.services.clinic import get_clinic
from bot.services.desk_auth import StaffMember
from bot.storage.uow import UnitOfWork

if TYPE_CHECKING:  # bot.server mounts the console: importing it here would be a circle
    from bot.server import Runtime

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "desk_session"
LOGIN_CSRF_COOKIE = "desk_login_csrf"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = "/desk/login"
RECEPTION, PRACTITIONER, MANAGER = "reception", "practitioner", "manager"
EVERYONE = frozenset({RECEPTION, PRACTITIONER, MANAGER})
DESK = frozenset({RECEPTION, MANAGER})
MANAGERS = frozenset({MANAGER})

TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,
)

Page = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Desk:
    """The logged-in staff member of a request and how to speak to them."""

    runtime: Runtime
    staff: StaffMember
    csrf_token: str
    t: Translator
    zone: ZoneInfo
    currency: str

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        """A unit of work on the clinic's database, with the server's clock."""
        return UnitOfWork(self.runtime.db, self.runtime.clock, readonly=readonly)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.state.runtime
    return runtime


def desk_of(request: Request) -> Desk:
    """The :class:`Desk` :func:`desk_page` found for this request."""
    desk: Desk = request.state.desk
    return desk


def secure_cookies(runtime: Runtime) -> bool:
    """Cookies carry ``Secure`` when the server is reached over HTTPS (``PUBLIC_BASE_URL``)."""
    return (runtime.settings.public_base_url or "").startswith("https://")


def language_cookie(staff_id: int) -> str:
    """The cookie holding one staff member's console language (a shipped language code)."""
    return f"desk_language_{staff_id}"


async def speaking(runtime: Runtime, chosen: str | None = None
                   ) -> tuple[Translator, ZoneInfo, str]:
    """The console's translator (the language ``chosen`` by the staff member if we ship it,
    with the clinic's region for formats; else the clinic's locale), time zone and currency."""
    async with UnitOfWork(runtime.db, runtime.clock, readonly=True) as uow:
        clinic = await get_clinic(uow)
        locale = clinic.locale
        if chosen in SHIPPED and chosen != locale.split("_")[0]:
            region = locale.split("_")[1] if "_" in locale else None
            locale = negotiate([f"{chosen}_{region}" if region else None, chosen],
                               clinic.locale)  # fr_CA where Babel has it, else plain es
        return translator(locale), ZoneInfo(clinic.timezone), clinic.currency


def desk_page(roles: Collection[str]) -> Callable[[Page], Page]:
    """Decorate a console route: logged in, one of ``roles``, and a valid CSRF token on POST."""
    allowed = frozenset(roles)

    def decorate(page: Page) -> Page:
        @functools.wraps(page)
        async def guarded(request: Request) -> Response:
            runtime = runtime_of(request)
            token = request.cookies.get(SESSION_COOKIE)
            live = None
            if token:
                async with UnitOfWork(runtime.db, runtime.clock, readonly=True) as uow:
                    live = await desk_auth.session_for(uow, token)
            if token and live is not None and live.due_touch:
                async with UnitOfWork(runtime.db, runtime.clock) as uow:
                    await desk_auth.touch_session(uow, token)
                    await uow.commit()
            if live is None:
                return RedirectResponse(LOGIN_PATH, status_code=303)
            t, zone, currency = await speaking(
                runtime, request.cookies.get(language_cookie(live.staff.id)))
            request.state.desk = Desk(runtime, live.staff, live.csrf_token, t, zone, currency)
            if live.staff.role not in allowed:
                return refuse(request, t.gettext(
                    "Your role ({role}) may not open this page. Ask a manager if you need it.",
                    role=role_name(t, live.staff.role)))
            if request.method == "POST":
                form = await request.form()
                sent = form.get(CSRF_FIELD)
                if not isinstance(sent, str) or not secrets.compare_digest(
                        sent.encode(), live.csrf_token.encode()):
                    return refuse(request, t.gettext(
                        "This form has expired or did not come from the console. Go back, "
                        "reload the page and send it again."))
            return await page(request)

        return guarded

    return decorate


def role_name(t: Translator, role: str) -> str:
    """A role as staff read it, translated."""
    names = {RECEPTION: t.gettext("reception"), PRACTITIONER: t.gettext("practitioner"),
             MANAGER: t.gettext("manager")}
    return names.get(role, role)


def helpers(t: Translator, zone: ZoneInfo, currency: str) -> dict[str, Any]:
    """What every template may call: ``_``, ``money``, ``day``, ``when``, ``phone``."""

    # One render's texts, each written once: a page repeats prices, zeros and times (Babel's
    # formatting was most of a long page's time at the benchmark's scale).
    amounts: dict[Decimal, str] = {}
    moments: dict[datetime, str] = {}

    def money(amount: Decimal) -> str:
        if amount not in amounts:
            amounts[amount] = t.money(amount, currency)
        return amounts[amount]

    def day(value: date) -> str:
        return t.date_text(value)

    def when(moment: datetime) -> str:
        if moment not in moments:
            moments[moment] = t.datetime_text(moment, zone)
        return moments[moment]

    return {"_": t.gettext, "money": money, "day": day, "when": when, "phone": phone_text,
            "language": t.language, "languages": [(code, language_name(code)) for code in SHIPPED],
            "role_name": functools.partial(role_name, t)}


def render(request: Request, template: str, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    """``template`` rendered for the request's staff member (or for the login page, in the
    clinic's locale: ``request.state.speaking`` set by the login routes)."""
    desk: Desk | None = getattr(request.state, "desk", None)
    if desk is not None:
        base = {**helpers(desk.t, desk.zone, desk.currency), "desk": desk,
                "csrf_token": desk.csrf_token}
    else:
        base = helpers(*request.state.speaking)
    html = TEMPLATES.get_template(template).render(
        {**base, "path": request.url.path, **context})
    return HTMLResponse(html, status_code=status_code,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def refuse(request: Request, message: str) -> HTMLResponse:
    """The 403 page saying ``message`` (what was wrong and what to do)."""
    return render(request, "refused.html", status_code=403, message=message)
