"""``clinicbot jobs run [--dry-run] [--now ISO8601]``: every sweep once, then one delivery pass.

The same jobs ``clinicbot serve`` runs on its scheduler (:mod:`bot.scheduler`), run once as of
``--now`` (default: the current time) and printed as counts. ``--now`` without a UTC offset is
the clinic's local time. Messages are delivered on the channels configured (Telegram with
``TELEGRAM_BOT_TOKEN``, SMS with the ``TWILIO_*`` settings); what no configured channel reaches
stays queued for the next run. Running it again, or beside a running server, creates nothing
twice.

A run as of the future would do for good what is not due yet (invoices, reminders whose purpose
keys then stand in for the real ones), so ``--now`` more than :data:`AHEAD` ahead of the clock
is refused. ``--dry-run`` (any ``--now``) shows what a run would create and send, and writes
and sends nothing (:mod:`bot.scheduler.preview`).

Problems are logged on stderr (as JSON lines with ``CLINICBOT_LOG_FORMAT=json``, like serve's).

Exit status: 0 done; 1 a sweep or the delivery pass failed (logged); 2 bad or future ``--now``,
or no clinic.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from bot import collector
from bot.cli.common import Context, fail, run
from bot.cli.output import Cell, render
from bot.clock import Clock, FixedClock
from bot.services.clinic import get_clinic

if TYPE_CHECKING:  # the delivery stack loads only when the command runs: fast CLI start-up
    from bot.delivery.channels import Channel, Channels
    from bot.scheduler.jobs import RunReport
    from bot.scheduler.preview import Preview

NOW_EXAMPLE = "2026-11-02T09:00 (clinic time) or 2026-11-02T14:00Z"
AHEAD = timedelta(minutes=5)  # how far ahead of the clock --now may be (clocks drift a little)
PREVIEW_AHEAD = timedelta(days=731)  # and with --dry-run


class Later:
    """The later of two clocks. Delivery leases are kept in it: with --now in the past, a
    lease in --now's time would have run out already for ``clinicbot serve`` (on the real
    clock), which would take over and send again the messages this run is sending."""

    def __init__(self, one: Clock, other: Clock) -> None:
        self.one, self.other = one, other

    def now(self) -> datetime:
        return max(self.one.now(), self.other.now())


def parse_now(text: str) -> datetime:
    """An ISO 8601 date or date-time; naive values are completed later with the clinic's zone."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--now must be an ISO 8601 date and time, such as {NOW_EXAMPLE}; got {text!r}")
        raise  # unreachable: fail() exits


