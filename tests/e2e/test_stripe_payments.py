"""Paying by link (issue 20) through the real server: a signed Twilio text asks for the link,
the Stripe stand-in opens the Checkout Session, a signed Stripe webhook records the payment
(and the same on Telegram without in-chat payments).

Each test runs ``create_app`` under uvicorn (SQLite file and PostgreSQL) with Twilio and Stripe
configured, the example clinic loaded, the clock at Monday 2 November 2026, 08:00 in Toronto.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from bot.services import billing, package_admin
from bot.services.payments import PAYMENT_CREDITED
from bot.storage.models import (
    CheckoutSession,
    CreditEntry,
    Invoice,
    OutboxMessage,
    Patient,
    PatientPackage,
    Payment,
)
from tests.dialogs.conftest import MAYA
from tests.e2e.sms_harness import SmsPatient, Twilio, sms_server
from tests.e2e.stripe_standin import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    StripeStandin,
    event,
    signed,
)
from tests.e2e.telegram_harness import TgUser, telegram_server

WEBHOOK = "/payments/stripe"


@pytest.fixture
async def stripe(clock) -> AsyncIterator[StripeStandin]:
    async with StripeStandin(now=lambda: clock.now().timestamp()) as standin:
        yield standin


def _stripe_env(stripe: StripeStandin) -> dict[str, str]:
    return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE_URL": stripe.url}


@pytest.fixture
async def twilio(clinic: None, database_url: str, clock, stripe) -> AsyncIterator[Twilio]:
    async with sms_server(database_url, clock, **_stripe_env(stripe)) as player:
        yield player


async def _deliver(http: httpx.AsyncClient, event: dict[str, object], **sign: object
                   ) -> httpx.Response:
    body, header = signed(event, **sign)  # type: ignore[arg-type]
    return await http.post(WEBHOOK, content=body, headers={
        "Stripe-Signature": header, "Content-Type": "application/json"})


async def _buy_and_ask_for_the_link(twilio: Twilio) -> tuple[SmsPatient, str]:
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.choose("Buy a package")
    await maya.choose("Maya Chen (me)")
    await maya.choose("Massage 10-pack")
    await maya.choose("Buy it")
    assert maya.labels[0] == "Pay online now"
    reply = await maya.choose("Pay online now")
    assert "Pay $330.00 online: https://checkout.stripe.test/c/pay/cs_test_" in reply
    url = next(word for word in reply.split() if word.startswith("https://checkout"))
    return maya, url.rsplit("/", 1)[-1]


async def _count(make_uow, model: type) -> int:
    async with make_uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def _online(make_uow) -> tuple[int, int]:
    """How many Stripe payments and overpayment credits there are."""
    async with make_uow() as uow:
        paid = await uow.session.scalar(select(func.count()).select_from(Payment).where(
            Payment.method == "stripe"))
        kept = await uow.session.scalar(select(func.count()).select_from(CreditEntry).where(
            CreditEntry.source == "overpayment"))
        return int(paid or 0), int(kept or 0)


async def _massage(make_uow) -> tuple[bool, int]:
    async with make_uow() as uow:
        package = await uow.session.scalar(
            select(PatientPackage).where(PatientPackage.name == "Massage 10-pack")
            .join(Patient, Patient.id == PatientPackage.patient_id)
            .where(Patient.phone == MAYA))
        assert package is not None
        return package.paid_enough, package.id


async def test_pay_by_link_on_sms_end_to_end_and_refund(twilio, stripe, make_uow):
    _maya, session_id = await _buy_and_ask_for_the_link(twilio)
    assert not (await _massage(make_uow))[0]
    [call] = stripe.created
    assert call.params["line_items[0][price_data][unit_amount]"] == "33000"
    event = stripe.completed(session_id)
    answered = await _deliver(twilio.http, event)
    assert answered.status_code == 200
    usable, package_id = await _massage(make_uow)
    assert usable, "the first installment is paid: the package can be used"
    again = await _deliver(twilio.http, event)  # Stripe delivers it again
    assert again.status_code == 200
    async with make_uow() as uow:
        [payment] = list(await uow.session.scalars(select(Payment)
                                                   .where(Payment.method == "stripe")))
        assert (payment.amount, payment.external_id) == (Decimal("330.00"),
                                                         f"stripe:{session_id}")
        status = await uow.session.scalar(select(CheckoutSession.status))
        assert status == "complete"
        refunded = await package_admin.refund(uow, package_id, by="desk")
        await uow.commit()
        assert refunded.refund_amount == Decimal("330.00")
    async with make_uow() as uow:
        credit = await uow.session.scalar(select(CreditEntry).where(
            CreditEntry.source == "refund"))
        assert credit is not None and credit.amount == Decimal("330.00")


async def test_forged_unsigned_and_stale_webhooks_are_refused(twilio, stripe, make_uow):
    _maya, session_id = await _buy_and_ask_for_the_link(twilio)
    event = stripe.completed(session_id)
    forged = await _deliver(twilio.http, event, secret="whsec_not_the_clinics")
    body, _header = signed(event)
    unsigned = await twilio.http.post(WEBHOOK, content=body)
    stale = await _deliver(twilio.http, event, timestamp=int(time.time()) - 3600)
    garbled = await twilio.http.post(WEBHOOK, content=body,
                                     headers={"Stripe-Signature": "t=x,v1=zz"})
    assert [r.status_code for r in (forged, unsigned, stale, garbled)] == [400] * 4
    assert await _online(make_uow) == (0, 0)
    assert not (await _massage(make_uow))[0]
    other = await _deliver(twilio.http, {"id": "evt_1", "object": "event",
                                         "type": "customer.created", "data": {"object": {}}})
    assert other.status_code == 200 and await _online(make_uow) == (0, 0)


async def test_the_same_event_on_two_instances_at_once_records_one_payment(
    twilio, stripe, make_uow, database_url, clock
):
    _maya, session_id = await _buy_and_ask_for_the_link(twilio)
    event = stripe.completed(session_id)
    async with sms_server(database_url, clock, **_stripe_env(stripe)) as second:
        answers = await asyncio.gather(*(
            _deliver(http, event) for http in (twilio.http, second.http, twilio.http,
                                                second.http)))
    assert [a.status_code for a in answers] == [200] * 4
    assert await _online(make_uow) == (1, 0)
    assert (await _massage(make_uow))[0]


async def test_paid_at_the_desk_while_the_link_was_open_becomes_credit_and_staff_told(
    twilio, stripe, make_uow
):
    _maya, session_id = await _buy_and_ask_for_the_link(twilio)
    async with make_uow() as uow:
        invoice = await uow.session.get(
            Invoice, int(stripe.sessions[session_id]["metadata"]["invoice_id"]))
        assert invoice is not None and invoice.outstanding == Decimal("330.00")
        await billing.record_payment(uow, invoice.id, Decimal("330.00"))
        await uow.commit()
    answered = await _deliver(twilio.http, stripe.completed(session_id))
    assert answered.status_code == 200
    async with make_uow() as uow:
        [kept] = list(await uow.session.scalars(select(CreditEntry).where(
            CreditEntry.source == "overpayment")))
        assert (kept.source, kept.amount) == ("overpayment", Decimal("330.00"))
        told = await uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == PAYMENT_CREDITED))
        assert told and told > 0


async def test_stripe_down_the_chat_says_so_clearly(twilio, stripe, make_uow):
    stripe.down = True
    maya = SmsPatient(twilio, MAYA)
    await maya.say("hi")
    await maya.choose("Memberships and invoices")
    reply = await maya.choose("Leo Chen")
    assert "Pay Massage 10-pack, payment 2 of 3 online" in maya.labels
    reply = await maya.choose("Pay Massage 10-pack")
    assert "cannot be opened right now" in reply and "front desk" in reply
    assert await _count(make_uow, CheckoutSession) == 0


async def test_without_stripe_no_route_and_no_link_offered(clinic, database_url, clock):
    async with sms_server(database_url, clock) as twilio:
        answered = await twilio.http.post(WEBHOOK, content=b"{}")
        assert answered.status_code in (404, 405)
        maya = SmsPatient(twilio, MAYA)
        await maya.say("hi")
        await maya.choose("Buy a package")
        await maya.choose("Maya Chen (me)")
        await maya.choose("Massage 10-pack")
        await maya.choose("Buy it")
        assert maya.labels == ["Pay at the clinic"]



async def test_telegram_without_in_chat_payments_sends_the_link(clinic, database_url, clock,
                                                                stripe, make_uow):
    async with telegram_server(database_url, clock, TELEGRAM_PAYMENT_PROVIDER_TOKEN=None,
                               **_stripe_env(stripe)) as tg:
        maya = TgUser(tg, 7001, "Maya")
        await maya.say("/start")
        await maya.share_contact("+14165550101")
        await maya.say("/buy")
        await maya.press("Maya Chen (me)")
        await maya.press("Massage 10-pack")
        await maya.press("Buy it")
        assert maya.labels == ["Pay online now", "Pay at the clinic"]
        reply = await maya.press("Pay online now")
        assert "Pay $330.00 online: https://checkout.stripe.test/c/pay/cs_test_" in reply
        session_id = reply.rsplit("/", 1)[-1].split()[0]
        answered = await _deliver(tg.http, stripe.completed(session_id))
        assert answered.status_code == 200
    assert (await _massage(make_uow))[0]


async def test_an_expired_event_retires_the_session_and_the_next_link_is_new(
    twilio, stripe, make_uow
):
    maya, session_id = await _buy_and_ask_for_the_link(twilio)
    stripe.sessions[session_id]["status"] = "expired"
    expired = event("checkout.session.expired", stripe.sessions[session_id], int(time.time()))
    assert (await _deliver(twilio.http, expired)).status_code == 200
    async with make_uow() as uow:
        assert await uow.session.scalar(select(CheckoutSession.status)) == "expired"
    await maya.say("menu")
    await maya.choose("Memberships and invoices")
    await maya.choose("Maya Chen (me)")
    reply = await maya.choose("Pay Massage 10-pack, payment 1 of 3 online")
    assert "Pay $330.00 online: https://checkout.stripe.test/c/pay/cs_test_" in reply
    assert session_id not in reply and len(stripe.created) == 2
