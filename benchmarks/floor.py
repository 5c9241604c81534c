"""The floor: the least an SMS webhook can cost on this stack, to compare the bot's with.

``python -m benchmarks.floor PORT TOKEN PUBLIC_URL`` serves a minimal Starlette app under
uvicorn (uvicorn's defaults, no access log) on 127.0.0.1:PORT. ``POST /sms/inbound`` reads the
url-encoded form, checks its ``X-Twilio-Signature`` with Twilio's ``RequestValidator`` against
``PUBLIC_URL/sms/inbound`` exactly as the bot does (403 when it is wrong), and answers a constant
TwiML menu; ``GET /healthz`` answers 200. No database, no dialog: what is left is HTTP,
Starlette, form parsing and the signature.
"""

from __future__ import annotations

import sys
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

MENU = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>What would you like to "
        "do?\n1) Book an appointment\n2) My packages\n3) My appointments</Message></Response>")


def floor_app(token: str, public_url: str) -> Starlette:
    validator = RequestValidator(token)
    url = public_url + "/sms/inbound"

    async def inbound(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("latin-1"), keep_blank_values=True))
        if not validator.validate(url, form, request.headers.get("x-twilio-signature", "")):
            return PlainTextResponse("Forbidden", status_code=403)
        return Response(MENU, media_type="text/xml")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/sms/inbound", inbound, methods=["POST"]),
                             Route("/healthz", healthz, methods=["GET"])])


if __name__ == "__main__":
    port, token, public_url = sys.argv[1:4]
    uvicorn.run(floor_app(token, public_url), host="127.0.0.1", port=int(port),
                log_level="warning", access_log=False, server_header=False)
