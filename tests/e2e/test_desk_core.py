"""The staff console's foundation (``/desk/``): login, sessions, lock-outs, CSRF, roles, the
dashboard's queues and the patient search, over HTTP against the real app (uvicorn on a
loopback port) on SQLite and PostgreSQL, with the example clinic loaded.

Staff: ``desk`` (reception) and ``ana`` (practitioner) from the example file, and ``mia``, a
manager added here. Each has the password ``PASSWORDS[key]``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from bot.clock import FixedClock
from bot.server import create_app
from bot.services import accounts, desk_auth, noshows
from bot.settings import Settings
from bot.storage.models import DeskSession, Invoice, OutboxMessage, Staff
from bot.storage.uow import UnitOfWork
from tests.e2e.twilio_standin import LiveServer, loopback_socket
from tests.integration._builders import book, local, patient

PASSWORDS = {"desk": "front-desk-secret", "ana": "ana-practitioner-pw", "mia": "manager-pw-0"}
NAV = ["Today", "Patients", "No-shows", "Registrations", "Unpaid", "Messages", "Reports",
       "Log out"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    """The running console: its URL, the clock it reads, and units of work on its database."""

    url: str
    clock: FixedClock
    engine: object
    settings: Settings

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, self.clock, readonly=readonly)  # type: ignore[arg-type]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30, follow_redirects=False)


async def add_staff(make_uow) -> None:
    """A manager beside the example file's staff, and everyone's console password."""
    async with make_uow() as uow:
        uow.session.add(Staff(key="mia", name="Mia Manager", role="manager", alerts=[]))
        await uow.session.flush()
        for key, password in PASSWORDS.items():
            await desk_auth.set_password(uow, key, password)
        await uow.commit()


def console_settings(database_url: str, port: int, **extra: str) -> Settings:
    return Settings(_env_file=None, DATABASE_URL=database_url, CLINICBOT_HOST="127.0.0.1",
                    CLINICBOT_PORT=port, **extra)


@pytest.fixture
async def console(clinic, database_url, clock, make_uow, engine) -> AsyncIterator[Console]:
    await add_staff(make_uow)
    sock = loopback_socket()
    settings = console_settings(database_url, sock.getsockname()[1])
    async with LiveServer(create_app(settings, clock=clock, services=[]), sock) as live:
        yield Console(live.url, clock, engine, settings)


async def log_in(http: httpx.AsyncClient, username: str, password: str | None = None
                 ) -> httpx.Response:
    """Open the login page and send its form (``password`` None: the right one)."""
    page = await http.get("/desk/login")
    assert page.status_code == 200
    token = CSRF.search(page.text)
    assert token is not None
    return await http.post("/desk/login", data={
        "username": username, "password": PASSWORDS[username] if password is None else password,
        "csrf_token": token.group(1)})


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None
    return found.group(1)


async def test_a_receptionist_logs_in_sees_the_navigation_and_logs_out(console: Console) -> None:
    async with console.client() as http:
        assert (await http.get("/desk/")).headers["location"] == "/desk/login"
        answer = await log_in(http, "desk")
        assert answer.status_code == 303 and answer.headers["location"] == "/desk/"
        cookie = answer.headers["set-cookie"]
        assert "desk_session=" in cookie and "HttpOnly" in cookie
        assert "SameSite=lax" in cookie and "Secure" not in cookie
        home = await http.get("/desk/")
        assert home.status_code == 200
        for label in NAV:
            assert f">{label}<" in home.text
        assert "Front desk (reception)" in home.text
        bye = await http.post("/desk/logout", data={"csrf_token": csrf_of(home)})
        assert bye.status_code == 303 and bye.headers["location"] == "/desk/login"
        assert (await http.get("/desk/")).headers["location"] == "/desk/login"
    async with console.uow(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(DeskSession)) == 0


async def test_each_staff_member_picks_their_console_language(console: Console) -> None:
    """The console speaks the clinic's locale until a staff member picks another language in
    the header; the choice is theirs (a cookie named for them), not the next person's."""
    async with console.client() as http:
        await log_in(http, "desk")
        home = await http.get("/desk/")
        assert ">Today<" in home.text and '<option value="en" selected>' in home.text
        chose = await http.post("/desk/language", data={
            "csrf_token": csrf_of(home), "language": "fr", "back": "/desk/patients"})
        assert chose.status_code == 303 and chose.headers["location"] == "/desk/patients"
        assert "desk_language_" in chose.headers["set-cookie"]
        french = await http.get("/desk/patients")
        assert ">Aujourd&#39;hui<" in french.text and '<html lang="fr">' in french.text
        away = await http.post("/desk/language", data={
            "csrf_token": csrf_of(french), "language": "es", "back": "//evil.example/"})
        assert away.headers["location"] == "/desk/"  # never off the console
        assert ">Hoy<" in (await http.get("/desk/")).text
        unknown = await http.post("/desk/language", data={
            "csrf_token": csrf_of(french), "language": "de", "back": "/desk/"})
        assert unknown.status_code == 303 and "set-cookie" not in unknown.headers
        forged = await http.post("/desk/language", data={"language": "fr", "back": "/desk/"})
        assert forged.status_code == 403
    async with console.client() as other:  # another browser: mia still reads English
        await log_in(other, "mia")
        assert ">Today<" in (await other.get("/desk/")).text


