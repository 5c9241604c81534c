"""200 patients at once on SMS and Telegram against two ``clinicbot serve`` on one PostgreSQL.

Issue 7, part 2: a bounded load test on loopback. The clinic (:mod:`tests.load.clinic`) has a
few dozen slots for the 160 or so patients who want one; each patient's script
(:mod:`tests.load.scripts`) sends every message to instance A or B at random, and some messages
are delivered to *both* at once with the same ``MessageSid`` / ``update_id`` (a provider's
retry). Patients with one package use left on Telegram also book on SMS at the same moment.
Afterwards, on the database: no two live appointments of a practitioner overlap; every package's
counters add up and match its appointments and redemptions; each patient has exactly the
bookings, cancellations and purchases the bot confirmed to them; every inbound message has one
answered row. Every request got a 2xx (only the forged ones, a 403; a duplicate Telegram update
may get a 500 while its twin is being handled, and is delivered again until it gets a 200, as
Telegram does; a duplicate SMS whose twin is still in hand when the bot stops waiting gets a 503
and is delivered again) and every turn exactly one answer, without an apology. Once the
instances have delivered the outbox (staff alerts to the desk's Telegram chat, SMS reminders to
patients), every sent row reached the stand-ins exactly once and nothing is left pending. Both
instances then stop on SIGTERM with exit status 0, and their logs hold no error, no traceback
and no patient's phone number. The stand-ins serve from their own threads, so the test's own
load cannot starve them.

Alone: ``python3 dev.py test tests/load -s`` (with ``CLINICBOT_TEST_POSTGRES_URL`` set).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.clinicfile import read_clinic_file
from bot.clock import SystemClock
from bot.services.setup import load_clinic
from bot.storage.db import create_engine
from bot.storage.uow import UnitOfWork
from tests.databases import PostgresDatabases
from tests.e2e.sms_harness import Twilio, new_sid, sms_settings
from tests.e2e.twilio_standin import TwilioStandin
from tests.load import checks
from tests.load.clinic import PatientOnFile, build_clinic, patients_on_file
from tests.load.scripts import Done, Plan, run_plan
from tests.load.servers import (
    ChatStandin,
    ServeProcess,
    ThreadedServer,
    free_port,
    serve_env,
)
from tests.load.sessions import SmsSession, Tally, TgSession, TurnFailed

TOTAL_SECONDS = 480
CONCURRENT_PATIENTS = 50
DRAIN_SECONDS = 120
LOG_SIGNS_OF_TROUBLE = ("Traceback", "failed with", "dialog turn failed")


# What bot.handlers.telegram_patients logs when answering a press failed (the Bot API did not
# answer within PTB's timeout: the test's stand-in on a loaded machine); the patient's answer
# is sent anyway, so such a press is answered 0 times by design.
ACKNOWLEDGING_FAILED = "acknowledging a button press failed"


def press_problems(pressed: set[str], answers: dict[str, int], logs: Iterable[str]) -> list[str]:
    """Each button press answered once; never twice, and never not at all unless a server
    logged that acknowledging one failed (as many presses as it logged)."""
    problems = [f"press {q} answered {answers[q]} times" for q in pressed if answers[q] > 1]
    unanswered = sorted(q for q in pressed if answers[q] == 0)
    excused = sum(log.count(ACKNOWLEDGING_FAILED) for log in logs)
    if len(unanswered) > excused:
        problems.append(f"{len(unanswered)} presses never answered ({', '.join(unanswered[:5])}),"
                        f" {excused} acknowledgment failures logged")
    return problems


def test_a_press_goes_unanswered_only_where_a_server_said_why() -> None:
    answers = {"a": 1, "b": 0, "c": 2}
    assert press_problems({"a"}, answers, ["", ""]) == []
    assert press_problems({"a", "c"}, answers, []) == ["press c answered 2 times"]
    assert press_problems({"a", "b"}, answers, ["..."]) == [
        "1 presses never answered (b), 0 acknowledgment failures logged"]
    said = f"WARNING telegram: {ACKNOWLEDGING_FAILED} (TimedOut); answering anyway"
    assert press_problems({"a", "b"}, answers, ["", said]) == []


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres)])
async def postgres_url(postgres: PostgresDatabases | None) -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database (two processes share it: SQLite is not the case)."""
    if postgres is None:
        pytest.skip("set CLINICBOT_TEST_POSTGRES_URL to run the load test on PostgreSQL")
    url = await postgres.create()
    yield url
    await postgres.drop(url)


