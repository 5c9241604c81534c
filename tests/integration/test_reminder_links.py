"""Reminders and no-show fee notices carry a link to pay (issue 20): made at send time, after
the quiet-hours check, outside any transaction; with Stripe down the message still goes.

The example clinic is loaded; the clock is Monday 2 November 2026, 08:00 in Toronto; messages go
to a fake SMS channel, links come from the Stripe stand-in.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.delivery import notifications
from bot.delivery.channels import Channels
from bot.delivery.sender import Deliverer
from bot.dialogs.types import Option
from bot.i18n import translator
from bot.services import accounts, noshows, reminders
from bot.services.clinic import get_clinic
from bot.services.payment_links import NO_SHOW_FEE
from bot.storage.models import NoShow, OutboxMessage
from tests.integration._builders import book, local, package_of, patient
from tests.integration.test_outbox_support import MAYA, SOFIA, FakeChannel

pytestmark = pytest.mark.usefixtures("clinic")
LINK = "online: https://checkout.stripe.test/c/pay/cs_test_"


def _deliverer(engine, clock, links, sms):
    return Deliverer(engine, clock, Channels([sms]), links=links)


async def _queue_unpaid(make_uow) -> None:
    """Leo's 2nd installment (due 15 Oct) is late: Maya is reminded (and the desk told)."""
    async with make_uow() as uow:
        assert await reminders.unpaid_reminders(uow) == 2
        await uow.commit()


async def test_an_unpaid_reminder_ends_with_its_link_and_goes_once(engine, clock, make_uow,
                                                                    links, stripe):
    await _queue_unpaid(make_uow)
    sms = FakeChannel("sms", clock)
    sender = _deliverer(engine, clock, links, sms)
    assert (await sender.run_once()).sent == 1
    [sent] = sms.to(MAYA)
    assert "Leo" in sent.text and "Pay $330.00 " + LINK in sent.text
    assert (await sender.run_once()).sent == 0
    assert len(stripe.created) == 1
    async with make_uow() as uow:
        body = await uow.session.scalar(select(OutboxMessage.body).where(
            OutboxMessage.purpose.like("invoice:%:unpaid:%")))
    assert body == sent.text


async def test_in_quiet_hours_no_link_is_made_and_the_reminder_waits(engine, clock, make_uow,
                                                                      links, stripe):
    clock.set(local(2026, 11, 2, 22))
    await _queue_unpaid(make_uow)
    sms = FakeChannel("sms", clock)
    sender = _deliverer(engine, clock, links, sms)
    assert (await sender.run_once()).held == 1
    assert stripe.calls == [] and sms.delivered == []
    clock.set(local(2026, 11, 3, 8))
    assert (await sender.run_once()).sent == 1
    assert LINK in sms.to(MAYA)[0].text


async def test_with_stripe_down_the_reminder_still_goes_without_a_link(
    engine, clock, make_uow, links, stripe
):
    await _queue_unpaid(make_uow)
    stripe.down = True
    sms = FakeChannel("sms", clock)
    assert (await _deliverer(engine, clock, links, sms).run_once()).sent == 1
    [sent] = sms.to(MAYA)
    assert "Leo" in sent.text and "https://" not in sent.text


async def test_a_no_show_fee_is_told_to_the_patient_with_its_link(engine, clock, make_uow,
                                                                   links, stripe):
    starts = local(2026, 11, 3, 10)
    async with make_uow() as uow:
        owned = await package_of(uow, "maya")
        appointment = await book(uow, "maya", starts, package_id=owned.id)
        await uow.commit()
    clock.set(starts + timedelta(minutes=45))
    async with make_uow() as uow:
        assert await noshows.raise_overdue(uow, clock.now()) == 1
        no_show = await uow.session.scalar(select(NoShow))
        assert no_show is not None and no_show.appointment_id == appointment.id
        await noshows.resolve(uow, no_show.id, "fee", no_show_fee_key="missed", by="desk")
        await uow.commit()
    async with make_uow() as uow:
        notice = await uow.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == NO_SHOW_FEE))
        assert notice is not None and notice.purpose.endswith(":no_show_fee")
        rendered = await notifications.render(uow, await get_clinic(uow), notice,
                                              translator("en"))
        assert rendered is not None  # Telegram, where it takes payments, shows "Pay now"
        assert rendered.options == (
            Option(f"payinvoice:{notice.params['invoice_id']}", "Pay now"),)
    sms = FakeChannel("sms", clock)
    await _deliverer(engine, clock, links, sms).run_once()
    [sent] = [d for d in sms.to(MAYA) if "no-show fee" in d.text]
    assert "$45.00" in sent.text and "Pay $45.00 " + LINK in sent.text


async def test_a_renewal_reminder_links_the_membership_invoice_still_open(
    engine, clock, make_uow, links, stripe
):
    async with make_uow() as uow:
        await accounts.set_locale(uow, (await patient(uow, "sofia")).id, "en_CA")
        await uow.commit()
    clock.set(local(2026, 11, 28, 9))  # 3 days before December's renewal; November unpaid
    async with make_uow() as uow:
        assert await reminders.renewal_reminders(uow) == 1
        await uow.commit()
    sms = FakeChannel("sms", clock)
    await _deliverer(engine, clock, links, sms).run_once()
    [sent] = [d for d in sms.to(SOFIA) if "renews on" in d.text]
    assert "Pay $49.00 " + LINK in sent.text
    [call] = stripe.created
    name = call.params["line_items[0][price_data][product_data][name]"]
    assert name.endswith(": Wellness membership (monthly) 2026-11-01")
