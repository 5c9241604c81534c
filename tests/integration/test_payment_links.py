"""Payment links (issue 20): Checkout Sessions opened through the Stripe adapter, kept, reused
while valid, replaced once expired, one per invoice and amount however many ask at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, inspect, select

from bot.services import billing, packages
from bot.services.payment_links import ProviderUnavailable
from bot.storage.migrate import alembic_config, upgrade
from bot.storage.models import CheckoutSession
from tests.integration._builders import patient


async def _package_invoice(make_uow, key: str = "physio-5") -> int:
    async with make_uow() as uow:
        maya = await patient(uow, "maya")
        package = await packages.sell_package(uow, maya.id, key)
        [invoice] = await packages.package_invoices(uow, package.id)
        await uow.commit()
        return invoice.id


async def test_a_link_is_opened_once_and_offered_again_while_valid(clinic, make_uow, links,
                                                                    stripe):
    invoice_id = await _package_invoice(make_uow)
    first = await links.link(invoice_id)
    assert first is not None and first.amount == Decimal("400.00")
    [call] = stripe.created
    assert call.params["line_items[0][price_data][unit_amount]"] == "40000"
    assert call.params["line_items[0][price_data][currency]"] == "cad"
    assert call.params["metadata[invoice_id]"] == str(invoice_id)
    assert call.idempotency_key == f"clinicbot-invoice-{invoice_id}-40000cad-1"
    again = await links.link(invoice_id)
    assert again == first and len(stripe.created) == 1, "a valid session is reused"


async def test_two_requests_at_once_open_one_session(clinic, make_uow, links, stripe):
    invoice_id = await _package_invoice(make_uow)
    found = await asyncio.gather(links.link(invoice_id), links.link(invoice_id))
    assert found[0] is not None and found[0].url == found[1].url  # type: ignore[union-attr]
    async with make_uow(readonly=True) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(CheckoutSession)) == 1
    assert {c.idempotency_key for c in stripe.created} == {
        f"clinicbot-invoice-{invoice_id}-40000cad-1"}


async def test_an_expired_session_is_replaced_never_reused(clinic, make_uow, links, stripe,
                                                           clock):
    invoice_id = await _package_invoice(make_uow)
    first = await links.link(invoice_id)
    assert first is not None
    clock.advance(timedelta(hours=24))
    second = await links.link(invoice_id)
    assert second is not None and second.url != first.url
    assert stripe.created[-1].idempotency_key == f"clinicbot-invoice-{invoice_id}-40000cad-2"
    async with make_uow(readonly=True) as uow:
        rows = (await uow.session.execute(select(
            CheckoutSession.generation, CheckoutSession.url).order_by(CheckoutSession.generation)
        )).all()
    assert [tuple(row) for row in rows] == [(1, first.url), (2, second.url)]


async def test_what_is_owed_changed_a_new_session_and_the_old_one_expired(
    clinic, make_uow, links, stripe
):
    invoice_id = await _package_invoice(make_uow)
    first = await links.link(invoice_id)
    assert first is not None
    async with make_uow() as uow:
        await billing.record_payment(uow, invoice_id, Decimal("150.00"))
        await uow.commit()
    second = await links.link(invoice_id)
    assert second is not None and second.amount == Decimal("250.00")
    assert stripe.created[-1].params["line_items[0][price_data][unit_amount]"] == "25000"
    old_id = first.url.rsplit("/", 1)[-1]
    assert stripe.sessions[old_id]["status"] == "expired"
    async with make_uow(readonly=True) as uow:
        statuses = dict((await uow.session.execute(
            select(CheckoutSession.session_id, CheckoutSession.status))).all())
    assert statuses[old_id] == "expired"


async def test_nothing_owed_no_link_and_stripe_down_is_said(clinic, make_uow, links, stripe):
    invoice_id = await _package_invoice(make_uow)
    stripe.down = True
    with pytest.raises(ProviderUnavailable):
        await links.link(invoice_id)
    stripe.down = False
    async with make_uow() as uow:
        await billing.record_payment(uow, invoice_id, Decimal("400.00"))
        await uow.commit()
    assert await links.link(invoice_id) is None


async def test_migration_0023_goes_down_and_up_with_a_session_on_file(
    clinic, engine, make_uow, links
):
    invoice_id = await _package_invoice(make_uow)
    assert await links.link(invoice_id) is not None

    async def tables() -> set[str]:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))

    async with engine.begin() as conn:
        def down(sync_conn: Any) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync_conn
            command.downgrade(config, "0022")

        await conn.run_sync(down)
    assert "checkout_session" not in await tables()
    await upgrade(engine)
    assert "checkout_session" in await tables()