async def _load(url: str, directory: Path) -> int:
    """Load the busy clinic as ``clinicbot load`` does; the last package id on file."""
    engine = create_engine(url)
    try:
        async with UnitOfWork(engine, SystemClock()) as uow:
            await load_clinic(uow, read_clinic_file(build_clinic(directory, datetime.now(UTC))))
            await uow.commit()
        async with engine.connect() as conn:
            return await checks.last_package_id(conn)
    finally:
        await engine.dispose()


async def _forge(twilios: list[Twilio], clients: list[httpx.AsyncClient]) -> set[str]:
    """Requests without the right signature or secret: 403, nothing stored; their ids."""
    forged: set[str] = set()
    for index, twilio in enumerate(twilios):
        sid = new_sid()
        params = twilio.inbound_params("+14165553000", "MENU", sid)
        response = await twilio.post("/sms/inbound", params, signature="bm90IGEgc2lnbmF0dXJl")
        assert response.status_code == 403, response.text
        update_id = 9_000_000 + index
        response = await clients[index].post(
            "/telegram/webhook", json={"update_id": update_id},
            headers={"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"})
        assert response.status_code == 403, response.text
        forged |= {sid, str(update_id)}
    return forged


async def _patient(patient: PatientOnFile, twilios: list[Twilio],
                   clients: list[httpx.AsyncClient], standin: ChatStandin, tally: Tally,
                   done: Done) -> list[TgSession]:
    """Run one patient's plan on their channel(s); their Telegram sessions."""
    plan = Plan.draw(patient, random.Random(patient.number))
    sessions: list[SmsSession | TgSession] = []
    if patient.channel == "sms" or plan.both_channels:
        route = random.Random(f"{patient.number}-sms-route")  # which instance gets a message
        sessions.append(SmsSession(patient.phone, twilios, route, tally))
    if patient.channel == "telegram":
        route = random.Random(f"{patient.number}-telegram-route")
        sessions.append(TgSession(patient.telegram_user_id, patient.first_name, patient.phone,
                                  standin, clients, route, tally))

    async def run(session: SmsSession | TgSession) -> None:
        try:
            await run_plan(session, plan, random.Random(f"{patient.number}-{session.channel}"),
                           done)
        except TurnFailed:
            pass  # already in tally.problems
        except AssertionError as exc:  # an option the script expected was not offered
            done.unexpected.append(str(exc)[:200])

    await asyncio.gather(*(run(session) for session in sessions))
    return [session for session in sessions if isinstance(session, TgSession)]


