"""The SMS channel: Twilio's Messaging webhooks (INTERFACES.md, HTTP; DESIGN.md, SMS).

``POST /sms/inbound`` turns a signed Twilio request into an :class:`Inbound` for the dialog
engine and answers with TwiML; ``POST /sms/status`` records delivery reports for outbound
messages. Both check ``X-Twilio-Signature`` against ``PUBLIC_BASE_URL`` + path (what Twilio was
told to call, which a proxy in front of us may rewrite) and every form parameter, before
anything else is read or written. Each message is one transaction: its claim, the dialog turn
and the answer are committed together (:mod:`bot.services.inbound`), so nothing is left behind
by a delivery whose instance died. A ``MessageSid`` delivered again is answered with the same
TwiML and not acted on again; while another delivery of it is being handled, the repeat waits
for that answer, takes the message over if that delivery's transaction ended without acting
(its instance died, or sat idle past the claim's lease), or else answers 503 to be delivered
again: never an empty answer for a message nobody acted on. A turn that fails is rolled back,
claim included; its apology is then recorded as the answer in a transaction of its own.
Twilio's opt-out classification (``OptOutType``) counts as the matching keyword (RULES.md 14).
A turn that asks for a payment link (the ``payment_link`` effect) is answered with one more
message, the link (:mod:`bot.delivery.pay_link`): it is opened after the turn committed, with no
transaction held over the provider's answer, and the recorded answer then amended to carry it.

Nothing here logs a phone number, a name or a message text.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from starlette.datastructures import ImmutableMultiDict
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bot.delivery import pay_link
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
# A claim's lease: how long the transaction handling a message may sit idle before the database
# ends it (PostgreSQL), so that a delivery repeated on another instance (the proxy retries when
# an instance dies mid-request) takes the message over well within the 15 s Twilio waits.
LEASE = timedelta(seconds=6)
DUPLICATE_WAIT_SECONDS = 10.0
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
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


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
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DUPLICATE_WAIT_SECONDS
    while True:
        acted = await _act(runtime, form, phone, sid)
        if isinstance(acted, str):
            return _twiml(acted)
        if acted.answered:  # acted on (its answer may be forgotten by now: then none)
            log.info("sms inbound: repeated message, answered as before")
            return _twiml(twiml([]) if acted.reply is None else acted.reply)
        if loop.time() >= deadline:  # still in hand elsewhere
            raise _still_in_hand()
        await asyncio.sleep(DUPLICATE_POLL_SECONDS)


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
    if not signature or token is None or not _signed(
        RequestValidator(token.get_secret_value()), url, form, signature):
        log.warning("rejected a request to %s without a valid Twilio signature", path)
        raise HTTPException(403, "Forbidden")
    return form


def _signed(validator: RequestValidator, url: str, form: Form, signature: str) -> bool:
    """Whether Twilio signed ``form`` for ``url``. Twilio's ``validate`` always computes two
    signatures (the URL with and without its port); the URL as configured is one of those two,
    so it is tried alone first, and ``validate`` decides only when it does not match."""
    expected = validator.compute_signature(url, form)
    return hmac.compare_digest(expected, signature) or validator.validate(url, form, signature)


def twiml(messages: list[str]) -> str:
    """A TwiML ``<Response>`` sending each of ``messages`` as an SMS: what Twilio's
    ``MessagingResponse`` writes, character for character, without building its element tree
    for every answer."""
    if not messages:
        return f"{XML_DECLARATION}<Response />"
    texts = "".join(_message(NOT_XML.sub("", m)) for m in messages)
    return f"{XML_DECLARATION}<Response>{texts}</Response>"


def _message(text: str) -> str:
    return f"<Message>{escape(text)}</Message>" if text else "<Message />"


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


class _NotOurs(Exception):
    """Another delivery holds the message, or acted on it: ``claim`` says which."""

    def __init__(self, claim: inbound.Claim) -> None:
        super().__init__("the message is another delivery's")
        self.claim = claim


async def _act(runtime: Runtime, form: Form, phone: str, sid: str) -> str | inbound.Claim:
    """Claim, act on and answer the message in one transaction: the answer; or, when another
    delivery holds the message or answered it, that claim (nothing done here)."""
    held = ""
    answer = ""

    async def claim(uow: UnitOfWork) -> None:
        nonlocal held
        found = await inbound.claim(uow, CHANNEL, sid, lease=LEASE)
        if not found.owned:
            raise _NotOurs(found)
        assert found.token is not None
        held = found.token

    async def settle(uow: UnitOfWork, outcome: Outcome) -> None:
        nonlocal answer
        answer = twiml(_messages(outcome))
        await inbound.settle(uow, CHANNEL, sid, held, answer)

    try:
        outcome = await runtime.dialogs.handle(_inbound(form, phone), settle, claim)
    except _NotOurs as not_ours:
        return not_ours.claim
    except inbound.ClaimLost:  # pragma: no cover - the claim is this transaction's own row
        return inbound.Claim(owned=False)
    links = [] if outcome.failed else pay_link.link_effects(outcome.effects)
    if links:
        t, currency = await pay_link.chat_translator(runtime.db, runtime.clock, CHANNEL, phone)
        extra = [part for invoice_id in links for part in sms_text.split(
            await pay_link.chat_text(runtime.payment_links, invoice_id, t, currency))]
        answer = twiml(_messages(outcome) + extra)
        async with UnitOfWork(runtime.db, runtime.clock) as uow:
            await inbound.remember_reply(uow, CHANNEL, sid, answer)
            await uow.commit()
    if outcome.failed:  # rolled back, the claim with it: the apology is the answer
        answer = twiml(_messages(outcome))
        async with UnitOfWork(runtime.db, runtime.clock) as uow:
            found = await inbound.claim(uow, CHANNEL, sid, lease=LEASE)
            if not found.owned:  # another delivery took it meanwhile: its answer stands
                return found
            assert found.token is not None
            await inbound.settle(uow, CHANNEL, sid, found.token, answer)
            await uow.commit()
    log.info("sms inbound: answered with %d message(s)", answer.count("<Message>"))
    return answer


def _still_in_hand() -> HTTPException:
    log.warning("sms inbound: a repeated message is still being handled; answered 503")
    return HTTPException(503, "This message is still being handled; deliver it again",
                         headers={"Retry-After": "5"})


def _twiml(body: str) -> Response:
    return Response(body, media_type="text/xml")
