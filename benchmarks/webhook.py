"""SMS webhook requests per second and p99, over loopback HTTP with signature checking.

The real app (``bot.server.create_app`` with Twilio configured, as ``tests/e2e/sms_harness.py``
runs it, without the scheduler) is served by uvicorn on a loopback port in this process.
``Sizes.webhook_concurrency`` patients (each with a usable package) text it at once, each
waiting for its answer before texting again: ``MENU``, "2" (My packages), ``MENU``, "1" (Book),
then "1" twice. Every request carries a fresh ``MessageSid`` and a valid
``X-Twilio-Signature`` for the public URL, computed before the clock starts (the signing is
Twilio's work, not ours). Requests per second is all requests over the wall time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
from twilio.request_validator import RequestValidator

from benchmarks.common import Bench, Figure, Stopwatch, percentile
from benchmarks.dialogs import patients_with_packages
from bot.handlers.sms import INBOUND_PATH
from bot.server import create_app
from bot.storage.db import create_engine
from tests.e2e.sms_harness import PUBLIC_URL, TOKEN, Twilio, new_sid, sms_settings
from tests.e2e.twilio_standin import LiveServer, loopback_socket

TEXTS = ("MENU", "2", "MENU", "1", "1", "1")


@dataclass
class Load:
    """What a load run saw: latency per request (seconds) and the HTTP statuses."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)


def signed_requests(phones: list[str], total: int) -> list[list[tuple[dict[str, str], str]]]:
    """Per phone, its texts in order: (form parameters, signature)."""
    validator = RequestValidator(TOKEN)
    player = Twilio(http=None, settings=None)  # type: ignore[arg-type]  # only inbound_params
    per_phone: list[list[tuple[dict[str, str], str]]] = [[] for _ in phones]
    for index in range(total):
        slot = index % len(phones)
        body = TEXTS[len(per_phone[slot]) % len(TEXTS)]
        params = player.inbound_params(phones[slot], body, new_sid())
        per_phone[slot].append(
            (params, validator.compute_signature(PUBLIC_URL + INBOUND_PATH, params)))
    return per_phone


async def drive(base_url: str, phones: list[str], total: int) -> Load:
    """Send ``total`` signed texts from ``phones`` (one conversation each, all at once)."""
    plan = signed_requests(phones, total)
    load = Load()

    async def patient(http: httpx.AsyncClient, texts: list[tuple[dict[str, str], str]]) -> None:
        for params, signature in texts:
            started = time.perf_counter()
            response = await http.post(INBOUND_PATH, data=params,
                                       headers={"X-Twilio-Signature": signature})
            load.latencies.append(time.perf_counter() - started)
            load.statuses[response.status_code] = load.statuses.get(response.status_code, 0) + 1

    limits = httpx.Limits(max_connections=len(phones) + 5)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as http:
        with Stopwatch() as watch:
            await asyncio.gather(*(patient(http, texts) for texts in plan))
    load.seconds = watch.seconds
    return load


async def sms_phones(bench: Bench, count: int) -> list[str]:
    db = create_engine(bench.url)
    try:
        return await patients_with_packages(db, bench, count)
    finally:
        await db.dispose()


async def measure(bench: Bench) -> list[Figure]:
    sizes = bench.sizes
    phones = await sms_phones(bench, sizes.webhook_concurrency)
    sock = loopback_socket()
    settings = sms_settings(bench.url, sock.getsockname()[1])
    async with LiveServer(create_app(settings, clock=bench.clock(), services=[]), sock) as live:
        load = await drive(live.url, phones, sizes.webhook_requests)
    return [
        Figure("SMS webhook requests/s", load.ok / load.seconds, "req/s",
               detail=f"{len(phones)} at once, {sum(load.statuses.values())} requests, "
                      f"statuses {load.statuses}",
               counts={"requests": sum(load.statuses.values()), "answered": load.ok}),
        Figure("SMS webhook p99", percentile(load.latencies, 99) * 1000, "ms",
               detail=f"p50 {percentile(load.latencies, 50) * 1000:.0f} ms"),
        Figure("SMS webhook errors", sum(load.statuses.values()) - load.ok, "requests", "0",
               lambda v: v == 0),
    ]