async def test_a_wrong_password_or_username_answers_the_form_without_saying_which(
        console: Console) -> None:
    async with console.client() as http:
        for username, password in (("desk", "not-the-password"), ("nobody", "front-desk-secret"),
                                   ("desk", "")):
            answer = await log_in(http, username, password)
            assert answer.status_code == 200
            assert "Wrong username or password." in answer.text
            assert 'name="password"' in answer.text and "desk_session" not in str(http.cookies)
        assert (await http.get("/desk/")).status_code == 303


async def test_five_wrong_passwords_lock_the_login_out_and_alert_the_desk(
        console: Console) -> None:
    async def wrong(n: int) -> httpx.Response:
        async with console.client() as http:
            return await log_in(http, "ana", f"wrong-{n}")

    # Wrong passwords at once, from several browsers: each is counted exactly once.
    answers = await asyncio.gather(*(wrong(n) for n in range(desk_auth.USER_FAILURES)))
    assert all(a.status_code == 200 for a in answers)
    assert sum("Too many failed logins" in a.text for a in answers) == 1
    async with console.client() as http:
        refused = await log_in(http, "ana")
        assert "Too many failed logins: try again in 15 minutes" in refused.text
        assert (await log_in(http, "desk")).status_code == 303  # others are not locked
    async with console.uow(readonly=True) as uow:
        alerts = (await uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == desk_auth.LOCKED_ALERT))).all()
        desk_ids = {s.id for s in (await uow.session.scalars(select(Staff))).all()
                    if s.role in ("reception", "manager")}
        assert {a.staff_id for a in alerts} == desk_ids and len(alerts) == len(desk_ids)
        assert all(a.params["who"] == "ana" for a in alerts)
    console.clock.advance(desk_auth.LOCKOUT)
    async with console.client() as http:
        assert (await log_in(http, "ana")).status_code == 303


async def test_one_client_trying_many_usernames_is_locked_out(console: Console) -> None:
    async with console.client() as http:
        for n in range(desk_auth.CLIENT_FAILURES):
            await log_in(http, f"guess{n}", "whatever-it-is")
        assert "Too many failed logins" in (await log_in(http, "desk")).text


async def test_a_post_without_the_csrf_token_is_refused(console: Console) -> None:
    async with console.client() as http:
        no_token = await http.post("/desk/login", data={"username": "desk",
                                                        "password": PASSWORDS["desk"]})
        assert no_token.status_code == 403
        assert "did not come from the console" in no_token.text
        await log_in(http, "desk")
        for data in ({}, {"csrf_token": "forged"}):
            answer = await http.post("/desk/logout", data=data)
            assert answer.status_code == 403
            assert "Reload the page" in answer.text or "reload the page" in answer.text
        assert (await http.get("/desk/")).status_code == 200  # still logged in


async def test_a_session_expires_when_idle_and_after_its_absolute_limit(
        console: Console) -> None:
    async with console.client() as http:
        await log_in(http, "desk")
        console.clock.advance(desk_auth.IDLE - timedelta(minutes=1))
        assert (await http.get("/desk/")).status_code == 200
        console.clock.advance(desk_auth.IDLE)
        assert (await http.get("/desk/")).headers["location"] == "/desk/login"
        await log_in(http, "desk")
        steps = int(desk_auth.ABSOLUTE / (desk_auth.IDLE / 2))
        for _ in range(steps - 1):
            console.clock.advance(desk_auth.IDLE / 2)
            assert (await http.get("/desk/")).status_code == 200
        console.clock.advance(desk_auth.IDLE / 2)
        assert (await http.get("/desk/")).headers["location"] == "/desk/login"


async def test_each_role_is_refused_where_it_should_be(console: Console) -> None:
    async with console.client() as http:
        assert (await http.get("/desk/patients?q=maya")).headers["location"] == "/desk/login"
        await log_in(http, "ana")
        home = await http.get("/desk/")
        assert home.status_code == 303 and home.headers["location"] == "/desk/today"
        refused = await http.get("/desk/patients?q=maya")
        assert refused.status_code == 403
        assert "Your role (practitioner) may not open this page" in refused.text
    for key in ("desk", "mia"):
        async with console.client() as http:
            await log_in(http, key)
            assert (await http.get("/desk/patients?q=maya")).status_code == 200
            assert (await http.get("/desk/")).status_code == 200


