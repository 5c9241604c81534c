"""One patient's side of a conversation, the same way on SMS and on Telegram, under load.

A session sends what a patient sends (a text, or the choice of option ``i`` of the last reply)
to instance A or B at random, waits for the answer and keeps its text and option labels.
``duplicate=True`` delivers the same message (same ``MessageSid`` / ``update_id``) to *both*
instances at once, as a provider retrying through a load balancer does. :class:`Tally` counts
requests, statuses, turns, latencies and every problem seen (non-2xx, missing or apologising
answers, a duplicate answered differently).

* :class:`SmsSession` posts signed Twilio webhooks and reads the TwiML (``N) label`` lines).
* :class:`TgSession` posts webhook updates with the secret header; the answer is the chat's
  next message call at the stand-in (a button press's answer edits the pressed message). Like
  Telegram, it delivers an update again while the webhook answers 500 (the bot's way of saying
  "another delivery of it is still being handled, come back"); that is only expected of a
  duplicate, and must end in 200.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.e2e.sms_harness import CHOICE, Twilio, messages, new_sid
from tests.e2e.telegram_harness import SECRET
from tests.e2e.telegram_standin import Call
from tests.load.servers import ChatStandin

TURN_SECONDS = 90.0
REDELIVERIES = 6  # an update (a text) is delivered again while the answer is 500 (503)
REDELIVERY_SECONDS = 0.5
APOLOGY = "Sorry, something went wrong on our side"
_ids = itertools.count(5_000_000)


@dataclass
class Tally:
    """What every session did and saw (see the module docstring)."""

    requests: int = 0
    turns: int = 0
    duplicates: int = 0
    redeliveries: int = 0
    late_twins: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    sms_sids: set[str] = field(default_factory=set)
    update_ids: set[int] = field(default_factory=set)
    callback_ids: set[str] = field(default_factory=set)

    def answered(self, started: float, text: str, where: str) -> None:
        self.turns += 1
        self.latencies.append(time.monotonic() - started)
        if not text.strip():
            self.problems.append(f"{where}: a turn got no answer")
        elif APOLOGY in text:
            self.problems.append(f"{where}: the bot apologised (a turn failed)")

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


class SmsSession:
    """A patient texting the clinic (see the module docstring)."""

    channel = "sms"

    def __init__(self, phone: str, twilios: list[Twilio], rng: random.Random, tally: Tally,
                 ) -> None:
        self.phone, self.twilios, self.rng, self.tally = phone, twilios, rng, tally
        self.text = ""
        self.choices: list[tuple[str, str]] = []

    @property
    def labels(self) -> list[str]:
        return [label for _, label in self.choices]

    async def start(self) -> None:
        await self.say("Hello")

    async def choose(self, index: int, *, duplicate: bool = False) -> None:
        await self.say(self.choices[index][0], duplicate=duplicate)

    async def _deliver(self, target: int, params: dict[str, str]) -> httpx.Response:
        """Post, and again after a while while the answer is 503 (a twin still in hand)."""
        for _ in range(REDELIVERIES):
            response = await self.twilios[target].post("/sms/inbound", params)
            if response.status_code != 503:
                break
            self.tally.late_twins += 1
            await asyncio.sleep(1.0)
        return response

    async def say(self, body: str, *, duplicate: bool = False) -> None:
        sid = new_sid()
        params = self.twilios[0].inbound_params(self.phone, body, sid)
        first = self.rng.randrange(len(self.twilios))
        targets = [first, 1 - first] if duplicate else [first]
        started = time.monotonic()
        responses = await asyncio.gather(*(self._deliver(i, params) for i in targets))
        self.tally.requests += len(responses)
        self.tally.duplicates += duplicate
        self.tally.sms_sids.add(sid)
        for response in responses:
            self.tally.statuses[response.status_code] += 1
            if response.status_code != 200:
                self.tally.problems.append(f"sms: HTTP {response.status_code}")
                raise TurnFailed(f"sms webhook answered {response.status_code}")
        answers = {"\n".join(messages(response)) for response in responses}
        given = answers - {""}
        if len(given) != 1:
            self.tally.problems.append(f"sms: {len(given)} different answers to one MessageSid")
        self.text = min(given, default="")
        self.choices = CHOICE.findall(self.text)
        self.tally.answered(started, self.text, "sms")


class TgSession:
    """A patient on Telegram, in their private chat (see the module docstring)."""

    channel = "telegram"

    def __init__(self, user_id: int, first_name: str, phone: str, standin: ChatStandin,
                 clients: list[httpx.AsyncClient], rng: random.Random, tally: Tally) -> None:
        self.user_id, self.first_name, self.phone = user_id, first_name, phone
        self.standin, self.clients, self.rng, self.tally = standin, clients, rng, tally
        self.seen = 0  # message calls to this chat taken as answers so far
        self.last: Call | None = None

    @property
    def text(self) -> str:
        return self.last.text if self.last else ""

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.last.buttons] if self.last else []

    async def start(self) -> None:
        await self.say("/start")
        contact = {"phone_number": self.phone, "first_name": self.first_name,
                   "user_id": self.user_id}
        await self.deliver(self.update(message=self.message(contact=contact)))

    async def say(self, text: str, *, duplicate: bool = False) -> None:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        await self.deliver(self.update(message=self.message(**content)), duplicate=duplicate)

    async def choose(self, index: int, *, duplicate: bool = False) -> None:
        carrier = self.last
        assert carrier is not None
        data = carrier.buttons[index][1]
        message_id = int(carrier.params.get("message_id") or carrier.params["_message_id"])
        query_id = f"lq{next(_ids)}"
        self.tally.callback_ids.add(query_id)
        message = {"message_id": message_id, "date": int(time.time()), "chat": self._chat(),
                   "text": carrier.text}
        await self.deliver(self.update(callback_query={
            "id": query_id, "from": self._user(), "chat_instance": "load", "data": data,
            "message": message}), duplicate=duplicate)

    async def deliver(self, update: dict[str, Any], *, duplicate: bool = False) -> None:
        first = self.rng.randrange(len(self.clients))
        targets = [first, 1 - first] if duplicate else [first]
        started = time.monotonic()
        statuses = await asyncio.gather(*(self._post(self.clients[i], update) for i in targets))
        self.tally.duplicates += duplicate
        self.tally.update_ids.add(update["update_id"])
        if not duplicate and statuses != [[200]]:
            self.tally.problems.append(f"telegram: an update answered {statuses[0]}")
        if any(answers[-1] != 200 for answers in statuses):
            self.tally.problems.append(f"telegram: redeliveries did not help: {statuses}")
            raise TurnFailed(f"telegram webhook answered {statuses}")
        try:
            self.last = await self.standin.next_call(self.user_id, self.seen, TURN_SECONDS)
        except TimeoutError:
            self.tally.problems.append("telegram: no answer within the turn's time")
            raise TurnFailed("telegram: no answer") from None
        self.seen += 1
        self.tally.answered(started, self.text, "telegram")

    async def _post(self, client: httpx.AsyncClient, update: dict[str, Any]) -> list[int]:
        """Deliver as Telegram does: again after a while while the answer is 500 (bounded);
        the statuses answered."""
        statuses: list[int] = []
        for attempt in range(REDELIVERIES + 1):
            if attempt:
                self.tally.redeliveries += 1
                await asyncio.sleep(REDELIVERY_SECONDS * attempt)
            response = await client.post("/telegram/webhook", json=update,
                                         headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            self.tally.requests += 1
            self.tally.statuses[response.status_code] += 1
            statuses.append(response.status_code)
            if response.status_code != 500:
                break
        return statuses

    def update(self, **kinds: Any) -> dict[str, Any]:
        return {"update_id": next(_ids), **kinds}

    def message(self, **content: Any) -> dict[str, Any]:
        return {"message_id": next(_ids), "date": int(time.time()), "chat": self._chat(),
                "from": self._user(), **content}

    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": self.first_name,
                "language_code": "en"}

    def _chat(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private", "first_name": self.first_name}


class TurnFailed(AssertionError):
    """A turn could not go on (a non-2xx answer, or none); the patient's script stops."""
