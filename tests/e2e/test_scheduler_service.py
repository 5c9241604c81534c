"""The scheduler inside the server (``clinicbot serve``): APScheduler runs the sweeps and the
sender on the server's event loop, and stops cleanly with it.

The real app (``create_app``) runs under uvicorn on a loopback port with Twilio configured to
the local stand-in and a FixedClock at Monday 2 November 2026, 08:00 in Toronto (Leo's second
installment is 18 days late: one SMS to his guardian Maya). The intervals are shortened so the
test does not wait a minute.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.scheduler.service import SchedulerService, build_channels
from bot.server import Runtime, create_app, default_services
from bot.storage.models import OutboxMessage
from tests.e2e.sms_harness import sms_settings
from tests.e2e.telegram_standin import TOKEN as BOT_TOKEN
from tests.e2e.telegram_standin import TelegramStandin
from tests.e2e.test_scheduler_processes import standin
from tests.e2e.twilio_standin import LiveServer, loopback_socket

WAIT_SECONDS = 30
DESK_CHAT = -1001234567890


def quick(runtime: Runtime) -> SchedulerService:
    return SchedulerService(runtime.db, runtime.clock, build_channels(runtime),
                            sweep_seconds=0.2, delivery_seconds=0.2)


async def until(condition, seconds: float = WAIT_SECONDS) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def outbox_statuses(make_uow) -> dict[str, str]:
    async with make_uow(readonly=True) as uow:
        rows = await uow.session.execute(select(OutboxMessage.purpose, OutboxMessage.status))
        return dict(rows.tuples().all())


def test_serve_runs_the_scheduler():
    settings = sms_settings("sqlite:///unused.db", 8080)
    assert default_services(settings) == [SchedulerService.for_runtime]


@pytest.mark.usefixtures("clinic")
async def test_the_server_sweeps_and_delivers_on_its_own(database_url, clock, make_uow):
    async with standin() as (twilio, url):
        sock = loopback_socket()
        settings = sms_settings(database_url, sock.getsockname()[1], TWILIO_API_BASE_URL=url)
        async with LiveServer(create_app(settings, clock=clock, services=[quick]), sock):
            await until(lambda: len(twilio.sent) == 1)
            await asyncio.sleep(0.5)  # more runs of both jobs change nothing
    assert len(twilio.received) == 1 and "Leo" in twilio.sent[0].params["Body"]
    statuses = await outbox_statuses(make_uow)
    assert statuses == {"invoice:3:unpaid:10d": "sent", "invoice:3:overdue:staff:1": "pending"}


@pytest.mark.usefixtures("clinic")
async def test_serve_delivers_staff_alerts_on_telegram(database_url, clock, make_uow):
    """``serve`` as configured by the environment (its default services: Telegram polling and
    the scheduler, intervals from CLINICBOT_SWEEP_SECONDS / CLINICBOT_DELIVERY_SECONDS): the
    patient's reminder goes by SMS, the desk's alert to the desk's Telegram group."""
    telegram = TelegramStandin()
    async with standin() as (twilio, url), LiveServer(telegram.app) as api:
        sock = loopback_socket()
        settings = sms_settings(
            database_url, sock.getsockname()[1], TWILIO_API_BASE_URL=url,
            TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_BASE_URL=api.url + "/bot",
            CLINICBOT_SWEEP_SECONDS="1", CLINICBOT_DELIVERY_SECONDS="0.5",
        )
        async with LiveServer(create_app(settings, clock=clock), sock):
            await until(lambda: len(twilio.sent) == 1 and len(telegram.of("sendMessage")) == 1)
            await asyncio.sleep(1.5)  # more runs of both jobs change nothing
    assert len(twilio.received) == 1 and "Leo" in twilio.sent[0].params["Body"]
    [alert] = telegram.of("sendMessage")
    assert alert.chat_id == DESK_CHAT and "Leo" in alert.text
    statuses = await outbox_statuses(make_uow)
    assert statuses == {"invoice:3:unpaid:10d": "sent", "invoice:3:overdue:staff:1": "sent"}


@pytest.mark.usefixtures("clinic")
async def test_stopping_lets_a_delivery_in_flight_finish(database_url, clock, make_uow, caplog):
    caplog.set_level("DEBUG", logger="bot.scheduler.service.apscheduler")
    async with standin() as (twilio, url):
        twilio.hang_next(1.5)
        sock = loopback_socket()
        settings = sms_settings(database_url, sock.getsockname()[1], TWILIO_API_BASE_URL=url)
        async with LiveServer(create_app(settings, clock=clock, services=[quick]), sock):
            await until(lambda: len(twilio.received) == 1)
            await asyncio.sleep(0.6)  # the next passes come due while this one waits
        still_running = [r for r in caplog.records if "running instances" in r.getMessage()]
        assert still_running and {r.levelname for r in still_running} == {"DEBUG"}
        # The server stopped while Twilio was still answering; the answer was recorded.
        assert len(twilio.sent) == 1
    statuses = await outbox_statuses(make_uow)
    assert statuses["invoice:3:unpaid:10d"] == "sent"
