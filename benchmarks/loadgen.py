"""The load generator: simulated SMS patients, in a process of their own, against HTTP servers.

Run by :class:`benchmarks.serving.Generator` as ``python -m benchmarks.loadgen``; it reads
one JSON object a line on stdin and answers each with one JSON line on stdout:

* first ``{"phones": [...], "token": ..., "public_url": ..., "seed": N}``: one patient per
  phone (each its own ``From`` number), signing with Twilio's ``RequestValidator`` for
  ``public_url`` + ``/sms/inbound`` as Twilio does;
* then runs, ``{"targets": [base URLs], "mode": "closed" | "paced", "seconds": S,
  "requests": N, "rate": R}``. Each request goes to a target chosen at random (two ``serve``
  processes behind no proxy share the load). A run stops itself after ``requests`` requests or
  ``seconds``, whichever comes first.

  * ``closed``: every patient texts again the moment the answer arrives (capacity).
  * ``paced``: every patient texts at planned moments a random (exponential) pause apart, so
    that together they offer ``rate`` requests/s; a patient still waiting for an answer texts
    as soon as it arrives. Latency runs from the *planned* moment, so a stalled server is
    charged for every text it delayed (no coordinated omission).

Every patient plays the same script (:func:`script`), reading each answer's numbered choices
as a patient does: ``MENU``, "My packages", ``MENU``, "Book an appointment", then a random
choice at each question through to ``Confirm``; after one booking in two it cancels one of its
appointments ("My appointments", the appointment, "Call it off", "Yes, call it off"). The answer
to a run is a summary: requests, statuses, apologies, latency percentiles (ms), bookings and
cancellations confirmed, and this process's CPU seconds (to show the generator is not the
limit).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Generator
from typing import Any

import aiohttp
from twilio.request_validator import RequestValidator

from benchmarks.common import percentile

INBOUND_PATH = "/sms/inbound"
TO_NUMBER = "+14165550100"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
CHOICE = re.compile(r"^(\d+)\) (.+)$", re.MULTILINE)
APOLOGY = "something went wrong"
NAVIGATION = frozenset({"Without a package", "Choose another day", "Choose another time",
                        "Send a message to the clinic", "Talk to the clinic", "Back",
                        "Back to menu", "Buy a package", "Another day"})
BOOKING_STEPS = 10
CANCEL_SHARE = 0.5
SLOW_MS = 100.0
Script = Generator[str, str, None]


def choices(reply: str) -> list[tuple[str, str]]:
    return CHOICE.findall(reply)


def number_of(reply: str, label: str) -> str:
    """The number of the choice labelled ``label``; ``MENU`` when there is none."""
    return next((n for n, text in choices(reply) if text == label), "MENU")


class Tally:
    """What the script saw that the summary reports."""

    def __init__(self) -> None:
        self.confirmed = 0
        self.cancelled = 0


def script(rng: random.Random, tally: Tally) -> Script:
    """One patient's texts, each chosen from the answer to the last (see module docstring)."""
    while True:  # as long as the run asks for texts
        reply = yield "MENU"
        reply = yield number_of(reply, "My packages")
        reply = yield "MENU"
        reply = yield number_of(reply, "Book an appointment")
        booked = False
        for _ in range(BOOKING_STEPS):
            if (confirm := number_of(reply, "Confirm")) != "MENU":
                reply = yield confirm
                booked = "Booked for" in reply
                tally.confirmed += booked
                break
            shown = choices(reply)
            wanted = [n for n, label in shown if label not in NAVIGATION] or [
                n for n, label in shown if label in ("Without a package", "Choose another day")]
            if not wanted:
                break
            reply = yield rng.choice(wanted)
        if booked and rng.random() < CANCEL_SHARE:
            reply = yield "MENU"
            reply = yield number_of(reply, "My appointments")
            mine = [n for n, label in choices(reply) if label not in NAVIGATION]
            if mine:
                reply = yield rng.choice(mine)
                if (cancel := number_of(reply, "Call it off")) != "MENU":
                    reply = yield cancel
                    if (yes := number_of(reply, "Yes, call it off")) != "MENU":
                        reply = yield yes
                        tally.cancelled += "cancel" in reply.lower()


