"""Keep separate on the console (``/desk/registrations`` and the dashboard's queue): the pair
leaves the queue, Undo brings it back, the audit log names the console; refusals and a
practitioner change nothing; two staff keeping the same pair at once both succeed. Over HTTP
against the real app on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from bot.storage.models import AuditEntry, KeptApart
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.e2e.test_desk_registrations import registered as registered  # the fixture

PATH = "/desk/registrations"


async def kept(console: Console) -> int:
    async with console.uow(readonly=True) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(KeptApart)) or 0)


async def keep(http: httpx.AsyncClient, page: str = PATH, **data: str) -> httpx.Response:
    token = csrf_of(await http.get(page))
    return await http.post(f"{PATH}/keep-separate", data={"csrf_token": token, **data})


async def test_keep_separate_empties_the_queue_and_undo_brings_the_pair_back(
        console: Console, registered: tuple[int, int]) -> None:
    maya, copy = registered
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(PATH)
        assert "Keep Maya Chen separate from Maya Chen" in page.text
        done = await keep(http, registration=str(copy), other=str(maya))
        assert done.status_code == 303
        assert done.headers["location"] == f"{PATH}?kept={copy}-{maya}"
        shown = await http.get(done.headers["location"])
        assert "Kept Maya Chen and Maya Chen separate" in shown.text
        assert "No registrations to merge." in shown.text
        assert "No registrations to merge." in (await http.get("/desk/")).text
        undone = await http.post(f"{PATH}/keep-separate/undo", data={
            "csrf_token": csrf_of(shown), "registration": str(copy), "other": str(maya)})
        assert undone.status_code == 303 and undone.headers["location"] == PATH
        assert "Maya Chen looks like Maya Chen" in (await http.get(PATH)).text
    assert await kept(console) == 0
    async with console.uow(readonly=True) as uow:
        rows = (await uow.session.execute(select(AuditEntry.staff, AuditEntry.face,
                                                 AuditEntry.action)
                                          .order_by(AuditEntry.id))).all()
    assert [tuple(r) for r in rows] == [
        ("desk", "console", "patient.keep_separate"),
        ("desk", "console", "patient.keep_separate_undo")]


async def test_the_dashboard_keeps_a_pair_separate_and_returns_to_itself(
        console: Console, registered: tuple[int, int]) -> None:
    maya, copy = registered
    async with console.client() as http:
        await log_in(http, "mia")
        home = await http.get("/desk/")
        assert 'action="/desk/registrations/keep-separate"' in home.text
        done = await keep(http, "/desk/", registration=str(copy), other=str(maya),
                          back="dashboard")
        assert done.status_code == 303 and done.headers["location"] == "/desk/"
        assert "No registrations to merge." in (await http.get("/desk/")).text
    assert await kept(console) == 1


async def test_bad_requests_are_refused_and_change_nothing(
        console: Console, registered: tuple[int, int]) -> None:
    maya, copy = registered
    async with console.client() as http:
        await log_in(http, "desk")
        missing = await keep(http, registration=str(copy))
        assert missing.status_code == 400 and "Choose the two profiles" in missing.text
        itself = await keep(http, registration=str(maya), other=str(maya))
        assert itself.status_code == 400 and "two different patients" in itself.text
        nobody = await keep(http, registration=str(copy), other="999999")
        assert nobody.status_code == 400 and "999999" in nobody.text
        forged = await http.post(f"{PATH}/keep-separate", data={
            "csrf_token": "forged", "registration": str(copy), "other": str(maya)})
        assert forged.status_code == 403
    assert await kept(console) == 0


async def test_a_practitioner_may_not_keep_separate_or_undo(
        console: Console, registered: tuple[int, int]) -> None:
    maya, copy = registered
    async with console.client() as http:
        await log_in(http, "ana")
        token = csrf_of(await http.get("/desk/today"))
        for action in ("keep-separate", "keep-separate/undo"):
            refused = await http.post(f"{PATH}/{action}", data={
                "csrf_token": token, "registration": str(copy), "other": str(maya)})
            assert refused.status_code == 403
    assert await kept(console) == 0


async def test_two_staff_keeping_the_same_pair_at_once_both_succeed(
        console: Console, registered: tuple[int, int]) -> None:
    maya, copy = registered
    async with console.client() as first, console.client() as second:
        await log_in(first, "desk")
        await log_in(second, "mia")
        tokens = [csrf_of(await http.get(PATH)) for http in (first, second)]
        answers = await asyncio.gather(*(
            http.post(f"{PATH}/keep-separate", data={
                "csrf_token": token, "registration": str(copy), "other": str(maya)})
            for http, token in zip((first, second), tokens, strict=True)))
    assert [a.status_code for a in answers] == [303, 303]
    assert await kept(console) == 1
