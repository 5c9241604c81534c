"""The SMS channel: Twilio's Messaging webhooks (INTERFACES.md, HTTP; DESIGN.md, SMS).

``POST /sms/inbound`` turns a signed Twilio request into an :class:`Inbound` for the dialog
engine and answers with TwiML; ``POST /sms/status`` records delivery reports for outbound
messages. Both check ``X-Twilio-Signature`` against ``PUBLIC_BASE_URL`` + path (what Twilio was
told to call, which a proxy in front of us may rewrite) and every form parameter, before
anything else is read or written. A ``MessageSid`` delivered again is answered with the same
TwiML and not acted on again (:mod:`bot.services.inbound`); while another delivery of it is
being handled, the repeat waits for that answer, takes the message over if that delivery's
instance died (its claim's lease ran out), or else answers 503 to be delivered again: never an
empty answer for a message nobody acted on. Twilio's opt-out classification
(``OptOutType``) counts as the matching keyword (RULES.md 14).

Nothing here logs a phone number, a name or a message text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.dialogs.render import plain
from bot.dialogs.types import Inbound, Outcome
from bot.handlers import sms_text
from bot.services import delivery, inbound
from bot.storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.server import Runtime

Form = ImmutableMultiDict[str, str]

log = logging.getLogger(__name__)

CHANNEL = "sms"
INBOUND_PATH = "/sms/inbound"
STATUS_PATH = "/sms/status"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 200
# A claim's lease, renewed while its instance handles the message: a delivery repeated on
# another instance (the proxy retries when an instance dies mid-request) takes the message over
# once the lease ran out, well within the 15 s Twilio waits for an answer.
LEASE = timedelta(seconds=6)
RENEW_SECONDS = 2.0
DUPLICATE_WAIT_SECONDS = 10.0
TAKEOVERS = 3
DUPLICATE_POLL_SECONDS = 0.1
MESSAGE_SID = re.compile(r"[A-Za-z]{2}[0-9a-fA-F]{32}")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
STATUS = re.compile(r"[a-z_]{1,32}")
ERROR_CODE = re.compile(r"[0-9]{1,10}")
UNSUBSCRIBED = "21610"
# Twilio Advanced Opt-Out classifies a message; the engine understands our keywords.
OPT_OUT_KEYWORD = {"START": "START", "HELP": "HELP"}
# Characters XML 1.0 cannot carry, whatever the escaping.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def routes() -> list[Route]:
    """The SMS webhooks, for :func:`bot.server.create_app`."""
    return [
        Route(INBOUND_PATH, inbound_sms, methods=["POST"]),
        Route(STATUS_PATH, sms_status, methods=["POST"]),
    ]


async def inbound_sms(request: Request) -> Response:
    """Answer a patient's text with the dialog's replies, as TwiML."""
    runtime: Runtime = request.state.runtime
    form = await signed_form(request, runtime, INBOUND_PATH)
    sid = _field(form, "MessageSid") or _field(form, "SmsMessageSid")
    phone = _field(form, "From")
    if not MESSAGE_SID.fullmatch(sid):
        raise HTTPException(400, "MessageSid is missing or malformed")
    if not E164.fullmatch(phone):
        raise HTTPException(400, "From is not an E.164 phone number")
    async with UnitOfWork(runtime.db, runtime.clock) as uow:
        claim = await inbound.claim(uow, CHANNEL, sid, lease=LEASE)
        await uow.commit()
    for _ in range(TAKEOVERS):
        if claim.owned:
            assert claim.token is not None
            try:
                return _twiml(await _act(runtime, form, phone, sid, claim.token))
            except inbound.ClaimLost:
                log.info("sms inbound: another delivery took the message over")
        elif claim.answered:  # acted on (its answer may be forgotten by now: then none)
            log.info("sms inbound: repeated message, answered as before")
            return _twiml(twiml([]) if claim.reply is None else claim.reply)
        claim = await _wait_for_answer(runtime, sid)
    raise _still_in_hand()


async def sms_status(request: Request) -> Response:
    """Record a delivery report for a message we sent."""
    runtime: Runtime = request.state.runtime
    form = await signed_form(request, runtime, STATUS_PATH)
    sid = _field(form, "MessageSid") or _field(form, "SmsSid")
    status = _field(form, "MessageStatus") or _field(form, "SmsStatus")
    error_code = _field(form, "ErrorCode") or None
    if not MESSAGE_SID.fullmatch(sid) or not STATUS.fullmatch(status):
        raise HTTPException(400, "MessageSid or MessageStatus is missing or malformed")
    if error_code is not None and not ERROR_CODE.fullmatch(error_code):
        raise HTTPException(400, "ErrorCode is malformed")
    async with UnitOfWork(runtime.db, runtime.clock) as uow:
        message = await delivery.record_delivery_status(uow, sid, status, error_code)
        recipient = _field(form, "To")
        if message is not None and error_code == UNSUBSCRIBED and E164.fullmatch(recipient):
            await delivery.opt_out_phone(uow, recipient)
        await uow.commit()
    log.info("sms status: %s (%s)", status, "recorded" if message else "unknown message")
    return Response(status_code=200)


async def signed_form(request: Request, runtime: Runtime, path: str) -> Form:
    """The request's form parameters, once its Twilio signature is proven; else 4xx."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise HTTPException(415, f"Send the parameters as {FORM_TYPE}, as Twilio does")
    form = await _read_form(request)
    signature = request.headers.get("x-twilio-signature", "")
    token = runtime.settings.twilio_auth_token
    url = runtime.settings.base_url + path
    if request.url.query:
        url += "?" + request.url.query
    if not signature or token is None or not RequestValidator(
        token.get_secret_value()
    ).validate(url, form, signature):
        log.warning("rejected a request to %s without a valid Twilio signature", path)
        raise HTTPException(403, "Forbidden")
    return form