async def test_the_dashboard_lists_the_four_queues_with_real_rows(console: Console) -> None:
    async with console.uow() as uow:
        visit = await book(uow, "maya", local(2026, 11, 3, 10))
        maya = await patient(uow, "maya")
        maya_id, born = maya.id, maya.birth_date
        uow.session.add(Invoice(
            patient_id=maya_id, kind="session", description="Physio follow-up on Oct 20",
            amount=Decimal("85.00"), paid=Decimal("10.00"), status="open",
            issued_on=local(2026, 10, 20, 12).date(), due_on=local(2026, 10, 23, 12).date(),
            created_at=console.clock.now()))
        uow.session.add(OutboxMessage(
            purpose="test:failed", kind="appointment_reminder", patient_id=maya_id, params={},
            status="failed", not_before=console.clock.now(), attempts=3,
            created_at=console.clock.now(), last_error="the number cannot receive texts"))
        await uow.commit()
    async with console.uow() as uow:
        await accounts.register_online(uow, first_name="Maya", last_name="Chen",
                                       birth_date=born, phone="+14165550199")
        await uow.commit()
    console.clock.set(local(2026, 11, 3, 11))
    async with console.uow() as uow:
        await noshows.mark_no_show(uow, visit.id, by="desk")
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "desk")
        page = (await http.get("/desk/")).text
    no_shows, registrations, unpaid, failed = re.split(
        r"<h2 id=\"q-registrations\">|<h2 id=\"q-unpaid\">|<h2 id=\"q-failed\">", page)
    assert f'href="/desk/patients/{maya_id}">Maya Chen</a>' in no_shows
    assert "Tue 3 Nov, 10:00 a.m." in no_shows and "marked no-show" in no_shows
    assert "/desk/registrations#registration-" in registrations
    assert registrations.count(">Maya Chen</a>") == 2
    assert "$75.00" in unpaid and "Physio follow-up on Oct 20" in unpaid
    assert '<td class="num">11</td>' in unpaid  # due Oct 23, today Nov 3
    assert 'href="/desk/unpaid"' in unpaid  # the whole list, paged, with a way to pay
    assert "the number cannot receive texts" in failed and "appointment reminder" in failed


@pytest.mark.parametrize("typed", [
    "maya", "Maya Chen", "chen maya", "(416) 555-0101", "416-555-0101", "+1 416 555 0101",
    "4165550101",
])
async def test_patients_are_found_by_name_phone_as_typed_or_id(console: Console,
                                                                typed: str) -> None:
    async with console.uow(readonly=True) as uow:
        maya_id = (await patient(uow, "maya")).id
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get("/desk/patients", params={"q": typed})
        by_id = await http.get("/desk/patients", params={"q": str(maya_id)})
        nobody = await http.get("/desk/patients", params={"q": "Zebulon"})
    assert page.status_code == 200
    assert f'<a href="/desk/patients/{maya_id}">Maya Chen</a>' in page.text
    assert "(416) 555-0101" in page.text
    assert f'<a href="/desk/patients/{maya_id}">' in by_id.text
    assert "No patient matches Zebulon." in nobody.text


async def test_a_search_is_escaped(console: Console) -> None:
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get("/desk/patients", params={"q": "<script>x</script>"})
    assert "<script>x" not in page.text and "&lt;script&gt;x" in page.text


async def test_cookies_are_secure_behind_https(clinic, database_url, clock, make_uow) -> None:
    await add_staff(make_uow)
    sock = loopback_socket()
    settings = console_settings(database_url, sock.getsockname()[1],
                                PUBLIC_BASE_URL="https://clinic.example.com")
    async with (LiveServer(create_app(settings, clock=clock, services=[]), sock) as live,
                httpx.AsyncClient(base_url=live.url) as http):
        page = await http.get("/desk/login")
        assert "Secure" in page.headers["set-cookie"]
        http.cookies.clear()  # a Secure cookie is not sent over http: send it by hand
        answer = await http.post("/desk/login", data={
            "username": "desk", "password": PASSWORDS["desk"], "csrf_token": csrf_of(page)},
            headers={"Cookie": f"desk_login_csrf={csrf_of(page)}"})
        assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]


async def test_the_stylesheet_is_served(console: Console) -> None:
    async with console.client() as http:
        css = await http.get("/desk/static/desk.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
