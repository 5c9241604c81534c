"""``clinicbot jobs run`` and ``clinicbot report outbox`` as real processes (issue 6).

The example clinic is loaded in the test's database; at 09:00 on Monday 2 November 2026 Leo's
second installment (due 15 October) is 18 days late, so the sweeps queue one reminder (to his
guardian Maya's phone) and one alert for the desk (who needs Telegram, not configured here).
SMS goes to the local Twilio stand-in.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.delivery.channels import Channels, SmsChannel
from bot.delivery.sender import Deliverer
from bot.handlers.sms_sender import TwilioSender
from bot.services import accounts
from bot.storage.db import create_engine
from bot.storage.models import Base
from tests.booking_support import load_ids
from tests.e2e.sms_harness import ACCOUNT_SID, FROM_NUMBER, PUBLIC_URL, TOKEN
from tests.e2e.telegram_standin import TOKEN as BOT_TOKEN
from tests.e2e.telegram_standin import TelegramStandin
from tests.e2e.test_scheduler_processes import standin
from tests.e2e.twilio_standin import LiveServer

ROOT = Path(__file__).resolve().parents[2]
MAYA = "+14165550101"
DESK_CHAT = -1001234567890
MAYA_TELEGRAM = 5550101


def environment(database_url: str, twilio_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "TELEGRAM_", "CLINICBOT_", "PUBLIC_BASE_URL"))}
    env.update({"DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)})
    if twilio_url is not None:
        env.update({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN,
                    "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": twilio_url,
                    "PUBLIC_BASE_URL": PUBLIC_URL})
    return env


async def clinicbot(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def counts(output: str) -> dict[str, str]:
    """``name  value`` lines of the jobs report."""
    found = {}
    for line in output.splitlines()[1:]:
        name, _, value = line.strip().rpartition("  ")
        found[name.strip()] = value.strip()
    return found


@pytest.mark.usefixtures("clinic")
async def test_jobs_run_sweeps_and_delivers_once(database_url, tmp_path):
    async with standin() as (twilio, url):
        env = environment(database_url, url)
        code, out, err = await clinicbot(env, tmp_path, "jobs", "run", "--now",
                                         "2026-11-02T09:00")
        assert code == 0, err
        assert out.splitlines()[0] == (
            "Jobs run as of 2026-11-02 09:00 America/Toronto (2026-11-02 14:00 UTC):")
        assert counts(out) == {
            "membership invoices": "0", "no-shows": "0", "appointment reminders": "0",
            "renewal reminders": "0", "unpaid reminders": "2", "package expiry warnings": "0",
            "old inbound messages forgotten": "0", "waitlist offers": "0",
            "expired records pruned": "0",
            "unpaid deposits released": "0",
            "delivery (sms)": "sent 1, held 0, skipped 0, retried 0, failed 0",
        }
        again = await clinicbot(env, tmp_path, "jobs", "run", "--now", "2026-11-02T09:05")
        assert again[0] == 0 and counts(again[1])["unpaid reminders"] == "0"
        assert counts(again[1])["delivery (sms)"].startswith("sent 0,")
        [sms] = twilio.sent
        assert sms.params["To"] == MAYA and "Leo" in sms.params["Body"]

        code, out, _ = await clinicbot(env, tmp_path, "report", "outbox", "--status", "sent",
                                       "--format", "csv")
    assert code == 0
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert (row["purpose"], row["to"], row["channel"], row["sent"]) == (
        "invoice:3:unpaid:10d", "patient 2", "sms", "2026-11-02 09:00")
    code, table, _ = await clinicbot(environment(database_url), tmp_path, "report", "outbox")
    assert code == 0 and table.splitlines()[0] == "Outbox (all):"
    [desk] = [line for line in table.splitlines() if "invoice:3:overdue:staff:1" in line]
    assert "pending" in desk.split()


@pytest.mark.usefixtures("clinic")
async def test_jobs_run_delivers_on_telegram_when_the_bot_is_configured(
    database_url, tmp_path, make_uow
):
    """Maya linked her Telegram account: her reminder goes there, and the desk's alert goes to
    the desk's group chat (the set-up file's ``telegram_chat_id``)."""
    async with make_uow() as uow:
        await accounts.link_telegram(uow, (await load_ids(uow)).maya, MAYA_TELEGRAM)
        await uow.commit()
    telegram = TelegramStandin()
    async with standin() as (twilio, url), LiveServer(telegram.app) as api:
        env = {**environment(database_url, url), "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
               "TELEGRAM_API_BASE_URL": api.url + "/bot"}
        code, out, err = await clinicbot(env, tmp_path, "jobs", "run", "--now",
                                         "2026-11-02T09:00")
        assert code == 0, err
        assert counts(out).get("delivery (sms, telegram)") == (
            "sent 2, held 0, skipped 0, retried 0, failed 0")
        again = await clinicbot(env, tmp_path, "jobs", "run", "--now", "2026-11-02T09:05")
        assert again[0] == 0
        assert counts(again[1])["delivery (sms, telegram)"].startswith("sent 0,")
    assert twilio.received == []
    sent = {call.chat_id: call for call in telegram.of("sendMessage")}
    assert len(telegram.of("sendMessage")) == 2 and set(sent) == {MAYA_TELEGRAM, DESK_CHAT}
    assert "Leo" in sent[MAYA_TELEGRAM].text and "Leo" in sent[DESK_CHAT].text
    assert BOT_TOKEN not in out + err


@pytest.mark.usefixtures("clinic")
async def test_jobs_run_logs_problems_as_json_lines_without_patient_data(database_url, tmp_path):
    async with standin() as (twilio, url):
        twilio.fail_next(400, code=21211)  # Twilio refuses the number: a permanent failure
        env = {**environment(database_url, url), "CLINICBOT_LOG_FORMAT": "json"}
        code, out, err = await clinicbot(env, tmp_path, "jobs", "run", "--now",
                                         "2026-11-02T09:00")
    assert code == 0 and "failed 1" in counts(out)["delivery (sms)"]
    lines = [json.loads(line) for line in err.splitlines()]
    assert [(line["level"], line["logger"]) for line in lines] == [
        ("WARNING", "bot.handlers.sms_sender"), ("WARNING", "bot.delivery.sender")]
    assert "Twilio refused the message" in lines[-1]["message"]
    assert MAYA not in err and "Leo" not in err and "Maya" not in err


@pytest.mark.usefixtures("clinic")
async def test_two_runs_at_once_send_each_message_once(database_url, tmp_path):
    async with standin() as (twilio, url):
        env = environment(database_url, url)
        runs = await asyncio.gather(*(
            clinicbot(env, tmp_path, "jobs", "run", "--now", "2026-11-02T09:00")
            for _ in range(2)))
    assert [code for code, _, _ in runs] == [0, 0], runs
    assert sorted(counts(out)["unpaid reminders"] for _, out, _ in runs) in (
        ["0", "2"], ["1", "1"]), "the two rows were created once between them"
    assert len(twilio.sent) == 1


@pytest.mark.usefixtures("clinic")
async def test_in_quiet_hours_messages_are_held(database_url, tmp_path):
    async with standin() as (twilio, url):
        code, out, err = await clinicbot(environment(database_url, url), tmp_path,
                                         "jobs", "run", "--now", "2026-11-02T22:00-05:00")
    assert code == 0, err
    assert "as of 2026-11-02 22:00 America/Toronto (2026-11-03 03:00 UTC)" in out
    assert counts(out)["delivery (sms)"] == "sent 0, held 1, skipped 0, retried 0, failed 0"
    assert twilio.received == []


@pytest.mark.usefixtures("clinic")
async def test_without_a_channel_messages_stay_queued(database_url, tmp_path):
    code, out, _ = await clinicbot(environment(database_url), tmp_path,
                                   "jobs", "run", "--now", "2026-11-02")
    assert code == 0
    assert counts(out)["delivery"].startswith("no channel is configured")
    assert counts(out)["unpaid reminders"] == "2"
    code, out, _ = await clinicbot(environment(database_url), tmp_path,
                                   "report", "outbox", "--status", "pending", "--format", "csv")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 2


@pytest.mark.parametrize("bad", ["next tuesday", "2026-13-01T09:00", ""])
async def test_a_bad_now_exits_2_with_a_clear_message(tmp_path, bad):
    env = environment(f"sqlite:///{tmp_path / 'clinic.db'}")
    code, out, err = await clinicbot(env, tmp_path, "jobs", "run", "--now", bad)
    assert code == 2 and out == ""
    assert err.startswith("Error: --now must be an ISO 8601 date and time, such as ")
    assert "Traceback" not in err


async def test_without_a_clinic_jobs_run_says_what_to_do(tmp_path):
    env = environment(f"sqlite:///{tmp_path / 'clinic.db'}")
    code, _, err = await clinicbot(env, tmp_path, "jobs", "run")
    assert code == 2 and "run 'clinicbot load FILE.toml' first" in err


# -- a future --now, and --dry-run (issue 14) ----------------------------------------------------


async def every_row(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare a database before and after a command."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return {table.name: sorted((tuple(row) for row in await conn.execute(select(table))),
                                       key=repr)
                    for table in Base.metadata.sorted_tables}
    finally:
        await engine.dispose()


def ahead(delta: timedelta) -> str:
    """The real clock plus ``delta``, as --now takes it."""
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds")


@pytest.mark.usefixtures("clinic")
async def test_a_now_ahead_of_the_clock_is_refused_and_changes_nothing(database_url, tmp_path):
    before = await every_row(database_url)
    async with standin() as (twilio, url):
        env = environment(database_url, url)
        for moment in ("2027-12-05T12:00", ahead(timedelta(minutes=6))):
            code, out, err = await clinicbot(env, tmp_path, "jobs", "run", "--now", moment)
            assert (code, out) == (2, ""), err
            [line] = err.splitlines()
            assert line.startswith("Error: --now ") and "is ahead of the clock" in line
            assert "add --dry-run" in line
        assert twilio.received == []
    assert await every_row(database_url) == before
    code, out, err = await clinicbot(env, tmp_path, "jobs", "run", "--now",
                                     ahead(timedelta(minutes=1)))
    assert code == 0, err  # a clock a little behind is no reason to refuse


@pytest.mark.usefixtures("clinic")
async def test_a_dry_run_shows_what_a_run_would_do_and_writes_nothing(database_url, tmp_path):
    telegram = TelegramStandin()
    before = await every_row(database_url)
    async with standin() as (twilio, url), LiveServer(telegram.app) as api:
        env = {**environment(database_url, url), "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
               "TELEGRAM_API_BASE_URL": api.url + "/bot"}
        code, out, err = await clinicbot(env, tmp_path, "jobs", "run", "--dry-run", "--now",
                                         "2027-12-06T12:00")
        assert code == 0, err
        assert out.splitlines()[0] == ("Dry run as of 2027-12-06 12:00 America/Toronto "
                                       "(2027-12-06 17:00 UTC); a run would do this:")
        assert out.splitlines()[-1] == "Dry run: nothing was written and nothing was sent."
        assert int(counts(out.split("\n\n")[0])["membership invoices"]) >= 12, "a year of them"
        invoices = section(out, "Invoices it would create")
        assert any("Wellness membership (monthly) 2027-12-01" in line for line in invoices)
        queued = section(out, "Messages it would queue")
        assert any(line.endswith("unpaid_reminder  guardian 1 (for patient 2)")
                   for line in queued), "Leo's reminders go to Maya"
        assert any(line.endswith("  staff 1") for line in queued)
        delivered = section(out, "Messages due now, and what the delivery pass would do")
        assert any(line.endswith("send by sms") for line in delivered)
        assert any(line.endswith("send by telegram") for line in delivered), "the desk's"
        assert twilio.received == [] and telegram.calls == [], "nothing sent, no provider called"
        assert await every_row(database_url) == before

        # The dry run as of a real moment says what the real run then does, and the real run
        # still creates it all (no purpose key was taken by the dry run).
        code, preview, err = await clinicbot(env, tmp_path, "jobs", "run", "--dry-run",
                                             "--now", "2026-11-02T09:00")
        assert code == 0, err
        code, out, err = await clinicbot(env, tmp_path, "jobs", "run", "--now",
                                         "2026-11-02T09:00")
        assert code == 0, err
    assert counts(preview.split("\n\n")[0]) == counts(out)
    assert counts(out)["unpaid reminders"] == "2"
    assert counts(out)["delivery (sms, telegram)"].startswith("sent 2,")
    assert len(twilio.sent) == 1 and len(telegram.of("sendMessage")) == 1


def section(output: str, title: str) -> list[str]:
    """The table lines under ``title (N):`` in a dry run's output."""
    lines = output.splitlines()
    [start] = [n for n, line in enumerate(lines) if line.startswith(f"{title} (")]
    table = []
    for line in lines[start + 3:]:
        if not line.strip():
            break
        table.append(line.rstrip())
    return table


