"""The console's waitlist page (``/desk/waitlist``): entries in order, the offer out, Remove,
a refusal, and the practitioner refused; over HTTP against the real app on SQLite and
PostgreSQL (the ``console`` fixture of ``test_desk_core``).

Sofía's Tuesday 10:00 with Ana is cancelled while Maya and then Leo wait: Maya holds the offer.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from bot.services import appointments, waitlist
from bot.services.waitlist import Wish
from bot.storage.models import WaitlistOffer
from tests.booking_support import Ids, at, load_ids
from tests.e2e.test_desk_core import Console, csrf_of, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported

PATH = "/desk/waitlist"


@pytest.fixture
async def waiting(console: Console) -> tuple[int, int]:
    """(Maya's entry, Leo's entry), Maya holding the offer of Tuesday 10:00."""
    async with console.uow() as uow:
        ids: Ids = await load_ids(uow)
        booked = await appointments.book(
            uow, patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_follow, starts_at=at("2026-11-03", 10), booked_by="staff")
        wish = Wish(fee_id=ids.physio_follow, practitioner_id=ids.ana, weekdays=(1,),
                    parts=("morning",))
        maya = await waitlist.join(uow, ids.maya, wish)
        leo = await waitlist.join(uow, ids.leo, Wish(fee_id=ids.physio_follow))
        await appointments.cancel(uow, booked.id, by="staff")
        await uow.commit()
        return maya.id, leo.id


async def post(http: httpx.AsyncClient, path: str) -> httpx.Response:
    return await http.post(path, data={"csrf_token": csrf_of(await http.get(PATH))})


async def offers(console: Console) -> list[tuple[int, str]]:
    async with console.uow(readonly=True) as uow:
        rows = await uow.session.execute(
            select(WaitlistOffer.entry_id, WaitlistOffer.status).order_by(WaitlistOffer.id))
        return [(entry, status) for entry, status in rows]


async def test_the_page_lists_the_entries_and_remove_passes_the_offer_on(
        console: Console, waiting: tuple[int, int]) -> None:
    maya, leo = waiting
    async with console.client() as http:
        await log_in(http, "desk")
        page = await http.get(PATH)
        assert page.status_code == 200
        assert 'href="/desk/waitlist" aria-current="page"' in page.text
        text = page.text
        assert text.index(f'id="entry-{maya}"') < text.index(f'id="entry-{leo}"')
        assert "Maya Chen" in text and "Tuesday, Mornings" in text
        assert "Tue 3 Nov, 10:00 a.m., held until Mon 2 Nov, 8:15 a.m." in text
        removed = await post(http, f"{PATH}/{maya}/remove")
        assert removed.status_code == 303
        after = await http.get(removed.headers["location"])
        assert f"Entry {maya} removed from the waitlist." in after.text
        assert f'id="entry-{maya}"' not in after.text
        again = await post(http, f"{PATH}/{maya}/remove")
        assert again.status_code == 400 and "no longer waiting" in again.text
    assert await offers(console) == [(maya, "withdrawn"), (leo, "open")]


async def test_a_practitioner_is_refused(console: Console, waiting: tuple[int, int]) -> None:
    async with console.client() as http:
        await log_in(http, "ana")
        assert (await http.get(PATH)).status_code == 403
        token = csrf_of(await http.get("/desk/today"))
        refused = await http.post(f"{PATH}/{waiting[0]}/remove", data={"csrf_token": token})
        assert refused.status_code == 403
    assert (await offers(console))[0][1] == "open"
