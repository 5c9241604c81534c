"""``clinicbot jobs run [--now ISO8601]``: every scheduled sweep once, then one delivery pass.

The same jobs ``clinicbot serve`` runs on its scheduler (:mod:`bot.scheduler`), run once as of
``--now`` (default: the current time) and printed as counts. ``--now`` without a UTC offset is
the clinic's local time. Messages are delivered on the channels configured (Telegram with
``TELEGRAM_BOT_TOKEN``, SMS with the ``TWILIO_*`` settings); what no configured channel reaches
stays queued for the next run. Running it again, or beside a running server, creates nothing
twice.

Problems are logged on stderr (as JSON lines with ``CLINICBOT_LOG_FORMAT=json``, like serve's).

Exit status: 0 done; 1 a sweep or the delivery pass failed (logged); 2 bad ``--now`` or no clinic.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from bot.cli.common import Context, fail, run
from bot.clock import FixedClock
from bot.services.clinic import get_clinic

if TYPE_CHECKING:  # the delivery stack loads only when the command runs: fast CLI start-up
    from bot.delivery.channels import Channel, Channels
    from bot.scheduler.jobs import RunReport

NOW_EXAMPLE = "2026-11-02T09:00 (clinic time) or 2026-11-02T14:00Z"


def parse_now(text: str) -> datetime:
    """An ISO 8601 date or date-time; naive values are completed later with the clinic's zone."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--now must be an ISO 8601 date and time, such as {NOW_EXAMPLE}; got {text!r}")
        raise  # unreachable: fail() exits


def report_lines(
    report: RunReport, moment: datetime, zone: ZoneInfo, channels: Channels
) -> list[str]:
    """The counts ``clinicbot jobs run`` prints."""
    local = moment.astimezone(zone)
    lines = [f"Jobs run as of {local:%Y-%m-%d %H:%M} {zone.key} ({moment:%Y-%m-%d %H:%M} UTC):"]
    rows = [(name, "failed (see the log)" if n is None else str(n))
            for name, n in report.sweeps.items()]
    if report.delivery_failed:
        rows.append(("delivery", "failed (see the log)"))
    elif not channels.names:
        rows.append(("delivery", "no channel is configured (set TELEGRAM_BOT_TOKEN or "
                                 "TWILIO_*); messages stay queued"))
    elif report.delivery is not None:
        rows.append((f"delivery ({', '.join(channels.names)})", str(report.delivery)))
    width = max(len(name) for name, _ in rows)
    lines += [f"  {name.ljust(width)}  {value}" for name, value in rows]
    return lines


@click.group("jobs")
def jobs_group() -> None:
    """The scheduler's jobs: invoices due, reminders, no-shows, outbox delivery."""


@jobs_group.command("run")
@click.option(
    "--now", "now_text", metavar="ISO8601",
    help="Run as of this moment (default: now); without an offset it is clinic time.",
)
def run_command(now_text: str | None) -> None:
    """Run every sweep once as of --now, then deliver what is due, and print the counts.

    \b
    Example:
      clinicbot jobs run --now 2026-12-01T09:00
    """
    wanted = parse_now(now_text) if now_text is not None else None

    async def work(ctx: Context) -> tuple[list[str], bool]:
        from bot.delivery.channels import Channels, SmsChannel
        from bot.delivery.sender import Deliverer
        from bot.handlers.sms_sender import TwilioSender
        from bot.handlers.telegram_channel import outbox_channel
        from bot.observability.logs import configure_logging
        from bot.scheduler.jobs import run_all_once

        configure_logging("warning", ctx.settings.log_format)  # problems only, as serve's lines

        async with ctx.uow(readonly=True) as uow:
            zone = ZoneInfo((await get_clinic(uow)).timezone)
        moment = ctx.clock.now() if wanted is None else (
            wanted.replace(tzinfo=zone) if wanted.tzinfo is None else wanted
        )
        clock = FixedClock(moment)
        async with contextlib.AsyncExitStack() as stack:
            found: list[Channel] = []
            token = ctx.settings.telegram_bot_token
            if token is not None:
                found.append(await stack.enter_async_context(outbox_channel(
                    token.get_secret_value(), ctx.settings.telegram_api_base_url)))
            if ctx.settings.sms_enabled:
                sender = TwilioSender.from_settings(ctx.settings)
                stack.push_async_callback(sender.close)
                found.append(SmsChannel(sender))
            channels = Channels(found)
            report = await run_all_once(ctx.engine, clock, Deliverer(ctx.engine, clock, channels))
        return report_lines(report, clock.now(), zone, channels), report.ok

    lines, ok = run(work)
    click.echo("\n".join(lines))
    if not ok:
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    """Add the ``jobs`` group to the ``clinicbot`` group."""
    cli.add_command(jobs_group)
