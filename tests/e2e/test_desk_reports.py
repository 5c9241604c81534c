"""The console's Reports page (``/desk/reports``, managers only): every report of ``clinicbot
report`` for a range of clinic dates as a table with an SVG chart, and CSV downloads that are
byte for byte the CLI's ``--format csv`` for the same range. Over HTTP against the real app
on SQLite and PostgreSQL, with the example clinic (Maya's and Leo's packages) loaded.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services import appointments, report_tables, waitlist, waitlist_offers
from bot.services.waitlist import Wish
from bot.storage.models import WaitlistOffer
from tests.booking_support import at, load_ids
from tests.e2e.test_cli_staff_support import Clinicbot
from tests.e2e.test_desk_core import Console, log_in
from tests.e2e.test_desk_core import console as console  # the fixture, re-exported

PATH = "/desk/reports"
SPAN = {"from": "2026-09-01", "to": "2026-12-31"}
CLI = {  # console name -> the CLI command giving the same CSV
    "package-sales": ["package-sales"],
    "package-usage": ["package-usage", "--section", "uses"],
    "practitioners": ["package-usage", "--section", "practitioners"],
    "no-shows": ["package-usage", "--section", "no-shows"],
    "unpaid": ["unpaid"],
    "sales-by-month": ["package-sales", "--section", "months"],
    "uses-by-month": ["package-usage", "--section", "months"],
    "compensation": ["compensation"],
    "memberships": ["memberships"],
    "membership-plans": ["memberships", "--section", "plans"],
}


async def test_a_manager_sees_every_report_with_a_chart_and_a_text_alternative(
        console: Console) -> None:
    async with console.client() as http:
        await log_in(http, "mia")
        page = await http.get(PATH, params=SPAN)
        assert page.status_code == 200
        assert 'aria-current="page">Reports<' in page.text
        for heading in ("Package sales", "Package usage", "By practitioner", "Package no-shows",
                        "Unpaid invoices", "Credit held", "Compensation"):
            assert f">{heading}</h2>" in page.text
        assert page.text.count("<svg") >= 2 and 'role="img"' in page.text
        assert "<desc" in page.text and "Maya Chen" in page.text
        assert 'value="2026-09-01"' in page.text and 'value="2026-12-31"' in page.text
        for name in set(report_tables.NAMES) - {"memberships", "membership-plans"}:
            assert f'href="/desk/reports/{name}.csv?from=2026-09-01&amp;to=2026-12-31"' in page.text
        assert "<label for=\"from\">From</label>" in page.text
        for chart in ("Package sales by month", "Uses redeemed by month",
                      "Package no-shows by month", "Outstanding by days overdue"):
            assert f">{chart}</title>" in page.text, chart
        # the example's two sales are unassigned and no use was redeemed since: nobody to pay
        assert "Compensation: sales and uses credited: nothing in this range" in page.text
        assert 'href="/desk/reports/memberships?from=2026-09-01&amp;to=2026-12-31"' in page.text


async def test_the_membership_page_per_plan_and_month_with_a_chart(console: Console) -> None:
    async with console.client() as http:
        await log_in(http, "mia")
        page = await http.get(f"{PATH}/memberships", params=SPAN)
        assert page.status_code == 200
        assert ">Memberships</h1>" in page.text and ">Members by month</title>" in page.text
        # sofia's monthly membership from 2026-09-01: joined in September, one member since
        assert ">2026-09: Joined 1, Ended 0, Active at month end 1; 2026-10: Joined 0," in page.text
        assert "<td>Wellness membership (monthly)</td><td class=\"num\">1</td>" in page.text
        for name in ("memberships", "membership-plans"):
            assert f'href="/desk/reports/{name}.csv?from=2026-09-01&amp;to=2026-12-31"' in page.text
        swapped = await http.get(f"{PATH}/memberships",
                                 params={"from": "2026-12-31", "to": "2026-09-01"})
        assert swapped.status_code == 400 and "swap From and To" in swapped.text


async def test_the_default_range_is_this_month_and_bad_ranges_are_explained(
        console: Console) -> None:
    today = console.clock.now().date()  # START is midday: the same day in Toronto
    async with console.client() as http:
        await log_in(http, "mia")
        page = await http.get(PATH)
        assert page.status_code == 200
        assert f'value="{today.replace(day=1).isoformat()}"' in page.text
        bad = await http.get(PATH, params={"from": "yesterday"})
        assert bad.status_code == 400 and "Type the days as YYYY-MM-DD." in bad.text
        swapped = await http.get(PATH, params={"from": "2026-12-31", "to": "2026-09-01"})
        assert swapped.status_code == 400 and "swap From and To" in swapped.text
        for name in ("package-sales", "memberships", "compensation"):
            csv_bad = await http.get(f"{PATH}/{name}.csv",
                                     params={"from": "2026-12-31", "to": "2026-09-01"})
            assert csv_bad.status_code == 400, name
        missing = await http.get(f"{PATH}/nothing.csv")
        assert missing.status_code == 404 and "There is no such report" in missing.text


async def test_each_csv_is_the_clis_csv_for_the_same_range(
        console: Console, tmp_path: Path) -> None:
    cli = Clinicbot(console.settings.database_url, tmp_path)
    span = ["--from", SPAN["from"], "--to", SPAN["to"], "--format", "csv"]
    async with console.client() as http:
        await log_in(http, "mia")
        for name, command in [*CLI.items(), ("credit", ["credit"])]:
            answer = await http.get(f"{PATH}/{name}.csv", params=SPAN)
            assert answer.status_code == 200, name
            assert answer.headers["content-type"] == "text/csv; charset=utf-8"
            assert answer.headers["content-disposition"] == (
                f'attachment; filename="{name}-2026-09-01-2026-12-31.csv"')
            args = ["report", *command, *(span if name != "credit" else span[-2:])]
            expected = await asyncio.to_thread(cli.ok, *args)
            assert answer.text == expected, name
        sales = list(csv.DictReader(io.StringIO(
            (await http.get(f"{PATH}/package-sales.csv", params=SPAN)).text)))
    assert {row["patient_name"] for row in sales} >= {"Maya Chen"}


@pytest.mark.parametrize("who", ["desk", "ana"])
async def test_reception_and_practitioners_may_not_open_reports(
        console: Console, who: str) -> None:
    async with console.client() as http:
        await log_in(http, who)
        assert (await http.get(PATH)).status_code == 403
        assert (await http.get(f"{PATH}/memberships")).status_code == 403
        for name in ("package-sales", "memberships", "compensation"):
            refused = await http.get(f"{PATH}/{name}.csv", params=SPAN)
            assert refused.status_code == 403 and "text/csv" not in refused.headers["content-type"]


async def test_reports_need_a_login(console: Console) -> None:
    async with console.client() as http:
        answer = await http.get(f"{PATH}/unpaid.csv")
        assert answer.status_code == 303 and answer.headers["location"] == "/desk/login"


async def test_package_usage_counts_the_times_refilled_from_the_waitlist(
        console: Console, tmp_path: Path) -> None:
    async with console.uow() as uow:  # Sofía's Tuesday 10:00 is freed and Maya takes it
        ids = await load_ids(uow)
        freed = await appointments.book(
            uow, patient_id=ids.sofia, practitioner_id=ids.ana, location_id=ids.downtown,
            fee_id=ids.physio_follow, starts_at=at("2026-11-03", 10), booked_by="staff")
        await waitlist.join(uow, ids.maya, Wish(ids.physio_follow, ids.ana))
        await appointments.cancel(uow, freed.id, by="staff")
        offer = await uow.session.scalar(select(WaitlistOffer.id))
        assert offer is not None
        await waitlist_offers.accept(uow, offer)
        await uow.commit()
    async with console.client() as http:
        await log_in(http, "mia")
        page = await http.get(PATH, params=SPAN)
        assert ('<p id="waitlist-refilled">Times refilled from the waitlist: 1 (freed times '
                'booked by waiting patients).</p>') in page.text
        later = await http.get(PATH, params={"from": "2026-11-04", "to": "2026-12-31"})
        assert "Times refilled from the waitlist: 0" in later.text
        download = (await http.get(f"{PATH}/package-usage.csv", params=SPAN)).text
    assert download.splitlines()[-1] == ",times_refilled_from_waitlist,,,,,,1"
    span = ["--from", SPAN["from"], "--to", SPAN["to"], "--format", "csv"]
    cli = Clinicbot(console.settings.database_url, tmp_path)
    assert download == await asyncio.to_thread(cli.ok, "report", *CLI["package-usage"], *span)
