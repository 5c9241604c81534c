"""Outbound SMS through twilio's client against a local stand-in of Twilio's REST API.

The stand-in (tests/e2e/twilio_standin.py) runs on a loopback port and answers like Twilio, or
with scripted failures; the sender's waits between retries are recorded instead of slept.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.handlers.sms_sender import (
    Backoff,
    RecipientOptedOut,
    SmsRefused,
    SmsUnavailable,
    TwilioSender,
)
from bot.services import delivery
from bot.storage.models import Conversation, Patient
from tests.dialogs.conftest import MAYA, SOFIA
from tests.e2e.sms_harness import ACCOUNT_SID, FROM_NUMBER, TOKEN, sms_settings
from tests.e2e.twilio_standin import LiveServer, TwilioStandin, loopback_socket

MESSAGING_SERVICE = "MG" + "ab" * 16


@pytest.fixture
async def standin() -> AsyncIterator[tuple[TwilioStandin, str]]:
    twilio = TwilioStandin()
    async with LiveServer(twilio.app()) as live:
        yield twilio, live.url


class Waits:
    """Records the sender's backoff waits (and returns at once)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def _sender(url: str, waits: Waits | None = None, **settings: str | None) -> TwilioSender:
    configured = sms_settings("sqlite:///unused.db", 8080, TWILIO_API_BASE_URL=url, **settings)
    return TwilioSender.from_settings(configured, sleep=waits or Waits(), timeout=10)


def test_the_stand_ins_connections_answer_without_waiting_for_an_ack():
    """Local servers listen with TCP_NODELAY (accepted connections inherit it), as `clinicbot
    serve` does: otherwise each response waited 40 ms for the client's delayed ACK."""
    sock = loopback_socket()
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


async def test_a_sent_sms_returns_twilios_message_id(standin):
    twilio, url = standin
    async with _sender(url) as sender:
        sid = await sender.send(MAYA, "Reminder: physio tomorrow at 10:00 a.m.")
    [sent] = twilio.received
    assert sid == sent.sid and sid.startswith("SM")
    assert sent.account_sid == ACCOUNT_SID
    assert (sent.username, sent.password) == (ACCOUNT_SID, TOKEN)
    assert sent.params == {
        "To": MAYA, "From": FROM_NUMBER, "Body": "Reminder: physio tomorrow at 10:00 a.m.",
        "StatusCallback": "https://clinic.example/sms/status",
    }


async def test_a_messaging_service_sends_instead_of_a_number(standin):
    twilio, url = standin
    async with _sender(url, TWILIO_FROM_NUMBER=None,
                       TWILIO_MESSAGING_SERVICE_SID=MESSAGING_SERVICE) as sender:
        await sender.send(SOFIA, "Hola")
    [sent] = twilio.sent
    assert sent.params["MessagingServiceSid"] == MESSAGING_SERVICE and "From" not in sent.params


async def test_429_is_retried_after_a_wait(standin):
    twilio, url = standin
    twilio.fail_next(429, code=20429)
    waits = Waits()
    async with _sender(url, waits) as sender:
        sid = await sender.send(MAYA, "hello")
    assert [m.sid for m in twilio.received] == [None, sid]
    assert waits.seconds == [1.0]


async def test_500s_are_retried_with_growing_waits_then_given_up(standin):
    twilio, url = standin
    twilio.fail_next(500, times=3)
    twilio.fail_next(503)
    waits = Waits()
    async with _sender(url, waits) as sender:
        with pytest.raises(SmsUnavailable) as failed:
            await sender.send(MAYA, "hello")
    assert len(twilio.received) == Backoff().attempts == 4
    assert waits.seconds == [1.0, 2.0, 4.0]
    assert failed.value.status == 503 and MAYA not in str(failed.value)


async def test_a_refusal_is_not_retried(standin):
    twilio, url = standin
    twilio.fail_next(400, code=21211)
    waits = Waits()
    async with _sender(url, waits) as sender:
        with pytest.raises(SmsRefused) as refused:
            await sender.send("+15005550001", "hello")
    assert len(twilio.received) == 1 and waits.seconds == []
    assert refused.value.code == 21211


async def test_an_unreachable_api_is_retried_then_given_up():
    closed = loopback_socket()  # bound, never listening: connections are refused
    waits = Waits()
    try:
        async with _sender(f"http://127.0.0.1:{closed.getsockname()[1]}", waits) as sender:
            with pytest.raises(SmsUnavailable, match="could not be reached"):
                await sender.send(MAYA, "hello")
    finally:
        closed.close()
    assert waits.seconds == [1.0, 2.0, 4.0]


async def test_an_unsubscribed_recipient_is_opted_out_not_retried(standin, clinic, make_uow):
    twilio, url = standin
    twilio.fail_next(400, code=21610)
    waits = Waits()
    async with _sender(url, waits) as sender:
        with pytest.raises(RecipientOptedOut) as unsubscribed:
            await sender.send(MAYA, "Your invoice is due")
    assert len(twilio.received) == 1 and waits.seconds == []
    assert unsubscribed.value.code == 21610
    async with make_uow() as uow:  # what the outbox sender does with it
        opted = await delivery.opt_out_phone(uow, MAYA)
        await uow.commit()
    async with make_uow() as uow:
        maya = await uow.session.scalar(select(Patient).where(Patient.phone == MAYA))
        sofia = await uow.session.scalar(select(Patient).where(Patient.phone == SOFIA))
        assert opted == [maya.id] and maya.opted_out and not sofia.opted_out
        assert await uow.session.scalar(select(Conversation)) is None


async def test_a_sent_message_id_is_recorded_for_its_delivery_reports(standin, clinic,
                                                                      make_uow):
    twilio, url = standin
    from bot.services import outbox
    from bot.storage.models import OutboxMessage

    async with make_uow() as uow:
        await outbox.enqueue(uow, purpose="test:sid", kind="reminder", params={})
        message_id = await uow.session.scalar(select(OutboxMessage.id))
        await uow.commit()
    async with _sender(url) as sender:
        sid = await sender.send(MAYA, "See you tomorrow")
    async with make_uow() as uow:
        await delivery.record_sent(uow, message_id, channel="sms", provider_message_id=sid)
        await uow.commit()
    async with make_uow() as uow:
        message = await uow.session.get(OutboxMessage, message_id)
        assert (message.status, message.channel, message.provider_message_id) == (
            "sent", "sms", twilio.sent[0].sid)
        report = await delivery.record_delivery_status(uow, sid, "delivered")
        assert report is not None and report.delivery_status == "delivered"


async def test_a_stuck_api_times_out_and_is_retried(standin):
    twilio, url = standin
    twilio.hang_next(2.0)
    waits = Waits()
    configured = sms_settings("sqlite:///unused.db", 8080, TWILIO_API_BASE_URL=url)
    async with TwilioSender.from_settings(configured, sleep=waits, timeout=0.3) as sender:
        sid = await sender.send(MAYA, "hello")
    assert [m.sid for m in twilio.received] == [None, sid], "the stuck try timed out"
    assert waits.seconds == [1.0]
