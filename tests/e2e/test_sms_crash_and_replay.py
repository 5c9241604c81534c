"""A text whose instance dies mid-request, and a text replayed months later (issue 14, 1 and 10).

* Instance A (``clinicbot serve`` whose turns hang: :mod:`tests.e2e.stuck_serve`) claims Maya's
  STOP (in the transaction of its dialog turn) and is killed with SIGKILL while handling it,
  which leaves nothing behind; the proxy sends the same signed request to
  instance B (a plain ``clinicbot serve``: on PostgreSQL running alongside A, on SQLite -- one
  process only -- the instance started after A died). B must act on it (Maya is opted out and
  told so), never answer an empty 200 for a message nobody acted on. While a live instance
  holds the text, a repeat is answered 503 (delivered again), and acted on once the holder's
  lease ran out or its transaction ended.
* A captured signed request (STOP) replayed after the housekeeping sweep (``clinicbot jobs run``,
  on the real clock) 8 and 399 days later is recognised and not acted on again; the stored
  answer (it may hold health data) is gone after days. ``clinicbot jobs run --now 9999-12-31``
  forgets no message id.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from bot.clock import SystemClock
from bot.handlers import sms
from bot.services import inbound
from bot.storage.models import InboundMessage, Patient
from tests.e2e.sms_harness import (
    ACCOUNT_SID,
    FROM_NUMBER,
    PUBLIC_URL,
    TOKEN,
    messages,
    new_sid,
    sms_server,
)
from tests.e2e.test_jobs_cli import clinicbot, environment
from tests.load.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
MAYA = "+14165550101"
START_SECONDS = 90
STOPPED = "You will get no more messages"
STARTED = "You will get our messages again."

pytestmark = pytest.mark.usefixtures("clinic")


def _signed(body: str, sid: str) -> tuple[dict[str, str], dict[str, str]]:
    params = {"MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": MAYA, "To": FROM_NUMBER,
              "Body": body}
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC_URL}/sms/inbound", params)
    return params, {"X-Twilio-Signature": signature}


class Instance:
    """One real server process on a loopback port."""

    def __init__(self, database_url: str, tmp_path: Path, name: str, *module: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**environment(database_url, "http://127.0.0.1:9"),
                    "CLINICBOT_HOST": "127.0.0.1", "CLINICBOT_PORT": str(self.port)}
        self.command = [sys.executable, "-m", *(module or ("bot", "serve"))]
        self.log_path = tmp_path / f"{name}.log"
        self.tmp_path = tmp_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> Instance:
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, env=self.env, cwd=self.tmp_path, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_SECONDS
        async with httpx.AsyncClient(timeout=5) as http:
            while loop.time() < deadline:
                assert self.process.returncode is None, self.log_path.read_text()
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return self
                await asyncio.sleep(0.2)
        raise AssertionError(f"the instance did not start:\n{self.log_path.read_text()}")

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def instances() -> AsyncIterator[list[Instance]]:
    started: list[Instance] = []
    try:
        yield started
    finally:
        for instance in started:
            await instance.kill()


async def _opted_out(make_uow) -> bool:
    async with make_uow(readonly=True) as uow:
        return bool(await uow.session.scalar(select(Patient.opted_out).where(
            Patient.phone == MAYA)))


async def _claims(make_uow) -> list[Any]:
    async with make_uow(readonly=True) as uow:
        return list((await uow.session.execute(select(InboundMessage.__table__))).all())


async def test_a_text_whose_instance_died_mid_request_is_acted_on_by_the_retry(
    database_url, tmp_path, make_uow
):
    postgres = database_url.startswith("postgresql")
    mark = tmp_path / "a-is-handling"
    params, signed = _signed("STOP", new_sid())
    async with instances() as running, httpx.AsyncClient(timeout=60) as http:
        a = Instance(database_url, tmp_path, "a", "tests.e2e.stuck_serve", str(mark))
        b = Instance(database_url, tmp_path, "b")
        running.extend([a, b])
        await asyncio.gather(a.start(), *([b.start()] if postgres else []))
        to_a = asyncio.create_task(http.post(f"{a.url}/sms/inbound", data=params, headers=signed))
        for _ in range(START_SECONDS * 20):
            if mark.exists() or to_a.done():
                break
            await asyncio.sleep(0.05)
        assert mark.exists(), "A took the text and is handling it"
        await a.kill()
        with pytest.raises(httpx.TransportError):
            await to_a  # what the proxy sees: it sends the request to the next instance
        assert await _claims(make_uow) == [], "A's claim ended with its transaction"
        assert not await _opted_out(make_uow)

        if not postgres:  # SQLite serves one process: the instance started after A died
            await b.start()
        retried = await http.post(f"{b.url}/sms/inbound", data=params, headers=signed)
        assert retried.status_code == 200, retried.text
        [reply] = messages(retried)
        assert STOPPED in reply, "B acted on the text nobody acted on"
        assert await _opted_out(make_uow)
        again = await http.post(f"{b.url}/sms/inbound", data=params, headers=signed)
        assert again.text == retried.text, "acted on once, answered alike"
    [claim] = await _claims(make_uow)
    assert claim.answered_at is not None and claim.reply == retried.text


async def _age(make_uow, days: float) -> None:
    """Make every stored message id look ``days`` older (as if that much time had passed)."""
    claims = await _claims(make_uow)
    async with make_uow() as uow:
        for claim in claims:
            older = {"created_at": claim.created_at - timedelta(days=days)}
            if claim.answered_at is not None:
                older["answered_at"] = claim.answered_at - timedelta(days=days)
            await uow.session.execute(update(InboundMessage).where(
                InboundMessage.id == claim.id).values(**older))
        await uow.commit()


async def test_a_replayed_stop_is_not_acted_on_again_8_or_399_days_later(
    database_url, tmp_path, make_uow
):
    env = environment(database_url)
    stop, stop_signed = _signed("STOP", new_sid())
    async with sms_server(database_url, SystemClock()) as twilio:
        first = await twilio.http.post("/sms/inbound", data=stop, headers=stop_signed)
        assert STOPPED in messages(first)[0]
        assert STARTED in messages(await twilio.text(MAYA, "START"))[0]
        assert not await _opted_out(make_uow)

        for days in (8, 391):  # 8 days after the STOP, then 399
            await _age(make_uow, days)
            code, out, err = await clinicbot(env, tmp_path, "jobs", "run")
            assert code == 0, out + err
            replay = await twilio.http.post("/sms/inbound", data=stop, headers=stop_signed)
            assert replay.status_code == 200 and messages(replay) == [], "recognised, not acted"
            assert not await _opted_out(make_uow), f"the STOP was acted on again {days} days on"
            claims = await _claims(make_uow)
            assert len(claims) == 2 and {c.reply for c in claims} == {None}, "answers forgotten"

        await _age(make_uow, 2)  # 401 days: forgotten by age
        code, out, err = await clinicbot(env, tmp_path, "jobs", "run")
        assert code == 0, out + err
        assert await _claims(make_uow) == []


async def test_jobs_run_far_in_the_future_forgets_no_message_id(database_url, tmp_path, make_uow):
    stop, stop_signed = _signed("STOP", new_sid())
    async with sms_server(database_url, SystemClock()) as twilio:
        first = await twilio.http.post("/sms/inbound", data=stop, headers=stop_signed)
        assert STOPPED in messages(first)[0]
        assert STARTED in messages(await twilio.text(MAYA, "START"))[0]
        # Whether it runs the sweeps as of then or refuses so far a moment, nothing is forgotten.
        await clinicbot(environment(database_url), tmp_path, "jobs", "run", "--now",
                        "9999-12-31")
        assert {c.reply for c in await _claims(make_uow)} != {None}, "the answers are kept"
        replay = await twilio.http.post("/sms/inbound", data=stop, headers=stop_signed)
        assert replay.text == first.text, "answered as before"
        assert not await _opted_out(make_uow), "and not acted on again"


async def test_a_repeat_while_a_live_instance_holds_the_text_gets_503_not_an_empty_200(
    database_url, clock, make_uow, monkeypatch
):
    monkeypatch.setattr(sms, "DUPLICATE_WAIT_SECONDS", 1.0)
    sid = new_sid()
    stop, stop_signed = _signed("STOP", sid)
    async with make_uow() as uow:  # another instance claimed it and keeps its lease alive
        held = await inbound.claim(uow, "sms", sid, lease=sms.LEASE)
        await uow.commit()
    assert held.owned
    async with sms_server(database_url, clock) as twilio:
        busy = await twilio.http.post("/sms/inbound", data=stop, headers=stop_signed)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5", busy.text
        assert not await _opted_out(make_uow)
        clock.advance(sms.LEASE)  # that instance stopped renewing its lease: it died
        retried = await twilio.http.post("/sms/inbound", data=stop, headers=stop_signed)
        assert STOPPED in messages(retried)[0]
        assert await _opted_out(make_uow)
    async with make_uow() as uow:
        with pytest.raises(inbound.ClaimLost):  # had it lived, it could not act any more
            await inbound.settle(uow, "sms", sid, held.token or "", "<Response/>")


async def test_a_repeat_while_a_live_transaction_holds_the_text_gets_503(
    database_url, clock, make_uow, monkeypatch
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: a repeat waits for the holder's commit")
    monkeypatch.setattr(sms, "DUPLICATE_WAIT_SECONDS", 1.0)
    stop, stop_signed = _signed("STOP", new_sid())
    async with sms_server(database_url, clock) as twilio:
        async with make_uow() as holder:  # another instance, in the middle of its turn
            held = await inbound.claim(holder, "sms", stop["MessageSid"], lease=sms.LEASE)
            assert held.owned
            busy = await twilio.http.post("/sms/inbound", data=stop, headers=stop_signed)
            assert busy.status_code == 503 and busy.headers["retry-after"] == "5", busy.text
            assert not await _opted_out(make_uow)
        # that instance died: its transaction ended, and with it the claim
        retried = await twilio.http.post("/sms/inbound", data=stop, headers=stop_signed)
        assert STOPPED in messages(retried)[0]
        assert await _opted_out(make_uow)
        again = await twilio.http.post("/sms/inbound", data=stop, headers=stop_signed)
        assert again.text == retried.text, "acted on once, answered alike"
