"""Insurance-friendly packages in the set-up file and the reports (issue 18, item 2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clinicfile import parse_clinic_text
from bot.services import arrivals, packages, receipt_reports
from bot.services.setup import load_clinic
from bot.storage.migrate import alembic_config, upgrade
from tests.conftest import EXAMPLE_FILE
from tests.integration._builders import patient
from tests.integration.test_receipts import THURSDAY, _arrive, _booked, _insured

pytestmark = pytest.mark.usefixtures("clinic")
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
INSURER = "online_purchase = false        # sold at the desk only"


async def test_the_set_up_file_marks_a_template_and_a_sale_copies_it(make_uow):
    text = EXAMPLE_FILE.read_text(encoding="utf-8")
    spec = parse_clinic_text(text.replace(INSURER, f"{INSURER}\ninsurance_friendly = true"),
                             "clinic.toml")
    async with make_uow() as uow:
        await load_clinic(uow, spec)
        template = await packages.get_template(uow, "insurer-physio-6")
        assert template.insurance_friendly is True
        maya = await patient(uow, "maya")
        sold = await packages.sell_package(uow, maya.id, "insurer-physio-6")
        plain = await packages.sell_package(uow, maya.id, "physio-5")
        assert sold.insurance_friendly and sold.session_value == Decimal("90.00")
        assert sold.receipt_value == Decimal("540.00")
        assert not plain.insurance_friendly and plain.session_value is None
        await uow.commit()
    async with make_uow() as uow:  # loading the example again turns the flag off
        await load_clinic(uow, parse_clinic_text(text, "clinic.toml"))
        assert (await packages.get_template(uow, "insurer-physio-6")).insurance_friendly is False


async def test_reports_show_insurance_sales_and_receipts_per_month(make_uow, clock):
    package_id = await _insured(make_uow)
    ids = await _booked(make_uow, package_id, [9, 10, 11])
    await _arrive(make_uow, clock, ids)
    async with make_uow() as uow:
        await arrivals.undo_arrival(uow, ids[2])  # its receipt is void: not counted
        await uow.commit()
    async with make_uow() as uow:
        sales = await receipt_reports.insurance_sales(uow, *NOVEMBER)
        months = await receipt_reports.receipts_by_month(uow, *NOVEMBER)
        october = await receipt_reports.receipts_by_month(
            uow, date(2026, 10, 1), date(2026, 10, 31))
    assert (sales.count, sales.price, sales.collected, sales.receipted) == (
        1, Decimal("100.00"), Decimal("100.00"), Decimal("66.66"))
    assert months == [receipt_reports.ReceiptMonth(
        f"{THURSDAY[0]}-{THURSDAY[1]:02d}", "Insurer-friendly physio 6", "session", 2,
        Decimal("66.66"), Decimal("30.00"))]
    assert october == []


async def test_migration_0019_goes_down_and_up_with_receipts_on_file(
    make_uow, clock, engine: AsyncEngine
) -> None:
    package_id = await _insured(make_uow)
    await _arrive(make_uow, clock, await _booked(make_uow, package_id, [9]))

    async def columns() -> set[str]:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: {
                *(f"patient_package.{col['name']}" for col in
                  inspect(c).get_columns("patient_package")),
                *inspect(c).get_table_names()})

    assert {"session_receipt", "patient_package.receipt_value"} <= await columns()
    async with engine.begin() as conn:
        def down(sync_conn: object) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync_conn
            command.downgrade(config, "0018")

        await conn.run_sync(down)
    assert not {"session_receipt", "patient_package.receipt_value"} & await columns()
    await upgrade(engine)
    assert {"session_receipt", "patient_package.receipt_value"} <= await columns()
    async with make_uow() as uow:  # the package is still there, no longer insurance-friendly
        package = await packages.get_package(uow, package_id)
        assert package.insurance_friendly is False and package.redeemed == 1