def when(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {zone.key} ({moment:%Y-%m-%d %H:%M} UTC)"


def refuse_the_future(
    moment: datetime, real_now: datetime, zone: ZoneInfo, *, dry_run: bool
) -> None:
    """Exit 2 when ``moment`` is more than :data:`AHEAD` ahead of the real clock (with
    ``dry_run``: more than :data:`PREVIEW_AHEAD`)."""
    if dry_run:
        if moment > real_now + PREVIEW_AHEAD:
            fail(f"--dry-run looks at most {PREVIEW_AHEAD.days} days ahead; "
                 f"--now {when(moment, zone)} is further")
        return
    if moment > real_now + AHEAD:
        fail(f"--now {when(moment, zone)} is ahead of the clock ({when(real_now, zone)}): a run "
             "then would invoice and remind before time, for good; to see what it would do, "
             "add --dry-run (nothing is written or sent)")


def report_lines(
    report: RunReport, moment: datetime, zone: ZoneInfo, channels: Channels
) -> list[str]:
    """The counts ``clinicbot jobs run`` prints."""
    lines = [f"Jobs run as of {when(moment, zone)}:"]
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


def preview_lines(found: Preview, moment: datetime, zone: ZoneInfo, channels: Channels
                  ) -> list[str]:
    """What ``clinicbot jobs run --dry-run`` prints."""
    lines = report_lines(found.report, moment, zone, channels)
    lines[0] = f"Dry run as of {when(moment, zone)}; a run would do this:"
    sections: list[tuple[str, list[str], list[list[Cell]]]] = [
        ("Invoices it would create", ["patient", "description", "amount", "due"],
         [[i.patient_id, i.description, i.amount, i.due_on] for i in found.invoices]),
        ("No-shows it would raise", ["appointment", "patient"],
         [[a, p] for a, p in found.no_shows]),
        ("Messages it would queue", ["purpose", "kind", "to"],
         [[m.purpose, m.kind, m.to] for m in found.queued]),
        ("Messages due now, and what the delivery pass would do",
         ["purpose", "kind", "to", "outcome"],
         [[m.purpose, m.kind, m.to, m.outcome] for m in found.delivered]),
    ]
    for title, headers, rows in sections:
        lines += ["", f"{title} ({len(rows)}):"]
        if rows:
            lines += ["  " + line for line in render(headers, rows).splitlines()]
    lines += ["", "Dry run: nothing was written and nothing was sent."]
    return lines


@jobs_group.command("run")
@click.option(
    "--now", "now_text", metavar="ISO8601",
    help="Run as of this moment (default: now); without an offset it is clinic time. "
         "At most a few minutes ahead of the clock, unless with --dry-run.",
)
@click.option(
    "--dry-run", is_flag=True,
    help="Show what the run would create and send; write nothing, send nothing.",
)
def run_command(now_text: str | None, dry_run: bool) -> None:
    """Run every sweep once as of --now, then deliver what is due, and print the counts.

    \b
    Examples:
      clinicbot jobs run --now 2026-12-01T09:00
      clinicbot jobs run --dry-run --now 2027-01-04T09:00
    """
    wanted = parse_now(now_text) if now_text is not None else None

    async def work(ctx: Context) -> tuple[list[str], bool]:
        from bot.delivery.channels import Channels, SmsChannel
        from bot.delivery.sender import Deliverer
        from bot.handlers.sms_sender import TwilioSender
        from bot.handlers.stripe_checkout import payment_links
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
        refuse_the_future(clock.now(), ctx.clock.now(), zone, dry_run=dry_run)
        if dry_run:
            return await dry(ctx, clock, zone)
        async with contextlib.AsyncExitStack() as stack:
            found: list[Channel] = []
            token = ctx.settings.telegram_bot_token
            if token is not None:
                found.append(await stack.enter_async_context(outbox_channel(
                    token.get_secret_value(), ctx.settings.telegram_api_base_url,
                    payments=ctx.settings.telegram_payment_provider_token is not None)))
            if ctx.settings.sms_enabled:
                sender = TwilioSender.from_settings(ctx.settings)
                stack.push_async_callback(sender.close)
                found.append(SmsChannel(sender))
            channels = Channels(found)
            links, checkout = payment_links(ctx.settings, ctx.engine, clock)
            if checkout is not None:
                stack.push_async_callback(checkout.close)
            deliverer = Deliverer(ctx.engine, clock, channels,
                                  lease_clock=Later(clock, ctx.clock), links=links)
            with collector.tuned():  # as serve runs its passes
                report = await run_all_once(ctx.engine, clock, deliverer)
        return report_lines(report, clock.now(), zone, channels), report.ok

    lines, ok = run(work)
    click.echo("\n".join(lines))
    if not ok:
        raise SystemExit(1)


async def dry(ctx: Context, clock: FixedClock, zone: ZoneInfo) -> tuple[list[str], bool]:
    """The dry run: the channels a run would use, but nothing sent, nothing written."""
    from bot.delivery.channels import SMS, TELEGRAM, Channels
    from bot.scheduler.preview import PreviewChannel, preview

    names = ([TELEGRAM] if ctx.settings.telegram_bot_token is not None else []) + (
        [SMS] if ctx.settings.sms_enabled else [])
    found = await preview(ctx.engine, clock, names)
    channels = Channels([PreviewChannel(name) for name in names])
    return preview_lines(found, clock.now(), zone, channels), found.report.ok


def register(cli: click.Group) -> None:
    """Add the ``jobs`` group to the ``clinicbot`` group."""
    cli.add_command(jobs_group)
