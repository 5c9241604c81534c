"""The console's no-shows page (``/desk/no-shows``): redeem a package use or charge a no-show
fee, undo the decision, refusals, and two staff deciding at once, over HTTP against the real
app on SQLite and PostgreSQL (the ``console`` fixture of ``test_desk_core``).

Monday 2 November 2026: maya (physio 5-pack applied) at 10:00 and leo (no package) at 11:00,
both with Ana at Downtown and both marked no-show at noon.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from bot.services import noshows
from bot.storage.models import AuditEntry, Invoice, NoShow
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported
from tests.integration._builders import book, counters, local, package_of

PATH = "/desk/no-shows"


@dataclass
class Missed:
    maya: int  # no-show ids
    leo: int
    package: int  # maya's package


@pytest.fixture
async def missed(console: Console) -> Missed:
    async with console.uow() as uow:
        package = await package_of(uow, "maya")
        maya = await book(uow, "maya", local(2026, 11, 2, 10), package_id=package.id)
        leo = await book(uow, "leo", local(2026, 11, 2, 11))
        await uow.commit()
        package_id, ids = package.id, (maya.id, leo.id)
    console.clock.set(local(2026, 11, 2, 12))
    async with console.uow() as uow:
        raised = [await noshows.mark_no_show(uow, i, by="desk") for i in ids]
        await uow.commit()
        return Missed(raised[0].id, raised[1].id, package_id)


@dataclass
class Seen:
    resolution: str | None
    version: int


async def no_show(console: Console, no_show_id: int) -> Seen:
    async with console.uow(readonly=True) as uow:
        found = await uow.session.get(NoShow, no_show_id)
        assert found is not None
        return Seen(found.resolution, found.version)


async def fee_invoices(console: Console) -> list[tuple[Decimal, str]]:
    """(amount, status) of every no-show fee invoice."""
    async with console.uow(readonly=True) as uow:
        return [(row.amount, row.status) for row in await uow.session.execute(
            select(Invoice.amount, Invoice.status).where(Invoice.kind == "no_show")
            .order_by(Invoice.id))]


async def post(http: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    return await http.post(path, data={"csrf_token": csrf_of(await http.get(PATH)), **data})


async def test_the_page_lists_open_no_shows_with_the_choices_they_allow(
        console: Console, missed: Missed) -> None:
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(PATH)
    assert page.status_code == 200
    maya = page.text.split(f'id="no-show-{missed.maya}"')[1].split("</tr>")[0]
    leo = page.text.split(f'id="no-show-{missed.leo}"')[1].split("</tr>")[0]
    assert "Physio 5-pack" in maya and "Redeem package use" in maya and "No-show fee" in maya
    assert "Redeem package use" not in leo and "No-show fee" in leo
    assert "Missed appointment fee ($45.00)" in leo and f'<label for="fee-{missed.leo}">' in leo


async def test_redeem_fee_and_undo_change_the_package_and_invoices(
        console: Console, missed: Missed) -> None:
    async with console.uow(readonly=True) as uow:
        before = await counters(uow, missed.package)
    async with console.client() as http:
        await log_in(http, "mia")
        redeemed = await post(http, f"{PATH}/{missed.maya}/resolve", choice="redeem",
                              version="0")
        assert redeemed.status_code == 303
        shown = await http.get(redeemed.headers["location"])
        assert f"No-show {missed.maya} resolved: a package use was redeemed." in shown.text
        async with console.uow(readonly=True) as uow:
            _, redeemed_count, booked, _ = await counters(uow, missed.package)
        assert (redeemed_count, booked) == (before[1] + 1, before[2] - 1)
        charged = await post(http, f"{PATH}/{missed.leo}/resolve", choice="fee",
                             fee="late-cancel", version="0")
        assert charged.status_code == 303
        assert await fee_invoices(console) == [(Decimal("30.00"), "open")]
        page = await http.get(PATH)
        assert "fee charged: Late cancellation fee" in page.text
        for ident in (missed.maya, missed.leo):
            undone = await post(http, f"{PATH}/{ident}/undo", version="1")
            assert undone.status_code == 303
            assert (await no_show(console, ident)).resolution is None
    async with console.uow(readonly=True) as uow:
        assert await counters(uow, missed.package) == before
        actions = (await uow.session.scalars(
            select(AuditEntry.action).where(AuditEntry.staff == "mia",
                                            AuditEntry.face == "console")
            .order_by(AuditEntry.id))).all()
    assert await fee_invoices(console) == [(Decimal("30.00"), "void")]
    assert list(actions) == ["no_show.resolve", "no_show.resolve", "no_show.undo",
                             "no_show.undo"]


async def test_bad_choices_are_refused_with_the_reason_and_change_nothing(
        console: Console, missed: Missed) -> None:
    async with console.client() as http:
        await log_in(http, "desk")
        nothing = await post(http, f"{PATH}/{missed.leo}/resolve", version="0")
        assert nothing.status_code == 400
        assert "Choose Redeem package use or No-show fee." in nothing.text
        no_package = await post(http, f"{PATH}/{missed.leo}/resolve", choice="redeem",
                                version="0")
        assert no_package.status_code == 400 and "has no package to redeem" in no_package.text
        unknown = await post(http, f"{PATH}/{missed.leo}/resolve", choice="fee",
                             fee="forgot", version="0")
        assert unknown.status_code == 400 and "there is no no-show fee" in unknown.text
        undo_open = await post(http, f"{PATH}/{missed.leo}/undo", version="0")
        assert undo_open.status_code == 400 and "nothing to undo" in undo_open.text
        missing = await post(http, f"{PATH}/999999/resolve", choice="redeem", version="0")
        assert missing.status_code == 400 and "there is no no-show 999999" in missing.text
    for ident in (missed.maya, missed.leo):
        assert (await no_show(console, ident)).resolution is None
    assert await fee_invoices(console) == []


async def test_two_staff_deciding_at_once_get_one_outcome(
        console: Console, missed: Missed) -> None:
    async def decide(key: str, data: dict[str, str]) -> httpx.Response:
        async with console.client() as http:
            await log_in(http, key)
            token = csrf_of(await http.get(PATH))
            await ready.wait()
            return await http.post(f"{PATH}/{missed.leo}/resolve",
                                   data={"csrf_token": token, "version": "0", **data})

    ready = asyncio.Event()
    tasks = [asyncio.create_task(decide("desk", {"choice": "fee", "fee": "missed"})),
             asyncio.create_task(decide("mia", {"choice": "fee", "fee": "late-cancel"}))]
    await asyncio.sleep(0.5)
    ready.set()
    answers = await asyncio.gather(*tasks)
    assert sorted(a.status_code for a in answers) == [303, 400]
    loser = next(a for a in answers if a.status_code == 400)
    assert f"no-show {missed.leo} was already" in loser.text
    assert len(await fee_invoices(console)) == 1
    assert (await no_show(console, missed.leo)).version == 1


async def test_a_stale_page_cannot_undo_a_newer_decision(
        console: Console, missed: Missed) -> None:
    async with console.client() as http:
        await log_in(http, "desk")
        assert (await post(http, f"{PATH}/{missed.maya}/resolve", choice="redeem",
                           version="0")).status_code == 303
        assert (await post(http, f"{PATH}/{missed.maya}/undo", version="1")).status_code == 303
        assert (await post(http, f"{PATH}/{missed.maya}/resolve", choice="fee", fee="missed",
                           version="2")).status_code == 303
        stale = await post(http, f"{PATH}/{missed.maya}/undo", version="1")
        assert stale.status_code == 400 and "changed since you looked at it" in stale.text
    assert (await no_show(console, missed.maya)).resolution == "fee"


async def test_a_practitioner_may_not_open_or_decide_no_shows(
        console: Console, missed: Missed) -> None:
    async with console.client() as http:
        await log_in(http, "ana")
        assert (await http.get(PATH)).status_code == 403
        token = csrf_of(await http.get("/desk/today"))
        for action, data in (("resolve", {"choice": "redeem"}), ("undo", {})):
            refused = await http.post(f"{PATH}/{missed.maya}/{action}",
                                      data={"csrf_token": token, "version": "0", **data})
            assert refused.status_code == 403
    assert (await no_show(console, missed.maya)).resolution is None
    assert await fee_invoices(console) == []
