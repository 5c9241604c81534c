"""Twilio's webhooks against the real server: signatures, repeats, odd requests, delivery reports.

The server runs under uvicorn on a loopback port with ``PUBLIC_BASE_URL`` = https://clinic.example
(requests reach 127.0.0.1 but are signed for the public URL, as behind a proxy). "Touches
nothing" is checked in the database: no conversation and no inbound-message row appears.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.dialogs.engine import Engine
from bot.handlers import sms_text
from bot.services import delivery, outbox
from bot.storage.models import Conversation, InboundMessage, OutboxMessage, Patient
from tests.dialogs.conftest import MAYA, SOFIA, STRANGER
from tests.e2e.sms_harness import TOKEN, Twilio, messages, new_sid, sms_server

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def twilio(clinic: None, database_url: str, clock) -> AsyncIterator[Twilio]:
    async with sms_server(database_url, clock) as player:
        yield player


async def _rows(make_uow, model) -> int:
    async with make_uow() as uow:
        return await uow.session.scalar(select(func.count()).select_from(model))


async def _conversation(make_uow, phone: str) -> Conversation:
    async with make_uow() as uow:
        found = await uow.session.scalar(select(Conversation).where(Conversation.address == phone))
        uow.session.expunge_all()
        return found


async def _nothing_written(make_uow) -> None:
    assert await _rows(make_uow, InboundMessage) == 0
    assert await _rows(make_uow, Conversation) == 0


# -- signatures ------------------------------------------------------------------------------


@sqlite_only
async def test_unsigned_forged_and_misdirected_requests_are_refused_and_touch_nothing(
    twilio, make_uow
):
    params = twilio.inbound_params(MAYA, "hi")
    refused = {
        "missing": await twilio.http.post("/sms/inbound", data=params),
        "empty": await twilio.http.post("/sms/inbound", data=params,
                                        headers={"X-Twilio-Signature": ""}),
        "garbage": await twilio.post("/sms/inbound", params, signature="bm90IGEgc2lnbmF0dXJl"),
        "other token": await twilio.post("/sms/inbound", params, signature=Twilio(
            twilio.http, twilio.settings, token="f" * 32).sign("/sms/inbound", params)),
        "other path": await twilio.post(
            "/sms/inbound", params, signature=twilio.sign("/sms/status", params)),
        # Behind a proxy the request's own URL is not what Twilio signed.
        "request url": await twilio.post("/sms/inbound", params, signature=twilio.sign(
            "/sms/inbound", params, url=f"{twilio.http.base_url}sms/inbound".replace(
                "//sms", "/sms"))),
        "tampered body": await twilio.post(
            "/sms/inbound", {**params, "Body": "STOP"}, signature=twilio.sign(
                "/sms/inbound", params)),
        "added param": await twilio.post(
            "/sms/inbound", {**params, "OptOutType": "STOP"}, signature=twilio.sign(
                "/sms/inbound", params)),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403)
    assert all(r.text == "Forbidden" for r in refused.values())
    await _nothing_written(make_uow)
    assert messages(await twilio.post("/sms/inbound", params)), "the genuine request works"


@sqlite_only
async def test_without_a_public_url_the_servers_own_address_is_signed(clinic, database_url,
                                                                       clock, make_uow):
    async with sms_server(database_url, clock, PUBLIC_BASE_URL=None) as twilio:
        assert twilio.public_url.startswith("http://127.0.0.1:")
        assert "Hi Maya" in messages(await twilio.text(MAYA, "hi"))[0]
        params = twilio.inbound_params(MAYA, "hi")
        proxy_signed = twilio.sign("/sms/inbound", params, url="https://clinic.example/sms/inbound")
        response = await twilio.post("/sms/inbound", params, signature=proxy_signed)
        assert response.status_code == 403


@sqlite_only
async def test_a_public_url_with_a_path_prefix_and_query_validates(clinic, database_url, clock):
    prefix = "https://clinic.example/physio"
    async with sms_server(database_url, clock, PUBLIC_BASE_URL=prefix + "/") as twilio:
        params = twilio.inbound_params(MAYA, "hi")
        url = prefix + "/sms/inbound?clinic=harbour"
        response = await twilio.http.post(
            "/sms/inbound?clinic=harbour", data=params,
            headers={"X-Twilio-Signature": twilio.sign("/sms/inbound", params, url=url)})
        assert "Hi Maya" in messages(response)[0]


async def test_a_signature_over_the_url_with_its_default_port_is_accepted_too(twilio):
    # Twilio signs some requests over the URL with the port spelled out: the configured URL is
    # checked first, Twilio's validator (both spellings) decides when that does not match.
    params = twilio.inbound_params(MAYA, "hi")
    with_port = twilio.sign("/sms/inbound", params, url="https://clinic.example:443/sms/inbound")
    assert with_port != twilio.sign("/sms/inbound", params)
    assert "Hi Maya" in messages(await twilio.post("/sms/inbound", params, signature=with_port))[0]
    other_port = twilio.sign("/sms/inbound", params, url="https://clinic.example:8443/sms/inbound")
    assert (await twilio.post("/sms/inbound", params, signature=other_port)).status_code == 403


# -- the same MessageSid twice ---------------------------------------------------------------


async def test_a_repeated_message_sid_is_answered_alike_and_acted_on_once(twilio, make_uow):
    await twilio.text(STRANGER, "hello")
    params = twilio.inbound_params(STRANGER, "Ada")
    signature = twilio.sign("/sms/inbound", params)
    first = await twilio.post("/sms/inbound", params, signature=signature)
    again = await twilio.post("/sms/inbound", params, signature=signature)
    assert "last name" in messages(first)[0]
    assert again.text == first.text
    conversation = await _conversation(make_uow, STRANGER)
    assert conversation.step == "last_name", "'Ada' was not taken as the last name as well"
    assert "date of birth" in messages(await twilio.text(STRANGER, "Lovelace"))[0]


async def test_concurrent_deliveries_of_one_message_act_once(twilio, make_uow):
    await twilio.text(STRANGER, "hello")
    params = twilio.inbound_params(STRANGER, "Ada")
    responses = await asyncio.gather(
        *(twilio.post("/sms/inbound", params) for _ in range(6)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1, "every delivery gets the same answer"
    assert "last name" in messages(responses[0])[0]
    conversation = await _conversation(make_uow, STRANGER)
    assert conversation.step == "last_name"
    assert conversation.state["data"] == {"first_name": "Ada"}
    async with make_uow() as uow:
        [seen] = (await uow.session.scalars(select(InboundMessage))).all()[-1:]
        assert seen.external_id == params["MessageSid"] and seen.reply == responses[0].text


async def test_a_failed_turn_keeps_nothing_and_its_apology_is_the_answer(
    twilio, make_uow, monkeypatch
):
    """Claim, turn and answer are one transaction: a turn that fails takes its claim with it,
    then the apology is recorded as the answer (a repeat gets it, and is not acted on)."""
    await twilio.text(STRANGER, "hello")
    turn = Engine._turn

    async def broken(self: Engine, ctx, *args, **kwargs):
        ctx.conversation.step = "nowhere"
        await ctx.uow.session.flush()  # written in the turn's transaction, then it fails
        raise RuntimeError("a bug")

    monkeypatch.setattr(Engine, "_turn", broken)
    params = twilio.inbound_params(STRANGER, "Ada")
    signature = twilio.sign("/sms/inbound", params)
    first = await twilio.post("/sms/inbound", params, signature=signature)
    assert "something went wrong" in messages(first)[0]
    monkeypatch.setattr(Engine, "_turn", turn)
    again = await twilio.post("/sms/inbound", params, signature=signature)
    assert again.text == first.text, "answered alike, not acted on"
    conversation = await _conversation(make_uow, STRANGER)
    assert conversation.step == "first_name" and "data" not in conversation.state
    async with make_uow() as uow:
        seen = await uow.session.scalar(select(InboundMessage).where(
            InboundMessage.external_id == params["MessageSid"]))
        assert seen is not None and seen.answered_at is not None and seen.reply == first.text
    assert "last name" in messages(await twilio.text(STRANGER, "Ada"))[0], "the next text acts"


# -- odd requests ----------------------------------------------------------------------------


@sqlite_only
async def test_wrong_content_types_are_refused_and_touch_nothing(twilio, make_uow):
    params = twilio.inbound_params(MAYA, "hi")
    signed = {"X-Twilio-Signature": twilio.sign("/sms/inbound", params)}
    sent = [
        await twilio.http.post("/sms/inbound", json=params, headers=signed),
        await twilio.http.post("/sms/inbound", files={"Body": ("b.txt", b"hi")}, data=params,
                               headers=signed),
        await twilio.http.post("/sms/inbound", content=b"hi", headers={
            **signed, "Content-Type": "text/plain"}),
        await twilio.http.post("/sms/inbound", content=b"", headers=signed),
    ]
    assert [r.status_code for r in sent] == [415] * 4
    assert "application/x-www-form-urlencoded" in sent[0].text
    await _nothing_written(make_uow)
    assert (await twilio.http.get("/sms/inbound")).status_code == 405


@sqlite_only
async def test_malformed_twilio_fields_are_refused_and_touch_nothing(twilio, make_uow):
    no_sid = {k: v for k, v in twilio.inbound_params(MAYA, "hi").items() if "MessageSid" not in k}
    assert (await twilio.post("/sms/inbound", no_sid)).status_code == 400
    for sender in ("", "4165550101", "whatsapp:+14165550101", "+1 416 555 0101"):
        response = await twilio.post("/sms/inbound", twilio.inbound_params(sender, "hi"))
        assert response.status_code == 400 and "E.164" in response.text
    await _nothing_written(make_uow)


@sqlite_only
async def test_an_empty_or_missing_body_gets_the_menu(twilio):
    [reply] = messages(await twilio.text(MAYA, ""))
    assert "Hi Maya!" in reply and "1) Book an appointment" in reply
    params = twilio.inbound_params(MAYA, "")
    del params["Body"]
    [reply] = messages(await twilio.post("/sms/inbound", params))
    assert "1) Book an appointment" in reply


@sqlite_only
async def test_a_10_kb_body_is_answered_and_the_dialog_goes_on(twilio, make_uow):
    await twilio.text(STRANGER, "hello")
    replies = messages(await twilio.text(STRANGER, "Ada " * 2500))
    assert replies and all(sms_text.segments(text) <= 3 for text in replies)
    assert "first name" in replies[-1]
    assert "last name" in messages(await twilio.text(STRANGER, "Ada"))[0]
    emoji = messages(await twilio.text(MAYA, "\U0001f600" * 5000))
    assert emoji and all(sms_text.segments(text) <= 3 for text in emoji)


@sqlite_only
async def test_a_body_over_64_kb_is_refused_unread(twilio, make_uow):
    response = await twilio.text(MAYA, "x" * 70_000)
    assert response.status_code == 413
    await _nothing_written(make_uow)


# -- delivery reports ------------------------------------------------------------------------


async def _sent_message(make_uow, purpose: str, sid: str, phone: str = SOFIA) -> int:
    async with make_uow() as uow:
        patient_id = await uow.session.scalar(select(Patient.id).where(Patient.phone == phone))
        await outbox.enqueue(uow, purpose=purpose, kind="reminder", params={},
                             patient_id=patient_id)
        message_id = await uow.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.purpose == purpose))
        await delivery.record_sent(uow, message_id, channel="sms", provider_message_id=sid)
        await uow.commit()
        return message_id


async def _delivery(make_uow, message_id: int) -> tuple[str | None, str | None]:
    async with make_uow() as uow:
        message = await uow.session.get(OutboxMessage, message_id)
        return message.delivery_status, message.last_error


def _status(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": "AC" + "0" * 32, "From": "+14165550100", "To": SOFIA, **extra}


async def test_delivery_reports_are_recorded_in_order(twilio, make_uow):
    sid = new_sid()
    message_id = await _sent_message(make_uow, "test:report", sid)
    for status in ("queued", "sent", "delivered"):
        response = await twilio.post("/sms/status", _status(sid, status))
        assert response.status_code == 200
        assert (await _delivery(make_uow, message_id))[0] == status
    late = await twilio.post("/sms/status", _status(sid, "sent"))
    assert late.status_code == 200
    assert (await _delivery(make_uow, message_id))[0] == "delivered", "never moves back"


@sqlite_only
async def test_unknown_and_forged_reports_change_nothing(twilio, make_uow):
    sid = new_sid()
    message_id = await _sent_message(make_uow, "test:unknown", sid)
    unknown = await twilio.post("/sms/status", _status(new_sid(), "failed", ErrorCode="30003"))
    assert unknown.status_code == 200
    forged = await twilio.post("/sms/status", _status(sid, "failed"), signature=twilio.sign(
        "/sms/status", _status(sid, "delivered")))
    assert forged.status_code == 403
    assert await _delivery(make_uow, message_id) == (None, None)
    bad = await twilio.post("/sms/status", _status(sid, "Delivered; DROP TABLE outbox"))
    assert bad.status_code == 400
    assert await _delivery(make_uow, message_id) == (None, None)


async def test_an_unsubscribed_recipient_report_opts_the_patient_out(twilio, make_uow):
    sid = new_sid()
    message_id = await _sent_message(make_uow, "test:21610", sid)
    response = await twilio.post("/sms/status", _status(sid, "failed", ErrorCode="21610"))
    assert response.status_code == 200
    status, error = await _delivery(make_uow, message_id)
    assert status == "failed" and "21610" in error
    async with make_uow() as uow:
        sofia = await uow.session.scalar(select(Patient).where(Patient.phone == SOFIA))
        assert sofia.opted_out


# -- health and failures ---------------------------------------------------------------------


def _ruin(path: Path) -> None:
    """Overwrite the SQLite database with bytes that are not a database."""
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    path.write_bytes(b"this is not a database " * 200)


@sqlite_only
async def test_health_then_a_broken_database_answers_503_and_a_generic_500(
    twilio, database_url, caplog
):
    health = await twilio.http.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "sms": "ok", "telegram": "off",
                             "warnings": []}
    await asyncio.to_thread(_ruin, Path(make_url(database_url).database))
    caplog.set_level(logging.INFO)
    health = await twilio.http.get("/healthz")
    assert health.status_code == 503 and health.json()["database"] == "unavailable"
    secret_body = "my knee hurts since Tuesday"
    failed = await twilio.text(MAYA, secret_body)
    assert failed.status_code == 500 and failed.text == "Internal Server Error"
    assert "DatabaseError" in caplog.text, "the log says what failed"
    for private in (MAYA, secret_body, TOKEN, "Maya"):
        assert private not in caplog.text and private not in failed.text


@sqlite_only
async def test_sms_routes_are_absent_when_twilio_is_not_configured(clinic, database_url, clock):
    async with sms_server(database_url, clock, TWILIO_ACCOUNT_SID=None, TWILIO_AUTH_TOKEN=None
                          ) as twilio:
        assert (await twilio.text(MAYA, "hi")).status_code == 404
        assert (await twilio.http.get("/healthz")).status_code == 200


