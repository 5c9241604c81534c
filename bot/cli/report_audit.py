"""``clinicbot report audit``: the audit log of staff actions (issue 17), newest first.

Reads :func:`bot.services.audit.entries` page by page. Dates are the clinic's local dates,
``--since`` to ``--until`` inclusive; times are shown in clinic time. ``before`` and ``after``
are the JSON the entry holds (amounts in minor units, with the currency).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import click

from bot.cli.common import Context, run
from bot.cli.output import Cell, render
from bot.cli.staff_common import DATE, ID, echo, local_text
from bot.services import audit
from bot.services.availability import first_moment_at
from bot.services.clinic import get_clinic, zone
from bot.services.errors import InvalidInput
from bot.storage.models import AuditEntry

HEADERS = [
    "at", "staff", "face", "action", "patient", "package", "appointment", "invoice", "summary",
    "before", "after",
]


def _start_of(day: date | None, tz: ZoneInfo) -> datetime | None:
    return None if day is None else first_moment_at(datetime.combine(day, time()), tz)


def _row(entry: AuditEntry, tz: ZoneInfo, fmt: str) -> list[Cell]:
    at: Cell = local_text(entry.at, tz) if fmt == "text" else entry.at.isoformat()
    return [
        at, entry.staff, entry.face, entry.action, entry.patient_id, entry.package_id,
        entry.appointment_id, entry.invoice_id, entry.summary,
        json.dumps(entry.before, sort_keys=True), json.dumps(entry.after, sort_keys=True),
    ]


@click.command("audit")
@click.option("--patient", "patient_id", type=ID, help="Only actions on this patient (id).")
@click.option("--staff", "staff_key", metavar="STAFF_KEY", help="Only this staff member's.")
@click.option("--action", metavar="ACTION", help="Only this action, e.g. package.refund.")
@click.option("--since", "since", type=DATE, help="First day, YYYY-MM-DD (clinic time).")
@click.option("--until", "until", type=DATE, help="Last day, YYYY-MM-DD (clinic time).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "csv"]), default="text", show_default=True,
    help="An aligned table, or CSV (times in UTC, ISO 8601).",
)
def audit_report(
    patient_id: int | None, staff_key: str | None, action: str | None,
    since: date | None, until: date | None, fmt: str,
) -> None:
    """Staff actions, newest first: who, from where, what, and the money and uses it changed.

    \b
    Example:
      clinicbot report audit --patient 3 --since 2026-11-01 --format csv
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            tz = zone(await get_clinic(uow))
            if since and until and until < since:
                raise InvalidInput(f"--until {until} is before --since {since}; swap them")
            filters = audit.Filters(
                patient_id=patient_id, staff=staff_key, action=action,
                since=_start_of(since, tz),
                until=_start_of(until + timedelta(days=1), tz) if until else None,
            )
            rows: list[list[Cell]] = []
            page = await audit.entries(uow, filters, limit=audit.MAX_PAGE_SIZE)
            rows += [_row(entry, tz, fmt) for entry in page.entries]
            while page.after is not None:
                page = await audit.entries(
                    uow, filters, after=page.after, limit=audit.MAX_PAGE_SIZE
                )
                rows += [_row(entry, tz, fmt) for entry in page.entries]
            if fmt == "csv":
                return [render(HEADERS, rows, "csv").rstrip("\n")]
            return ["Audit log, newest first:", render(HEADERS, rows).rstrip("\n")]

    echo(run(work))