def read_twiml(body: str) -> str:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return ""
    return "\n".join(message.text or "" for message in root.iter("Message"))


class Patient:
    """A phone and its script."""

    def __init__(self, phone: str, rng: random.Random, tally: Tally) -> None:
        self.phone = phone
        self.script = script(rng, tally)
        self.next_text = next(self.script)

    def answered(self, reply: str) -> None:
        self.next_text = self.script.send(reply)


class Load:
    """The generator: patients, signing, one HTTP session per target."""

    def __init__(self, setup: dict[str, Any]) -> None:
        self.rng = random.Random(int(setup["seed"]))
        self.tally = Tally()
        self.patients = [Patient(p, random.Random(self.rng.random()), self.tally)
                         for p in setup["phones"]]
        self.url = str(setup["public_url"]) + INBOUND_PATH
        self.validator = RequestValidator(str(setup["token"]))
        self.sessions: dict[str, aiohttp.ClientSession] = {}

    def session(self, target: str) -> aiohttp.ClientSession:
        if target not in self.sessions:
            connector = aiohttp.TCPConnector(limit=len(self.patients) + 5)
            self.sessions[target] = aiohttp.ClientSession(
                target, connector=connector, timeout=aiohttp.ClientTimeout(total=120))
        return self.sessions[target]

    async def close(self) -> None:
        for session in self.sessions.values():
            await session.close()

    async def run(self, order: dict[str, Any]) -> dict[str, Any]:
        targets = [self.session(t) for t in order["targets"]]
        seconds, limit = float(order["seconds"]), int(order["requests"])
        paced = order["mode"] == "paced"
        mean_pause = len(self.patients) / float(order["rate"]) if paced else 0.0
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        apologies = 0
        sent = 0
        confirmed, cancelled = self.tally.confirmed, self.tally.cancelled
        cpu = time.process_time()
        started = time.perf_counter()
        deadline = started + seconds

        async def one(patient: Patient) -> None:
            nonlocal sent, apologies
            planned = started
            while sent < limit:  # and the deadline: every patient stops itself
                if paced:
                    planned += self.rng.expovariate(1 / mean_pause)
                    if planned >= deadline:
                        return
                    await asyncio.sleep(planned - time.perf_counter())  # at once when late
                else:
                    planned = time.perf_counter()
                    if planned >= deadline:
                        return
                sent += 1
                params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": ACCOUNT_SID,
                          "From": patient.phone, "To": TO_NUMBER, "Body": patient.next_text,
                          "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"}
                signature = self.validator.compute_signature(self.url, params)
                http = targets[0] if len(targets) == 1 else self.rng.choice(targets)
                try:
                    async with http.post(INBOUND_PATH, data=params,
                                         headers={"X-Twilio-Signature": signature}) as response:
                        status, body = response.status, await response.text()
                except (aiohttp.ClientError, TimeoutError):
                    status, body = 599, ""
                latencies.append((time.perf_counter() - planned) * 1000)
                statuses[status] += 1
                reply = read_twiml(body) if status == 200 else ""
                apologies += APOLOGY in reply
                patient.answered(reply)

        await asyncio.gather(*(one(patient) for patient in self.patients))
        wall = time.perf_counter() - started
        return {
            "requests": sent, "ok": statuses[200], "statuses": dict(statuses),
            "errors": sent - statuses[200] + apologies, "apologies": apologies,
            "seconds": wall, "offered_seconds": seconds if paced else wall,
            "p50": percentile(latencies, 50), "p90": percentile(latencies, 90),
            "p99": percentile(latencies, 99), "max": max(latencies, default=0.0),
            "slow": sum(x >= SLOW_MS for x in latencies),
            "confirmed": self.tally.confirmed - confirmed,
            "cancelled": self.tally.cancelled - cancelled,
            "client_cpu": time.process_time() - cpu,
        }


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    load = Load(json.loads(await reader.readline()))
    print(json.dumps({"ready": len(load.patients)}), flush=True)
    try:
        while line := await reader.readline():  # one run per line, until stdin closes
            print(json.dumps(await load.run(json.loads(line))), flush=True)
    finally:
        await load.close()


if __name__ == "__main__":
    asyncio.run(main())