@pytest.mark.usefixtures("clinic")
async def test_a_run_in_the_past_keeps_its_leases_in_real_time(database_url, tmp_path):
    """``jobs run --now`` an hour before a server's clock: the server must not take over (and
    send again) the message the run is sending: the run's lease runs in real time."""
    engine = create_engine(database_url)
    async with standin() as (twilio, url):
        twilio.hang_next(3.0)  # the run's send to Maya is held while the server looks
        run = asyncio.create_task(clinicbot(environment(database_url, url), tmp_path,
                                            "jobs", "run", "--now", "2026-11-02T09:00"))
        for _ in range(1000):
            if twilio.received or run.done():
                break
            await asyncio.sleep(0.02)
        assert len(twilio.received) == 1
        sender = TwilioSender(ACCOUNT_SID, TOKEN, api_base_url=url, from_number=FROM_NUMBER)
        try:
            server = Deliverer(engine, FixedClock(datetime(2026, 11, 2, 15, 0, tzinfo=UTC)),
                               Channels([SmsChannel(sender)]))
            assert (await server.run_once()).sent == 0, "the run's claim still holds"
        finally:
            await sender.close()
            await engine.dispose()
        code, out, err = await run
    assert code == 0, err
    assert counts(out)["delivery (sms)"].startswith("sent 1,")
    assert len(twilio.received) == 1, "sent once"