def twiml(messages: list[str]) -> str:
    """A TwiML ``<Response>`` sending each of ``messages`` as an SMS."""
    response = MessagingResponse()
    for message in messages:
        response.message(NOT_XML.sub("", message))
    return str(response)


def _messages(outcome: Outcome) -> list[str]:
    return [part for reply in outcome.replies for part in sms_text.split(plain(reply))]


def _inbound(form: Form, phone: str) -> Inbound:
    text = _field(form, "Body", strip=False)
    opt_out_type = _field(form, "OptOutType").upper()
    if opt_out_type in OPT_OUT_KEYWORD:
        text = OPT_OUT_KEYWORD[opt_out_type]
    return Inbound(
        channel=CHANNEL, address=phone, phone=phone, text=text, opt_out=opt_out_type == "STOP"
    )


def _field(form: Form, name: str, *, strip: bool = True) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value.strip() if strip else value


async def _read_form(request: Request) -> Form:
    """The url-encoded body, read up to :data:`MAX_BODY_BYTES` (else 413)."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"The request is larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"The request is larger than {MAX_BODY_BYTES} bytes")
    try:
        pairs = parse_qsl(
            body.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FIELDS
        )
    except ValueError:
        raise HTTPException(400, f"More than {MAX_FIELDS} form parameters") from None
    return Form(pairs)


async def _act(runtime: Runtime, form: Form, phone: str, sid: str, token: str) -> str:
    """Act on a message claimed under ``token`` (keeping the claim's lease alive meanwhile) and
    record the answer with the action; :class:`inbound.ClaimLost` if it was taken over."""

    async def settle(uow: UnitOfWork, outcome: Outcome) -> None:
        await inbound.settle(uow, CHANNEL, sid, token, twiml(_messages(outcome)))

    keeping = asyncio.create_task(_keep_claim(runtime, sid, token))
    try:
        outcome = await runtime.dialogs.handle(_inbound(form, phone), settle)
    except inbound.ClaimLost:
        raise
    except Exception:
        await _release(runtime, sid, token)
        raise
    finally:
        keeping.cancel()
    answer = twiml(_messages(outcome))
    # Settled with the turn already, unless the turn failed and the answer is an apology.
    async with UnitOfWork(runtime.db, runtime.clock) as uow:
        await inbound.settle(uow, CHANNEL, sid, token, answer)
        await uow.commit()
    log.info("sms inbound: answered with %d message(s)", answer.count("<Message>"))
    return answer


async def _keep_claim(runtime: Runtime, sid: str, token: str) -> None:
    """Renew the claim's lease while this instance handles the message (until cancelled)."""
    while True:
        await asyncio.sleep(RENEW_SECONDS)
        try:
            async with UnitOfWork(runtime.db, runtime.clock) as uow:
                held = await inbound.renew(uow, CHANNEL, sid, token, LEASE)
                await uow.commit()
        except Exception as exc:  # the lease may run out; settling then says whether it did
            log.warning("sms inbound: could not renew a claim (%s)", type(exc).__name__)
            continue
        if not held:
            return


async def _wait_for_answer(runtime: Runtime, sid: str) -> inbound.Claim:
    """Wait (bounded) until the message is answered, or its claim's lease runs out (its
    handler died) and this delivery takes it over; else 503, so that it is delivered again:
    never an empty answer for a message nobody acted on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DUPLICATE_WAIT_SECONDS
    while loop.time() < deadline:
        await asyncio.sleep(DUPLICATE_POLL_SECONDS)
        async with UnitOfWork(runtime.db, runtime.clock, readonly=True) as uow:
            if await inbound.in_hand(uow, CHANNEL, sid):
                continue
        async with UnitOfWork(runtime.db, runtime.clock) as uow:
            claim = await inbound.claim(uow, CHANNEL, sid, lease=LEASE)
            await uow.commit()
        if claim.owned or claim.answered:
            return claim
    raise _still_in_hand()


def _still_in_hand() -> HTTPException:
    log.warning("sms inbound: a repeated message is still being handled; answered 503")
    return HTTPException(503, "This message is still being handled; deliver it again",
                         headers={"Retry-After": "5"})


async def _release(runtime: Runtime, sid: str, token: str) -> None:
    """Give up the claim of a message whose handling failed, so Twilio's retry can act."""
    try:
        async with UnitOfWork(runtime.db, runtime.clock) as uow:
            await inbound.release(uow, CHANNEL, sid, token)
            await uow.commit()
    except Exception as exc:  # the original error matters more; the claim times out anyway
        log.error("could not release an inbound sms claim: %s", type(exc).__name__)


def _twiml(body: str) -> Response:
    return Response(body, media_type="text/xml")