async def _drain(url: str) -> float:
    """Wait (bounded) until no outbox row is pending or claimed; how long it took."""
    engine = create_engine(url)
    started = time.monotonic()
    try:
        while True:
            async with engine.connect() as conn:
                left = await checks.undelivered(conn)
            if left == 0:
                return time.monotonic() - started
            if time.monotonic() - started > DRAIN_SECONDS:
                raise AssertionError(f"{left} outbox rows still undelivered")
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def test_two_instances_under_load(postgres_url: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    patients = patients_on_file()
    tally, done = Tally(), {p.phone: Done() for p in patients}
    async with asyncio.timeout(TOTAL_SECONDS):
        last_package = await _load(postgres_url, tmp_path)
        twilio, standin = TwilioStandin(), ChatStandin()
        with ThreadedServer(twilio.app()) as twilio_api, ThreadedServer(standin.app) as bot_api:
            servers = [
                ServeProcess(name, serve_env(postgres_url, free_port(), twilio_api.url,
                                             bot_api.url), tmp_path / f"serve-{name}.log")
                for name in ("A", "B")
            ]
            try:
                for server in servers:
                    await server.start()
                await asyncio.gather(*(server.wait_healthy() for server in servers))
                async with (
                    httpx.AsyncClient(base_url=servers[0].url, timeout=60) as a,
                    httpx.AsyncClient(base_url=servers[1].url, timeout=60) as b,
                ):
                    clients = [a, b]
                    twilios = [Twilio(c, sms_settings(postgres_url, 1)) for c in clients]
                    forged = await _forge(twilios, clients)
                    gate = asyncio.Semaphore(CONCURRENT_PATIENTS)

                    async def one(patient: PatientOnFile) -> list[TgSession]:
                        async with gate:
                            return await _patient(patient, twilios, clients, standin, tally,
                                                  done[patient.phone])

                    started = time.monotonic()
                    telegram = [s for found in await asyncio.gather(*map(one, patients))
                                for s in found]
                    elapsed = time.monotonic() - started
                drained = await _drain(postgres_url)
                exits = [await server.stop() for server in servers]
            finally:
                for server in servers:
                    await server.kill()

    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            problems = list(tally.problems)
            problems += [u for d in done.values() for u in d.unexpected]
            problems += await checks.overlaps(conn)
            problems += await checks.package_problems(conn)
            problems += await checks.confirmed_matches_database(conn, done, last_package)
            problems += await checks.inbound_problems(conn, tally.sms_sids, tally.update_ids,
                                                      forged)
            outbox = await checks.outbox_rows(conn)
    finally:
        await engine.dispose()
    answers = {session.user_id: session.seen for session in telegram}
    problems += checks.delivery_problems(outbox, twilio, standin, answers)
    logs = {server.name: server.log() for server in servers}
    problems += press_problems(tally.callback_ids, standin.callback_answers, logs.values())
    for server in servers:
        log = logs[server.name]
        errors = [line for line in log.splitlines() if " ERROR " in line]
        problems += [f"{server.name} logged: {line[:300]}" for line in errors[:5]]
        problems += [f"{server.name}'s log shows {sign!r}" for sign in LOG_SIGNS_OF_TROUBLE
                     if sign in log and not errors]
        problems += [f"{server.name}'s log shows a patient's phone"
                     for p in patients if p.phone in log][:1]

    total = sum(done.values(), Done())
    sent = [row for row in outbox if row.status == "sent"]
    skipped = Counter(f"{row.kind}: {row.last_error}" for row in outbox if row.status == "skipped")
    with capsys.disabled():
        print(
            f"\nload: {len(patients)} patients, {tally.requests} requests, {tally.turns} turns "
            f"in {elapsed:.1f}s = {tally.turns / elapsed:.1f} turns/s, "
            f"p50 {tally.percentile(0.5):.2f}s p99 {tally.percentile(0.99):.2f}s, "
            f"{tally.duplicates} duplicates ({tally.redeliveries} redelivered after a 500, "
            f"{tally.late_twins} SMS twins answered 503 and delivered again); "
            f"{total.booked} booked ({total.lost_races} lost "
            f"races, {total.no_slot} found no slot), {total.cancelled} cancelled, "
            f"{len(total.bought)} bought, {total.talked} messages to the desk; outbox "
            f"{len(sent)} sent ({sum(r.channel == 'sms' for r in sent)} SMS), "
            f"{sum(skipped.values())} skipped {dict(skipped)}, drained in {drained:.1f}s; "
            f"{len(problems)} problems"
        )
    assert not problems, "\n".join(problems[:60])
    assert exits == [0, 0], "both instances stop on SIGTERM with exit status 0"
    assert set(tally.statuses) <= {200, 500}, tally.statuses  # 500: see tests.load.sessions
    assert total.booked and total.lost_races and tally.duplicates, "the load raced nothing"
